import { describe, expect, it } from 'vitest';
import { maxScoreAssignment, minCostAssignment } from '../engine/diarization/hungarian.js';

function totalCost(cost: number[][], rowToCol: number[]): number {
  return rowToCol.reduce((sum, c, r) => sum + (c >= 0 ? cost[r][c] : 0), 0);
}

/** Exhaustive optimum for small matrices (rows <= cols). */
function bruteForceMin(cost: number[][]): number {
  const cols = cost[0].length;
  let best = Infinity;
  const used = new Array<boolean>(cols).fill(false);
  const walk = (row: number, sum: number) => {
    if (row === cost.length) {
      best = Math.min(best, sum);
      return;
    }
    for (let c = 0; c < cols; c++) {
      if (used[c]) continue;
      used[c] = true;
      walk(row + 1, sum + cost[row][c]);
      used[c] = false;
    }
  };
  walk(0, 0);
  return best;
}

/** Small deterministic PRNG so failures reproduce. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) % 2 ** 32;
    return s / 2 ** 32;
  };
}

describe('Hungarian assignment', () => {
  it('solves a known 3x3 case', () => {
    // Optimum 1 + 2 + 2 = 5; the diagonal would cost 6.
    const cost = [
      [4, 1, 3],
      [2, 0, 5],
      [3, 2, 2],
    ];
    expect(minCostAssignment(cost)).toEqual([1, 0, 2]);
  });

  it('beats greedy where greedy fails', () => {
    const cost = [
      [1, 2],
      [2, 100],
    ];
    // Greedy takes (0,0) and is left with 100; the optimum is 2 + 2.
    expect(minCostAssignment(cost)).toEqual([1, 0]);
  });

  it('handles more rows than columns and more columns than rows', () => {
    expect(maxScoreAssignment([[5], [9], [1]])).toEqual([-1, 0, -1]);
    expect(maxScoreAssignment([[5, 1, 0], [9, 3, 0]])).toEqual([1, 0]);
    expect(minCostAssignment([])).toEqual([]);
    expect(minCostAssignment([[], []])).toEqual([-1, -1]);
  });

  it('matches brute force on random matrices', () => {
    const random = lcg(7);
    for (let trial = 0; trial < 200; trial++) {
      const rows = 1 + Math.floor(random() * 5);
      const cols = rows + Math.floor(random() * 3);
      const cost = Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.round(random() * 20 - 5)));
      const rowToCol = minCostAssignment(cost);
      expect(new Set(rowToCol).size).toBe(rows); // one-to-one
      expect(totalCost(cost, rowToCol)).toBe(bruteForceMin(cost));
    }
  });
});
