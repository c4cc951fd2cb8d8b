/**
 * The soak driver (testkit/soak.ts) in small: 4 real-time streams for one
 * minute against the real server process, sessions opened and closed
 * throughout. Every session must get all its finals, none may be left open,
 * and the server's RSS must stay within the soak's growth bound after the
 * warm-up. The long run is `npm run bench -- soak` (16 streams, 10 minutes).
 */
import { expect, it } from 'vitest';
import { runSoak } from '../testkit/soak.js';

it('keeps every final and a flat RSS over a minute of 4 streams with session churn', async () => {
  const { summary, samples } = await runSoak({ streams: 4, minutes: 1, sampleS: 2, model: '' }, () => {});
  console.log(`RSS MiB by second: ${samples.map((s) => `${s.t_s}:${s.rss_mib}`).join(' ')}`);
  console.log(JSON.stringify(summary));
  expect(summary.problems).toEqual([]);
  expect(summary.sessions).toBeGreaterThanOrEqual(8);
  expect(summary.sessions_failed).toBe(0);
  expect(summary.live_sessions_after).toBe(0);
  expect(summary.rss_growth_mib).toBeLessThanOrEqual(summary.rss_growth_limit_mib);
  expect(summary.memory_ok).toBe(true);
}, 300_000);
