/**
 * Keyterm biasing on hand-made log-probabilities: phrases into tokens, the
 * graph's bonuses and take-backs step by step, and the prefix beam search
 * with keyterms: a completed keyterm wins where the acoustics hesitate, a
 * partial match gains nothing, a keyterm outside the lexicon pays no OOV
 * penalty, and no keyterms leave the search as it was.
 */
import { describe, expect, it } from 'vitest';
import { CONTEXT_ROOT, ContextGraph, tokenizePhrase } from '../engine/asr/context-graph.js';
import { prefixBeamSearch } from '../engine/asr/ctc.js';
import { Lexicon, type LmFusion } from '../engine/asr/lm-fusion.js';
import { NgramLm } from '../engine/asr/ngram-lm.js';

// Tokens: 0 blank, 1 word boundary, 2 "a", 3 "b", 4 "c".
const symbols = ['<blk>', '\u2581', 'a', 'b', 'c'];

describe('tokenizePhrase', () => {
  it('spells each word from the word boundary, lowercased for a model without capitals', () => {
    expect(tokenizePhrase(' Ab  ba ', symbols)).toEqual([1, 2, 3, 1, 3, 2]);
  });

  it('takes the longest symbol that matches', () => {
    expect(tokenizePhrase('abc', ['<blk>', '\u2581', 'a', 'b', 'c', '\u2581ab', 'bc'])).toEqual([5, 4]);
  });

  it('refuses an empty phrase and names a character the model has no token for', () => {
    expect(() => tokenizePhrase('  ', symbols)).toThrow(/empty/);
    expect(() => tokenizePhrase('abd', symbols)).toThrow(/no token for "d"/);
  });
});

describe('ContextGraph', () => {
  const walk = (graph: ContextGraph, tokens: number[]) => {
    let state = CONTEXT_ROOT;
    const scores: number[] = [];
    for (const t of tokens) {
      const step = graph.step(state, t);
      scores.push(step.scoreNats);
      state = step.state;
    }
    return { scores, end: graph.end(state) + 0 }; // + 0: -0 reads as 0
  };

  it('pays the boost for each token of a phrase and keeps it once the phrase completes', () => {
    expect(walk(new ContextGraph([[1, 2, 3]], 2), [1, 2, 3, 4])).toEqual({ scores: [2, 2, 2, 0], end: 0 });
  });

  it('takes the bonus back when a phrase is abandoned, or the utterance ends inside it', () => {
    const graph = new ContextGraph([[1, 2, 3]], 2);
    expect(walk(graph, [1, 2, 4])).toEqual({ scores: [2, 2, -4], end: 0 });
    expect(walk(graph, [1, 2])).toEqual({ scores: [2, 2], end: -4 });
  });

  it('follows a failure arc into another phrase that the abandoned one ends with', () => {
    // ▁ab... breaks off at c, but "bc" goes on: ▁ and a are given back, b and c earned.
    const graph = new ContextGraph([[1, 2, 3, 3], [3, 4]], 2);
    expect(walk(graph, [1, 2, 3, 4])).toEqual({ scores: [2, 2, 2, -2], end: 0 });
  });
});

/** A 1-gram word LM: `unigrams` as ARPA lines ("-1\tab"), with the sentence marks. */
const wordLmOf = (unigrams: string) => {
  const lines = unigrams.split('\n');
  return NgramLm.parseArpa(`\\data\\\nngram 1=${lines.length + 2}\n\n\\1-grams:\n-0.5\t</s>\n-99\t<s>\n${lines.join('\n')}\n\n\\end\\\n`);
};

describe('prefix beam search with keyterms', () => {
  const B = 0.9;
  const certain = (id: number) => symbols.map((_, v) => (v === id ? B : (1 - B) / 4));
  // "b" (0.47) slightly ahead of "c" (0.43).
  const hesitant = [0.04, 0.03, 0.03, 0.47, 0.43];
  const logProbsOf = (rows: number[][]) => Float32Array.from(rows.flat(), Math.log);
  const decode = (rows: number[][], keyterms?: string[], boostNats = 2, fusion?: LmFusion) => {
    const graph = keyterms && new ContextGraph(keyterms.map((k) => tokenizePhrase(k, symbols)), boostNats);
    return prefixBeamSearch(logProbsOf(rows), 0, rows.length, symbols.length, 0, 8, fusion, undefined, graph)
      .tokenIds.map((id) => symbols[id])
      .join('');
  };
  const rows = [certain(1), certain(2), certain(0), hesitant];

  it('takes a keyterm the acoustics slightly disfavour', () => {
    expect(decode(rows)).toBe('\u2581ab');
    expect(decode(rows, ['ac'])).toBe('\u2581ac');
  });

  it('gives a partial match nothing, at the end of the utterance or where the phrase is abandoned', () => {
    // "▁ac" starts the keyterm "acbcbc", which has more tokens than the frames left.
    expect(decode(rows, ['acbcbc'])).toBe('\u2581ab');
    const abandoned = [...rows, certain(0), certain(1), certain(2)];
    expect(decode(abandoned)).toBe('\u2581ab\u2581a');
    expect(decode(abandoned, ['acbcbc'])).toBe('\u2581ab\u2581a');
  });

  it('does not charge the OOV penalty to a keyterm being spelt', () => {
    const wordLm = NgramLm.parseArpa('\\data\\\nngram 1=3\n\n\\1-grams:\n-0.5\t</s>\n-99\t<s>\n-1\tab\n\n\\end\\\n');
    const fusion: LmFusion = { symbols, words: { lm: wordLm, lexicon: new Lexicon(['ab']), weight: 0, wordBonus: 0, oovPenalty: 10 } };
    expect(decode(rows, undefined, 2, fusion)).toBe('\u2581ab');
    // Without the refund "▁ac" would be 10 nats down against 6 of bonus.
    expect(decode(rows, ['ac'], 2, fusion)).toBe('\u2581ac');
    // A keyterm elsewhere leaves the penalty on "▁ac".
    expect(decode([...rows.slice(0, 3), [0.04, 0.03, 0.03, 0.43, 0.47]], ['ba'], 2, fusion)).toBe('\u2581ab');
    // A word that goes on past the keyterm is no keyterm: it owes the penalty again.
    const onwards = [...rows, [0.3, 0.03, 0.6, 0.03, 0.04]];
    expect(decode(onwards, ['ac'], 2, fusion)).toBe('\u2581ac');
    expect(decode(onwards, ['aca'], 2, fusion)).toBe('\u2581aca');
  });

  it("takes a completed keyterm's bonus back where the word goes on past it", () => {
    // "▁aba" is slightly ahead of "▁aca" on the acoustics; the keyterm is "ac", and "aca" is no keyterm.
    const fusion: LmFusion = { symbols, words: { lm: wordLmOf('-1\tab'), lexicon: new Lexicon(['ab']), weight: 0, wordBonus: 0, oovPenalty: 0 } };
    // (The last "a" is held for three frames, so dropping it costs more than the keyterm's bonus.)
    const onwards = [...rows, certain(2), certain(2), certain(2)];
    expect(decode(onwards, undefined, 1, fusion)).toBe('\u2581aba');
    // Were "▁ac"'s 3 nats kept, "▁aca" would win.
    expect(decode(onwards, ['ac'], 1, fusion)).toBe('\u2581aba');
    expect(new ContextGraph([[1, 2, 4]], 2).completedNats(new ContextGraph([[1, 2, 4]], 2).step({ node: 2, pendingNats: 4 }, 4).state)).toBe(6);
  });

  it('gives back the OOV penalty of a keyterm that ends where the lexicon has only longer words', () => {
    // "ac" is no word, but "acb" is: the spelling never leaves the lexicon and pays the penalty at the word's end.
    const fusion: LmFusion = { symbols, words: { lm: wordLmOf('-1\tab'), lexicon: new Lexicon(['ab', 'acb', 'b']), weight: 0, wordBonus: 0, oovPenalty: 10 } };
    expect(decode(rows, undefined, 2, fusion)).toBe('\u2581ab');
    expect(decode(rows, ['ac'], 2, fusion)).toBe('\u2581ac');
    // Followed by another word, too (where without the refund the keyterm would run on into "acb", a word).
    const more = [...rows, certain(1), certain(3)];
    expect(decode(more, undefined, 2, fusion)).toBe('\u2581ab\u2581b');
    expect(decode(more, ['ac'], 2, fusion)).toBe('\u2581ac\u2581b');
  });

  it("scores a keyterm outside the lexicon as the word LM's rarest word, not at the unknown floor", () => {
    // <unk> is 10^-10 to the word LM, its rarest word "cc" 10^-3: "▁ac" gets 6 of bonus against 2.3 + 20.7 down (floor) or 2.3 + 4.6 (rarest).
    const fusion: LmFusion = { symbols, words: { lm: wordLmOf('-1\tab\n-3\tcc'), lexicon: new Lexicon(['ab', 'cc']), weight: 1, wordBonus: 0, oovPenalty: 0 } };
    expect(decode(rows, undefined, 2, fusion)).toBe('\u2581ab');
    expect(decode(rows, ['ac'], 2, fusion)).toBe('\u2581ac');
    expect(decode(rows, ['ac'], 1, fusion)).toBe('\u2581ab');
  });

  it('with no keyterms, or a graph without phrases, finds exactly what it found without a graph', () => {
    // Random rows, seeded: the full result (tokens, frames, probabilities) must match.
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const noisy = Array.from({ length: 40 }, () => {
      const row = symbols.map(() => random() + 0.01);
      const sum = row.reduce((a, b) => a + b, 0);
      return row.map((p) => p / sum);
    });
    const lp = logProbsOf(noisy);
    const plain = prefixBeamSearch(lp, 0, noisy.length, symbols.length, 0, 8);
    expect(plain.tokenIds.length).toBeGreaterThan(3);
    expect(prefixBeamSearch(lp, 0, noisy.length, symbols.length, 0, 8, undefined, undefined, new ContextGraph([], 2))).toEqual(plain);
  });
});
