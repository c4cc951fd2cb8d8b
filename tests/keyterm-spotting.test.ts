/**
 * Keyterm spotting on hand-made log-probabilities: a keyterm takes the place
 * of the words whose frames fit it within its allowance and not beyond,
 * anchored between the words either side, which stay; a final decoded with
 * keyterms goes through it, one without does not.
 */
import { describe, expect, it } from 'vitest';
import { greedyDecode } from '../engine/asr/ctc.js';
import { CtcSearch } from '../engine/asr/ctc-search.js';
import { bestPathLogProb, spotKeyterms } from '../engine/asr/keyterm-spotting.js';

// Tokens: 0 blank, 1 word boundary, 2 "a", 3 "b", 4 "c".
const symbols = ['<blk>', '\u2581', 'a', 'b', 'c'];
const startsWord = symbols.map((s) => s === '\u2581');
const charsOf = [0, 0, 1, 1, 1];

/** A row of probabilities: the given ones, the rest shared evenly. */
const row = (given: Record<number, number>) => {
  const left = 1 - Object.values(given).reduce((a, b) => a + b, 0);
  const others = symbols.length - Object.keys(given).length;
  return symbols.map((_, v) => given[v] ?? left / others);
};
const logProbsOf = (rows: number[][]) => Float32Array.from(rows.flat(), Math.log);

const spot = (rows: number[][], phrases: number[][], allowanceNats: number) => {
  const lp = logProbsOf(rows);
  const hyp = greedyDecode(lp, 0, rows.length, symbols.length, 0);
  const spelt = phrases.map((tokenIds) => ({ tokenIds, chars: tokenIds.reduce((n, v) => n + charsOf[v], 0) }));
  return { greedy: hyp.tokenIds, spotted: spotKeyterms(lp, 0, rows.length, symbols.length, 0, hyp, spelt, startsWord, charsOf, allowanceNats).tokenIds };
};

describe('spotKeyterms', () => {
  // "▁a▁c" said; "▁bc" fits the same frames ln(0.6/0.3) + ln(0.5/0.3) = 1.20 nats worse.
  const twoWords = [row({ 1: 0.7 }), row({ 2: 0.6, 3: 0.3 }), row({ 1: 0.5, 0: 0.3 }), row({ 4: 0.7 }), row({ 0: 0.9 })];

  it('puts a keyterm in place of words whose frames fit it within its allowance per token', () => {
    // 3 tokens at 0.5 nats each: 1.5 > 1.20.
    expect(spot(twoWords, [[1, 3, 4]], 0.5)).toEqual({ greedy: [1, 2, 1, 4], spotted: [1, 3, 4] });
  });

  it('leaves the words where the keyterm falls short by more than its allowance', () => {
    // 3 x 0.35 = 1.05 < 1.20.
    expect(spot(twoWords, [[1, 3, 4]], 0.35).spotted).toEqual([1, 2, 1, 4]);
  });

  it('replaces only the words that fit, keeping their neighbours, and leaves the words of a keyterm already there alone', () => {
    // "▁c▁a▁c", the middle word a little ahead of "b": ln 2 = 0.69 against 2 x 0.5.
    const rows = [row({ 1: 0.8 }), row({ 4: 0.8 }), row({ 1: 0.8 }), row({ 2: 0.6, 3: 0.3 }), row({ 1: 0.8 }), row({ 4: 0.8 })];
    expect(spot(rows, [[1, 3]], 0.5)).toEqual({ greedy: [1, 4, 1, 2, 1, 4], spotted: [1, 4, 1, 3, 1, 4] });
    // "a" is there, and the word before it barely ahead of blanks: "a" in place of "c a" would be 0.21 nats short,
    // within its allowance, but the words of a keyterm stay as they are.
    const faint = [row({ 1: 0.5, 0: 0.45 }), row({ 4: 0.5, 0: 0.45 }), ...rows.slice(2)];
    expect(spot(faint, [[1, 2]], 0.5)).toEqual({ greedy: [1, 4, 1, 2, 1, 4], spotted: [1, 4, 1, 2, 1, 4] });
  });
});

describe('bestPathLogProb', () => {
  it("scores the best CTC path, blanks optional at free ends and the tokens' own frames at anchored ones", () => {
    const rows = [row({ 2: 0.5, 0: 0.4 }), row({ 0: 0.8 }), row({ 3: 0.6 })];
    const lp = logProbsOf(rows);
    const best = (tokens: number[], start: boolean, end: boolean) => bestPathLogProb(lp, 0, 3, symbols.length, 0, tokens, start, end);
    expect(best([2, 3], false, false)).toBeCloseTo(Math.log(0.5 * 0.8 * 0.6));
    // Free start: a blank may come first ("b" alone over blank, blank, b).
    expect(best([3], false, true)).toBeCloseTo(Math.log(0.4 * 0.8 * 0.6));
    // Anchored at both ends, a single token is held throughout.
    expect(best([3], true, true)).toBeCloseTo(Math.log(rows[0][3] * rows[1][3] * 0.6));
    expect(best([2, 3], true, true)).toBeCloseTo(Math.log(0.5 * 0.8 * 0.6));
    expect(best([2, 3, 4, 2], false, false)).toBe(-Infinity);
  });
});

describe('CtcSearch with keyterms', () => {
  it('spots a keyterm in a biased final; a final without keyterms is decoded as before', () => {
    const search = new CtcSearch(
      {
        tokensText: symbols.map((s, i) => `${s} ${i}`).join('\n'),
        decoding: 'beam',
        beamSize: 8,
        pruning: { tokenFloorNats: 9, scoreWindowNats: 12 },
        lm: { lmWeight: 0, lmTokenBonus: 0, wordLmWeight: 0, wordBonus: 0, oovPenalty: 0 },
      },
      40,
    );
    // "▁c▁a▁c", the middle word's "b" under the beam's token floor (e^-10), so only spotting finds it:
    // 9.97 nats short, against 2 tokens' allowance (the boost per token); "b" for either "c" would be 11.5 short.
    const sure = (v: number) => row({ [v]: 1 - 4e-5 });
    const rows = [sure(1), sure(4), sure(1), row({ 2: 0.97, 3: Math.exp(-10) }), sure(1), sure(4)];
    const decode = (boostNats?: number) =>
      search.decode(logProbsOf(rows), 0, rows.length, symbols.length, false, boostNats === undefined ? undefined : { phrases: ['b'], boostNats }).text;
    expect(decode()).toBe('c a c');
    expect(decode(5.2)).toBe('c b c');
    expect(decode(4.8)).toBe('c a c');
  });
});
