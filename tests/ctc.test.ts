/**
 * CTC decoding on hand-made log-probabilities: greedy, prefix beam search and
 * the forced alignment that times the tokens of both.
 */
import { describe, expect, it } from 'vitest';
import { alignTokens, DEFAULT_PRUNING, greedyDecode, prefixBeamSearch } from '../engine/asr/ctc.js';

/** Rows of probabilities over [blank, a, b] → flat log-probabilities. */
const logRows = (rows: number[][]) => Float32Array.from(rows.flat(), Math.log);

// blank, a, a, blank, a, b: "aab" with the repeated a split by a blank.
const rows = [
  [0.8, 0.1, 0.1],
  [0.1, 0.8, 0.1],
  [0.2, 0.7, 0.1],
  [0.7, 0.2, 0.1],
  [0.1, 0.8, 0.1],
  [0.1, 0.1, 0.8],
];

describe('alignTokens', () => {
  it('times each token at the first frame of its emission on the best path', () => {
    const hyp = alignTokens(logRows(rows), 0, 6, 3, 0, [1, 1, 2]);
    expect(hyp.frames).toEqual([1, 4, 5]);
    expect(hyp.tokenProbs.map((p) => p.toFixed(2))).toEqual(['0.80', '0.80', '0.80']);
  });

  it('puts a repeated token on separate emissions even where no blank is likely between them', () => {
    const hyp = alignTokens(logRows([[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.1, 0.8, 0.1]]), 0, 3, 3, 0, [1, 1]);
    expect(hyp.frames).toEqual([0, 2]);
  });

  it('reads from an offset into a batch', () => {
    const batch = logRows([[0.9, 0.05, 0.05], ...rows]);
    expect(alignTokens(batch, 3, 6, 3, 0, [1, 1, 2]).frames).toEqual([1, 4, 5]);
  });

  it('refuses tokens that cannot fit in the frames', () => {
    expect(() => alignTokens(logRows(rows.slice(0, 2)), 0, 2, 3, 0, [1, 1])).toThrow(/do not fit/);
  });

  it('gives nothing for no tokens', () => {
    expect(alignTokens(logRows(rows), 0, 6, 3, 0, [])).toEqual({ tokenIds: [], frames: [], tokenProbs: [] });
  });
});

describe('prefixBeamSearch', () => {
  it('finds the greedy result on clear input, timed exactly as greedy decoding times it', () => {
    const lp = logRows(rows);
    const greedy = greedyDecode(lp, 0, 6, 3, 0);
    expect(greedy.tokenIds).toEqual([1, 1, 2]);
    expect(prefixBeamSearch(lp, 0, 6, 3, 0, 4)).toEqual(greedy);
  });

  it('sums the paths of a prefix, where greedy decoding follows the single best path', () => {
    // Best path: blank, blank, blank (empty); but "a" has more mass over all its paths.
    const lp = logRows([[0.4, 0.35, 0.25], [0.4, 0.35, 0.25], [0.4, 0.35, 0.25]]);
    expect(greedyDecode(lp, 0, 3, 3, 0).tokenIds).toEqual([]);
    expect(prefixBeamSearch(lp, 0, 3, 3, 0, 8).tokenIds).toEqual([1]);
  });

  it('prunes by the limits it is given: a token under the floor extends nothing, a prefix outside the window is dropped', () => {
    // The case above: "a" wins only by summing paths through several prefixes.
    const lp = logRows([[0.4, 0.35, 0.25], [0.4, 0.35, 0.25], [0.4, 0.35, 0.25]]);
    const search = (tokenFloorNats: number, scoreWindowNats: number) =>
      prefixBeamSearch(lp, 0, 3, 3, 0, 8, undefined, { tokenFloorNats, scoreWindowNats }).tokenIds;
    expect(search(DEFAULT_PRUNING.tokenFloorNats, DEFAULT_PRUNING.scoreWindowNats)).toEqual([1]);
    // e^-1 = 0.37: neither a (0.35) nor b (0.25) may start a prefix.
    expect(search(1, DEFAULT_PRUNING.scoreWindowNats)).toEqual([]);
    // 0.01 nats keeps only the best prefix on each frame, so the paths of "a" are never summed.
    expect(search(DEFAULT_PRUNING.tokenFloorNats, 0.01)).toEqual([]);
  });
});
