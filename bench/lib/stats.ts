/**
 * Statistics the benches report: percentiles of measured times, and rounding
 * for the rows.
 */

/** The `p`th percentile of `values`: the sorted value at index floor(p% of the count); NaN when there are none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** `x` rounded to `digits` decimals, or null when it is not finite (so JSON keeps it). */
export const round = (x: number, digits = 0): number | null => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null);
