/**
 * Optimal assignment (Hungarian / Munkres, O(n² m) with row and column
 * potentials) on a rectangular cost matrix. Used to link a window's local
 * speakers to global speakers and to map hypothesis to reference speakers in
 * DER. Pure; costs must be finite.
 */

/**
 * Minimum-cost assignment. Each row gets at most one column and each column at
 * most one row; min(rows, cols) pairs are made.
 * @returns for each row, its column, or -1 when there are more rows than columns
 */
export function minCostAssignment(cost: readonly (readonly number[])[]): number[] {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0].length;
  if (rows === 0 || cols === 0) return new Array<number>(rows).fill(-1);
  if (rows <= cols) return assignRowsToCols(cost, rows, cols);
  // The potential method needs rows <= cols: solve the transpose and invert it.
  const transposed = Array.from({ length: cols }, (_, c) => Array.from({ length: rows }, (_, r) => cost[r][c]));
  const colToRow = assignRowsToCols(transposed, cols, rows);
  const rowToCol = new Array<number>(rows).fill(-1);
  colToRow.forEach((r, c) => {
    rowToCol[r] = c;
  });
  return rowToCol;
}

/** Maximum-score assignment (negated costs). */
export function maxScoreAssignment(score: readonly (readonly number[])[]): number[] {
  return minCostAssignment(score.map((row) => row.map((s) => -s)));
}

function assignRowsToCols(cost: readonly (readonly number[])[], rows: number, cols: number): number[] {
  // 1-based arrays; column 0 is the virtual start of each augmenting path.
  const rowPotential = new Float64Array(rows + 1);
  const colPotential = new Float64Array(cols + 1);
  const rowOfCol = new Int32Array(cols + 1); // 0 = free
  const previousCol = new Int32Array(cols + 1);
  for (let row = 1; row <= rows; row++) {
    rowOfCol[0] = row;
    let col0 = 0;
    const minSlack = new Float64Array(cols + 1).fill(Infinity);
    const visited = new Uint8Array(cols + 1);
    do {
      visited[col0] = 1;
      const row0 = rowOfCol[col0];
      let delta = Infinity;
      let col1 = 0;
      for (let col = 1; col <= cols; col++) {
        if (visited[col]) continue;
        const slack = cost[row0 - 1][col - 1] - rowPotential[row0] - colPotential[col];
        if (slack < minSlack[col]) {
          minSlack[col] = slack;
          previousCol[col] = col0;
        }
        if (minSlack[col] < delta) {
          delta = minSlack[col];
          col1 = col;
        }
      }
      for (let col = 0; col <= cols; col++) {
        if (visited[col]) {
          rowPotential[rowOfCol[col]] += delta;
          colPotential[col] -= delta;
        } else {
          minSlack[col] -= delta;
        }
      }
      col0 = col1;
    } while (rowOfCol[col0] !== 0);
    // Flip the augmenting path back to the start.
    do {
      const col1 = previousCol[col0];
      rowOfCol[col0] = rowOfCol[col1];
      col0 = col1;
    } while (col0 !== 0);
  }
  const rowToCol = new Array<number>(rows).fill(-1);
  for (let col = 1; col <= cols; col++) if (rowOfCol[col] !== 0) rowToCol[rowOfCol[col] - 1] = col - 1;
  return rowToCol;
}
