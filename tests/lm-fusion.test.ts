/**
 * The word LM and its lexicon in prefix beam search: the lexicon trie on known
 * words, a non-word spelling losing to a word where the acoustics hesitate,
 * the word LM's context choosing between two words, and the shipped demo word
 * LM (lm.py --words) being a proper distribution over a word list's vocabulary.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prefixBeamSearch } from '../engine/asr/ctc.js';
import { Lexicon, lexiconOf, TokenScoreCache, type LmFusion } from '../engine/asr/lm-fusion.js';
import { NgramLm } from '../engine/asr/ngram-lm.js';
import { DEMO_MODEL_DIR } from '../engine/models/resolve.js';

describe('Lexicon', () => {
  const lex = new Lexicon(['ab', 'abc', 'ba']);

  it('walks spellings of its words and their prefixes, and nothing else', () => {
    expect(lex.size).toBe(3);
    const a = lex.walk(0, 'a');
    expect(a).toBeGreaterThan(0);
    expect(lex.isWord(a)).toBe(false);
    expect(lex.isWord(lex.walk(a, 'b'))).toBe(true);
    expect(lex.isWord(lex.walk(0, 'abc'))).toBe(true);
    expect(lex.walk(0, 'ac')).toBe(-1);
    expect(lex.walk(lex.walk(0, 'x'), 'a')).toBe(-1);
    expect(lex.isWord(-1)).toBe(false);
  });
});

describe('TokenScoreCache', () => {
  it('keeps at most maxContexts, forgetting the one it learnt first', () => {
    const cache = new TokenScoreCache(2);
    const scores = (x: number) => Float64Array.of(x);
    cache.set(10, scores(1));
    cache.set(20, scores(2));
    expect(cache.size).toBe(2);
    cache.set(30, scores(3));
    expect(cache.size).toBe(2);
    expect(cache.get(10)).toBeUndefined();
    expect([cache.get(20)?.[0], cache.get(30)?.[0]]).toEqual([2, 3]);
    // Asking for 20 does not keep it longer: it is still the oldest.
    cache.set(40, scores(4));
    expect([cache.get(20), cache.get(30)?.[0], cache.get(40)?.[0]]).toEqual([undefined, 3, 4]);
  });
});

describe('prefix beam search with a word LM', () => {
  // Tokens: 0 blank, 1 word boundary, 2 "a", 3 "b", 4 "c".
  const symbols = ['<blk>', '\u2581', 'a', 'b', 'c'];
  const B = 0.9;
  const rest = (p: number) => (1 - p) / 4;
  const certain = (id: number) => symbols.map((_, v) => (v === id ? B : rest(B)));
  // The last frame: "b" (0.47) slightly ahead of "c" (0.43).
  const hesitant = [0.04, 0.03, 0.03, 0.47, 0.43];
  const logProbsOf = (rows: number[][]) => Float32Array.from(rows.flat(), Math.log);
  const wordLm = NgramLm.parseArpa(`\\data\\
ngram 1=5
ngram 2=3

\\1-grams:
-0.5\t</s>
-99\t<s>\t0
-1\tab\t-0.5
-1\tac\t-0.5
-1\tba\t0

\\2-grams:
-0.2\t<s> ba
-2\tba ab
-0.1\tba ac

\\end\\
`);
  // No token LM: only the word LM and its lexicon decide.
  const fusion = (wordWeight: number, lexicon = lexiconOf(wordLm)): LmFusion => ({
    symbols,
    words: { lm: wordLm, lexicon, weight: wordWeight, wordBonus: 0, oovPenalty: 10 },
  });
  const decode = (rows: number[][], f?: LmFusion) =>
    prefixBeamSearch(logProbsOf(rows), 0, rows.length, symbols.length, 0, 8, f)
      .tokenIds.map((id) => symbols[id])
      .join('');

  it('takes a word over a non-word spelling the acoustics slightly prefer', () => {
    const rows = [certain(2), certain(0), hesitant];
    expect(decode(rows)).toBe('ab');
    // Lexicon without "ab": the spelling leaves it and pays the penalty.
    expect(decode(rows, fusion(0, new Lexicon(['ac', 'ba'])))).toBe('ac');
  });

  it("uses the word LM's context to choose between two words", () => {
    const rows = [certain(3), certain(0), certain(2), certain(0), certain(1), certain(0), certain(2), certain(0), hesitant];
    expect(decode(rows)).toBe('ba\u2581ab');
    // Both are words: with no weight on the word LM the acoustics decide, with weight "ba ac" wins.
    expect(decode(rows, fusion(0))).toBe('ba\u2581ab');
    expect(decode(rows, fusion(1))).toBe('ba\u2581ac');
  });
});

describe('the demo word LM (models/demo-en-ctc/words.arpa.gz)', () => {
  const lm = NgramLm.load(path.join(DEMO_MODEL_DIR, 'words.arpa.gz'));
  const vocabulary = lm.vocabulary().filter((w) => w !== '<s>');

  it('covers the word list as its lexicon', () => {
    const lexicon = lexiconOf(lm);
    expect(lexicon.size).toBeGreaterThan(100_000);
    for (const word of ['the', 'nineteenth', "mountain's", 'olivia']) expect(lexicon.isWord(lexicon.walk(0, word))).toBe(true);
  });

  it('is a distribution over its vocabulary in seen and unseen contexts', () => {
    for (const context of [['<s>'], ['<s>', 'please'], ['please', 'call'], ['zebra', 'quux']]) {
      const total = vocabulary.reduce((sum, w) => sum + Math.exp(lm.logProb(context, w)), 0);
      expect(total).toBeCloseTo(1, 3);
    }
  });
});
