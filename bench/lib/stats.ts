/**
 * Statistics the benches report: percentiles of measured times.
 */

/** The `p`th percentile of `values`: the sorted value at index floor(p% of the count); NaN when there are none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
