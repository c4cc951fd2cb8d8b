/**
 * Scenario `soak`: the soak driver (testkit/soak.ts) at full length, 16
 * real-time streams for 10 minutes by default, with session churn. Prints
 * the verdict and charts the server's RSS and JS heap over time; the run
 * fails (exit code 1) when memory grows past the bound or a session lost a
 * final (testkit/soak.ts says how it judges).
 *
 * usage: npm run bench -- soak [--streams 16] [--minutes 10] [--sample-s 5]
 */
import { runSoak, type SoakOptions } from '../testkit/soak.js';
import type { ScenarioResult } from './lib/report.js';
import { lineChart } from './lib/svg.js';

/** The `soak` scenario for bench/main.ts: prints the verdict and sets exit code 1 on failure. */
export async function benchSoak(opts: SoakOptions): Promise<ScenarioResult> {
  const { summary, samples } = await runSoak(opts);
  console.log(JSON.stringify(summary, null, 2));
  console.log(
    `${summary.pass ? 'PASS' : 'FAIL'}: RSS ${summary.rss_first_quarter_mib} -> ${summary.rss_last_quarter_mib} MiB (growth ${summary.rss_growth_mib}, limit ${summary.rss_growth_limit_mib}), ` +
      `${summary.sessions - summary.sessions_failed}/${summary.sessions} sessions intact, ${summary.live_sessions_after} left open`,
  );
  if (!summary.pass) process.exitCode = 1;
  const chartSvg = lineChart({
    title: `soak: ${opts.streams} real-time streams, ${opts.minutes} min`,
    xLabel: 'time (s)',
    yLabel: 'MiB',
    series: [
      { name: 'server RSS', points: samples.map((s) => [s.t_s, s.rss_mib]) },
      { name: 'JS heap used', points: samples.map((s) => [s.t_s, s.heap_used_mib]) },
    ],
  });
  return { rows: samples, summary, chartSvg };
}
