/**
 * Scenario `capacity`: finds the capacity at the SLO (streams.ts: final p95
 * ≤ endpointing + 350 ms and no missing finals) instead of reading it off the
 * N given. Owns the search only; each probe is a full `streams` run of N
 * clients for `--seconds` (runStreams), all against one server process.
 *
 * The search is deterministic given the verdicts: the first probe is
 * `--start`; while every probe met the SLO, N doubles (at most `--max-n`);
 * after the first miss, it bisects between the largest N within the SLO and
 * the smallest N over it until they are 1 apart. It stops early after
 * `--probes` probes, or when the next probe would end past `--max-minutes`
 * (elapsed time + `--seconds`), and then says the capacity lies in a range.
 */
import type { ScenarioResult } from './lib/report.js';
import { loadPool } from './lib/live-audio.js';
import { withServer, type ServerKind } from './lib/live-clients.js';
import { round } from './lib/stats.js';
import { runStreams, SLO_MARGIN_MS, type StreamsRow } from './streams.js';

export interface CapacityOptions {
  start: number;
  maxN: number;
  probes: number;
  maxMinutes: number;
  seconds: number;
  endpointingMs: number;
  model: string;
  server: ServerKind;
}

/**
 * The next N to probe, given the largest N within the SLO so far (`lo`, 0 when
 * none) and the smallest N over it (`hi`, null when none); null when the
 * search is done.
 */
export function nextProbe(lo: number, hi: number | null, maxN: number): number | null {
  if (hi === null) return lo >= maxN ? null : Math.min(2 * lo, maxN);
  return hi - lo <= 1 ? null : Math.floor((lo + hi) / 2);
}

export async function benchCapacity(opts: CapacityOptions): Promise<ScenarioResult> {
  const t0 = performance.now();
  const elapsedS = () => (performance.now() - t0) / 1000;
  const limitMs = opts.endpointingMs + SLO_MARGIN_MS;
  const pool = loadPool();
  const rows: StreamsRow[] = [];
  let lo = 0;
  let hi: number | null = null;
  let stoppedBy = 'resolved';
  await withServer(opts.model, async (server) => {
    for (let n: number | null = Math.min(opts.start, opts.maxN); n !== null; n = nextProbe(lo, hi, opts.maxN)) {
      if (rows.length >= opts.probes) return void (stoppedBy = 'probes');
      if (elapsedS() + opts.seconds > opts.maxMinutes * 60) return void (stoppedBy = 'max-minutes');
      const row: StreamsRow = { probe: rows.length + 1, ...(await runStreams(server, pool, n, opts)) };
      rows.push(row);
      if (row.within_slo) lo = n;
      else hi = n;
      console.log(
        `probe ${row.probe}: N=${n} final p95 ${row.final_p95_ms} ms (limit ${limitMs}), missing finals ${row.missing_finals}: ` +
          `${row.within_slo ? 'within' : 'over'} the SLO; capacity in [${lo}, ${hi === null ? '?' : hi - 1}]`,
      );
    }
    if (hi === null) stoppedBy = 'max-n';
  }, opts.server);
  const summary = {
    server: opts.server,
    capacity_at_slo: lo,
    first_n_over_slo: hi,
    // 'resolved': hi = lo + 1; 'max-n': every probe up to --max-n met the SLO (capacity at least lo); 'probes' / 'max-minutes': stopped with the capacity in [lo, hi - 1] (or at least lo when hi is null).
    stopped_by: stoppedBy,
    probes: rows.length,
    probe_seconds: opts.seconds,
    endpointing_ms: opts.endpointingMs,
    slo_final_p95_limit_ms: limitMs,
    elapsed_s: round(elapsedS()),
  };
  console.table(rows.map((r) => ({ probe: r.probe, n: r.n, final_p95_ms: r.final_p95_ms, missing_finals: r.missing_finals, server_cpu_pct_of_core: r.server_cpu_pct_of_core, kept_real_time: r.kept_real_time, within_slo: r.within_slo })));
  let range = hi === null ? `at least ${lo}` : hi - lo <= 1 ? `${lo} (N=${hi} is over it)` : `between ${lo} and ${hi - 1}`;
  if (stoppedBy !== 'resolved') range += ` (stopped by --${stoppedBy})`;
  console.log(`capacity at SLO (final p95 <= ${limitMs} ms, no missing finals): ${range}; ${rows.length} probes of ${opts.seconds} s in ${summary.elapsed_s} s`);
  return { rows, summary };
}
