/**
 * Scenario `continuous`: N real-time clients that talk without stopping
 * (lectures, podcasts, busy meetings), against the server process. Owns the
 * continuous plan and its figures; the load is lib/live-clients.ts, as in
 * `streams`.
 *
 * Each client sends synthetic sentences (espeak-ng, known text) with their
 * padding trimmed, separated by 100-200 ms of silence: shorter than the
 * endpointing, so no segment ends at an endpoint; the server cuts long ones
 * at a short pause, or at its maximum segment length.
 *
 * For every partial and final: how far behind the audio it arrives, its
 * receipt time minus the send time of the frame holding its `end_ms` (the
 * stream time its transcript reaches). Also: segment lengths (a final's
 * end_ms - start_ms), missing finals (a sentence no final overlaps), and the
 * WER of each stream's finals joined against its sentences joined. "Kept
 * real time" is judged on how far behind finals arrive.
 */
import { corpusWer } from '../eval/wer.js';
import { loadPool, overlaps, streamPlan, syntheticAt, type AudioPool, type Plan } from './lib/live-audio.js';
import { keptRealTime, latencyGrowthMs, runLoad, withServer, type Client, type Received, type ServerKind } from './lib/live-clients.js';
import type { ScenarioResult } from './lib/report.js';
import { percentile, round } from './lib/stats.js';

const PAUSE_MIN_MS = 100;
const PAUSE_MAX_MS = 200;

export interface ContinuousOptions {
  clients: number[];
  seconds: number;
  endpointingMs: number;
  /** Passed to the server as --model when not empty. */
  model: string;
  server: ServerKind;
}

function buildPlan(streamIndex: number, seconds: number, pool: AudioPool): Plan {
  return streamPlan(streamIndex, seconds, (b, j) => {
    const { text, clip } = syntheticAt(pool, j);
    b.utterance(text, clip, true);
    b.silence(PAUSE_MIN_MS + ((j * 37) % (PAUSE_MAX_MS - PAUSE_MIN_MS + 1)));
  });
}

function analyse(c: Client) {
  const behind = (r: Received) => ({ atStreamMs: r.msg.end_ms, latencyMs: r.atMs - c.sentAt(r.msg.end_ms) });
  const sentences = c.plan.items;
  return {
    partialBehindMs: c.partials.map((r) => behind(r).latencyMs),
    finalBehind: c.finals.map(behind),
    segmentMs: c.finals.map((r) => r.msg.end_ms - r.msg.start_ms),
    sentences: sentences.length,
    missingFinals: sentences.filter((item) => !c.finals.some((r) => overlaps(r.msg, item))).length,
    pair: { reference: sentences.map((item) => item.reference).join(' '), hypothesis: c.finals.map((r) => r.msg.text).join(' ') },
  };
}

export async function benchContinuous(opts: ContinuousOptions): Promise<ScenarioResult> {
  const pool = loadPool();
  const rows: Array<Record<string, number | boolean | null>> = [];
  await withServer(opts.model, async (server) => {
    for (const n of opts.clients) {
      console.log(`${n} client(s) talking without pauses, ${opts.seconds} s each, endpointing ${opts.endpointingMs} ms ...`);
      const load = await runLoad(server, Array.from({ length: n }, (_, i) => buildPlan(i, opts.seconds, pool)), opts.endpointingMs);
      const figures = load.clients.map(analyse);
      const partialMs = figures.flatMap((f) => f.partialBehindMs);
      const finalBehind = figures.flatMap((f) => f.finalBehind);
      const finalMs = finalBehind.map((x) => x.latencyMs);
      const segmentMs = figures.flatMap((f) => f.segmentMs);
      const growthMs = latencyGrowthMs(finalBehind);
      const row = {
        n,
        partial_behind_p50_ms: round(percentile(partialMs, 50)),
        partial_behind_p95_ms: round(percentile(partialMs, 95)),
        final_behind_p50_ms: round(percentile(finalMs, 50)),
        final_behind_p95_ms: round(percentile(finalMs, 95)),
        final_behind_max_ms: round(Math.max(...finalMs)),
        partials: partialMs.length,
        finals: finalMs.length,
        segment_p50_ms: round(percentile(segmentMs, 50)),
        segment_max_ms: round(Math.max(...segmentMs)),
        sentences: figures.reduce((s, f) => s + f.sentences, 0),
        missing_finals: figures.reduce((s, f) => s + f.missingFinals, 0),
        wer_pct: round(corpusWer(figures.map((f) => f.pair)).wer * 100, 1),
        final_behind_growth_ms: round(growthMs),
        ...load.figures,
        kept_real_time: keptRealTime(load, growthMs),
      };
      console.log(JSON.stringify(row));
      rows.push(row);
    }
  }, opts.server);
  console.table(
    rows.map((r) => ({
      n: r.n,
      partial_behind_p50_ms: r.partial_behind_p50_ms,
      partial_behind_p95_ms: r.partial_behind_p95_ms,
      final_behind_p50_ms: r.final_behind_p50_ms,
      final_behind_p95_ms: r.final_behind_p95_ms,
      segment_p50_ms: r.segment_p50_ms,
      missing_finals: r.missing_finals,
      wer_pct: r.wer_pct,
      server_cpu_pct_of_core: r.server_cpu_pct_of_core,
      server_event_loop_lag_p99_ms: r.server_event_loop_lag_p99_ms,
      kept_real_time: r.kept_real_time,
    })),
  );
  return { rows };
}
