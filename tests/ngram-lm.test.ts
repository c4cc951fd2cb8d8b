/**
 * The token n-gram LM (ARPA) and its fusion into prefix beam search: known
 * values on a hand-made model, the shipped demo LM's distributions summing to
 * one, clear errors on bad files, and the LM flipping an acoustically
 * ambiguous token.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { prefixBeamSearch } from '../engine/asr/ctc.js';
import { TokenScoreCache, type LmFusion } from '../engine/asr/lm-fusion.js';
import { NgramLm } from '../engine/asr/ngram-lm.js';
import { PROJECT_ROOT } from '../testkit/paths.js';

const TINY_ARPA = `\\data\\
ngram 1=4
ngram 2=3

\\1-grams:
-1.0\t</s>
-99\t<s>\t-0.5
-0.5\ta\t-0.25
-0.7\tb\t-0.1

\\2-grams:
-0.2\t<s> a
-0.3\ta b
-0.4\tb </s>

\\end\\
`;
const LN_10 = Math.log(10);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lt-lm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('NgramLm', () => {
  const lm = NgramLm.parseArpa(TINY_ARPA);

  it('reads the order and scores seen n-grams in natural log', () => {
    expect(lm.order).toBe(2);
    expect(lm.logProb(['<s>'], 'a')).toBeCloseTo(-0.2 * LN_10, 6);
    expect(lm.logProb(['a'], 'b')).toBeCloseTo(-0.3 * LN_10, 6);
  });

  it("backs off through the context's backoff weight, and ignores context beyond its order", () => {
    // "a a" is unseen: backoff(a) + P(a)
    expect(lm.logProb(['a'], 'a')).toBeCloseTo((-0.25 - 0.5) * LN_10, 6);
    expect(lm.logProb(['b', 'b', 'a'], 'a')).toBeCloseTo((-0.25 - 0.5) * LN_10, 6);
    // A context with no entry of its own backs off for free.
    expect(lm.logProb(['z'], 'b')).toBeCloseTo(-0.7 * LN_10, 6);
  });

  it('scores every next token of a context at once as it scores each alone', () => {
    const tokens = ['a', 'b', '</s>', 'q'];
    for (const context of [[], ['<s>'], ['a'], ['b', 'b', 'a'], ['z']]) {
      expect([...lm.logProbsAfter(lm.idsOf(context), lm.idsOf(tokens))], context.join(' ')).toEqual(tokens.map((t) => lm.logProb(context, t)));
    }
  });

  it('gives an unknown token a finite, low score', () => {
    const unknown = lm.logProb(['a'], 'q');
    expect(Number.isFinite(unknown)).toBe(true);
    expect(unknown).toBeLessThan(lm.logProb(['a'], 'a') - 10);
  });

  it('loads plain and gzipped files alike', () => {
    writeFileSync(path.join(tmp, 'lm.arpa'), TINY_ARPA);
    writeFileSync(path.join(tmp, 'lm.arpa.gz'), gzipSync(TINY_ARPA));
    for (const f of ['lm.arpa', 'lm.arpa.gz']) expect(NgramLm.load(path.join(tmp, f)).logProb(['a'], 'b')).toBeCloseTo(-0.3 * LN_10, 6);
  });

  it('names the file and line of a malformed entry, and rejects what is not ARPA', () => {
    writeFileSync(path.join(tmp, 'bad.arpa'), TINY_ARPA.replace('-0.3\ta b', '-0.3\ta b c d'));
    expect(() => NgramLm.load(path.join(tmp, 'bad.arpa'))).toThrow(/bad\.arpa: ARPA line 13: expected "logprob 2 token\(s\) \[backoff\]"/);
    expect(() => NgramLm.parseArpa('hello world\n')).toThrow(/not an ARPA file/);
    expect(() => NgramLm.parseArpa(TINY_ARPA.replace('-0.3\ta b', '-0.3\ta c'))).toThrow(/line 13: token "c" is not among the 1-grams/);
    expect(() => NgramLm.parseArpa(TINY_ARPA.replace('-0.7\tb\t-0.1', '-0.7\ta\t-0.1'))).toThrow(/line 9: 1-gram "a" is listed twice/);
  });

  it("the shipped demo LM's next-token distributions sum to one", () => {
    const demo = NgramLm.load(path.join(PROJECT_ROOT, 'models/demo-en-ctc/lm.arpa.gz'));
    expect(demo.order).toBe(6);
    const tokens = ['▁', "'", '</s>', ...'abcdefghijklmnopqrstuvwxyz'];
    for (const context of [['<s>'], ['t', 'h'], ['▁', 't', 'h', 'e', '▁'], ['q', 'x', 'z'], ['<s>', 'p', 'l', 'e', 'a']]) {
      const total = tokens.reduce((sum, t) => sum + Math.exp(demo.logProb(context, t)), 0);
      expect(total, context.join(' ')).toBeCloseTo(1, 3);
    }
    // It knows English: "the" is far likelier than "thq".
    expect(demo.logProb(['▁', 't', 'h'], 'e')).toBeGreaterThan(demo.logProb(['▁', 't', 'h'], 'q') + 5);
    // Scoring all next tokens at once (children read per history) matches token by token to the bit,
    // in contexts seen to every depth, seen only in part, and with a symbol the LM lacks.
    const symbols = ['<blk>', ...tokens];
    for (const context of [['<s>'], ['▁', 't', 'h', 'e', '▁'], ['h', 'e', '▁', 'q', 'x'], ['t', '<blk>', 'h', 'e'], ['<s>', 'z', 'z']]) {
      expect([...demo.logProbsAfter(demo.idsOf(context), demo.idsOf(symbols))], context.join(' ')).toEqual(symbols.map((t) => demo.logProb(context, t)));
    }
  });
});

describe('prefix beam search with LM fusion', () => {
  // Tokens: 0 blank, 1 "a", 2 "b". Three frames: "a", blank, then "a" vs "b" nearly tied (b ahead).
  const symbols = ['<blk>', 'a', 'b'];
  const frames = [
    [0.05, 0.9, 0.05],
    [0.9, 0.05, 0.05],
    [0.1, 0.43, 0.47],
  ];
  const logProbs = Float32Array.from(frames.flat(), Math.log);
  // An LM where "a" is always followed by "a".
  const lm = NgramLm.parseArpa(`\\data\\
ngram 1=4
ngram 2=3

\\1-grams:
-1.0\t</s>
-99\t<s>\t0
-0.3\ta\t0
-0.3\tb\t0

\\2-grams:
-0.3\t<s> a
-0.01\ta a
-3\ta b

\\end\\
`);

  it('without an LM follows the acoustics', () => {
    expect(prefixBeamSearch(logProbs, 0, 3, 3, 0, 4).tokenIds).toEqual([1, 2]);
  });

  it('with an LM takes the token the LM expects where the acoustics hesitate', () => {
    const hyp = prefixBeamSearch(logProbs, 0, 3, 3, 0, 4, { symbols, tokens: { lm, weight: 1, tokenBonus: 0 } });
    expect(hyp.tokenIds).toEqual([1, 1]);
    expect(hyp.frames).toEqual([0, 2]);
  });

  it('a zero LM weight changes nothing', () => {
    expect(prefixBeamSearch(logProbs, 0, 3, 3, 0, 4, { symbols, tokens: { lm, weight: 0, tokenBonus: 0 } }).tokenIds).toEqual([1, 2]);
  });
});

describe('token-LM scores kept across searches', () => {
  // The demo model's tokens and LM (order 6), on made-up peaky log-probabilities.
  const symbols = ['<blk>', '\u2581', ...'abcdefghijklmnopqrstuvwxyz', "'"];
  const lm = NgramLm.load(path.join(PROJECT_ROOT, 'models/demo-en-ctc/lm.arpa.gz'));
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const utterance = (numFrames: number): Float32Array => {
    const rows = Array.from({ length: numFrames }, () => {
      const logits = symbols.map(() => 6 * random() ** 3);
      const norm = Math.log(logits.reduce((sum, l) => sum + Math.exp(l), 0));
      return logits.map((l) => l - norm);
    });
    return Float32Array.from(rows.flat());
  };
  const utterances = [40, 60, 40, 80].map(utterance);
  const decode = (logProbs: Float32Array, scoreCache?: TokenScoreCache) => {
    const fusion: LmFusion = { symbols, tokens: { lm, weight: 0.8, tokenBonus: 1.5, scoreCache } };
    return prefixBeamSearch(logProbs, 0, logProbs.length / symbols.length, symbols.length, 0, 8, fusion).tokenIds;
  };

  it('decode as a cache per search does, also once it forgets', () => {
    const shared = new TokenScoreCache(50);
    for (const u of [...utterances, ...utterances]) expect(decode(u, shared)).toEqual(decode(u));
    expect(shared.size).toBe(50);
  });
});
