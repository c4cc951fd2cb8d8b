/**
 * Scenario `streams`: N concurrent real-time clients against the real server
 * as a child process, over real WebSockets on loopback, for each N given.
 * Owns the streams plan, the per-utterance figures and the row for each N;
 * the load itself (clients, pacing, server figures, the real-time verdict)
 * is lib/live-clients.ts and the audio lib/live-audio.ts.
 *
 * Each client replays its own sequence of items separated by 1.2 s of
 * silence (endpointing + 700 ms when that is longer), asking for the
 * endpointing given (`endpointing_ms`, the protocol default 500): synthetic utterances (espeak-ng voices, known text and known
 * start/end) and, every third item, a clip of a real recording from
 * ../shared/audio (at most 15 s; no reference text or word times).
 *
 * Every latency is client-side, one clock (performance.now()):
 *  - final latency (synthetic): send time of the frame holding the
 *    utterance's last sample → receipt of the last final overlapping it
 *    (includes the server's endpointing silence);
 *  - first-partial latency (synthetic): send time of the frame holding the
 *    utterance's first sample → receipt of the first partial overlapping it;
 *  - recording final latency: send time of the frame holding the final's last
 *    word end (the server's word time) → receipt of that final.
 * Partial stability: of all words in all partials, the share not kept in the
 * segment's final (beyond the longest common prefix of partial and final).
 * "Kept real time" is judged on the final latency (lib/live-clients.ts).
 * An N is "within the SLO" when its final p95 is at most the endpointing +
 * SLO_MARGIN_MS and no utterance lacks a final; `capacity_at_slo` is the
 * largest such N tried.
 */
import { corpusWer } from '../eval/wer.js';
import { loadPool, overlaps, streamPlan, syntheticAt, type AudioPool, type Plan } from './lib/live-audio.js';
import { DRAIN_LIMIT_MS, GROWTH_LIMIT_MS, keptRealTime, latencyGrowthMs, runLoad, withServer, type Client, type ServerKind, type Target } from './lib/live-clients.js';
import type { ScenarioResult } from './lib/report.js';
import { percentile, round } from './lib/stats.js';
import { lineChart } from './lib/svg.js';

/** The SLO: final p95 (end of speech → final) at most the endpointing plus this, and no missing finals. */
export const SLO_MARGIN_MS = 350;

/** Silence after each item: 1.2 s, or longer when the endpointing asked for would not end the utterance in it. */
const gapMs = (endpointingMs: number) => Math.max(1200, endpointingMs + 700);

export interface StreamsOptions {
  clients: number[];
  seconds: number;
  /** Passed to the server as --model when not empty. */
  model: string;
  /** What every client asks for as `endpointing_ms`. */
  endpointingMs: number;
  /** Which server the clients drive (lib/live-clients.ts). */
  server: ServerKind;
}

function buildPlan(streamIndex: number, seconds: number, endpointingMs: number, pool: AudioPool): Plan {
  return streamPlan(streamIndex, seconds, (b, j) => {
    if (j % 3 === 2) {
      const rec = pool.recordings[Math.floor(j / 3) % pool.recordings.length];
      b.recording(rec.name, rec.audio);
    } else {
      const { text, clip } = syntheticAt(pool, j);
      b.utterance(text, clip);
    }
    b.silence(gapMs(endpointingMs));
  });
}

interface StreamFigures {
  finalLatMs: Array<{ atStreamMs: number; latencyMs: number }>;
  partialLatMs: number[];
  recordingFinalLatMs: number[];
  missingFinals: number;
  pairs: Array<{ reference: string; hypothesis: string }>;
  partialWords: number;
  partialWordsChanged: number;
}

function commonPrefix(a: string[], b: string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

function analyse(c: Client): StreamFigures {
  const f: StreamFigures = { finalLatMs: [], partialLatMs: [], recordingFinalLatMs: [], missingFinals: 0, pairs: [], partialWords: 0, partialWordsChanged: 0 };
  for (const item of c.plan.items) {
    const finals = c.finals.filter((r) => overlaps(r.msg, item));
    if (item.reference === null) {
      for (const r of finals) {
        const lastWord = r.msg.words[r.msg.words.length - 1];
        if (lastWord && lastWord.end_ms <= item.endMs) f.recordingFinalLatMs.push(r.atMs - c.sentAt(lastWord.end_ms));
      }
      continue;
    }
    f.pairs.push({ reference: item.reference, hypothesis: finals.map((r) => r.msg.text).join(' ') });
    const last = finals[finals.length - 1];
    if (last) f.finalLatMs.push({ atStreamMs: item.endMs, latencyMs: last.atMs - c.sentAt(item.endMs) });
    else f.missingFinals++;
    const firstPartial = c.partials.find((r) => overlaps(r.msg, item));
    if (firstPartial) f.partialLatMs.push(firstPartial.atMs - c.sentAt(item.startMs));
  }
  const finalWords = new Map(c.finals.map((r) => [r.msg.segment_id, r.msg.words.map((w) => w.word.toLowerCase())]));
  for (const p of c.partials) {
    const words = p.msg.words.map((w) => w.word.toLowerCase());
    const final = finalWords.get(p.msg.segment_id) ?? [];
    f.partialWords += words.length;
    f.partialWordsChanged += words.length - commonPrefix(words, final);
  }
  return f;
}

export type StreamsRow = Record<string, number | boolean | null>;

/** One run of `n` clients against `server`: the row for that N (scenario `capacity` runs its probes with this too). */
export async function runStreams(server: Target, pool: AudioPool, n: number, opts: Pick<StreamsOptions, 'seconds' | 'endpointingMs'>): Promise<StreamsRow> {
  console.log(`${n} client(s), ${opts.seconds} s each, endpointing ${opts.endpointingMs} ms ...`);
  const plans = Array.from({ length: n }, (_, i) => buildPlan(i, opts.seconds, opts.endpointingMs, pool));
  const load = await runLoad(server, plans, opts.endpointingMs);
  const figures = load.clients.map(analyse);
  const finalLat = figures.flatMap((f) => f.finalLatMs);
  const finalMs = finalLat.map((x) => x.latencyMs);
  const partialMs = figures.flatMap((f) => f.partialLatMs);
  const recMs = figures.flatMap((f) => f.recordingFinalLatMs);
  const growthMs = latencyGrowthMs(finalLat);
  const partialWords = figures.reduce((s, f) => s + f.partialWords, 0);
  const missingFinals = figures.reduce((s, f) => s + f.missingFinals, 0);
  const sloLimitMs = opts.endpointingMs + SLO_MARGIN_MS;
  const finalP95Ms = percentile(finalMs, 95);
  const row = {
    n,
    final_p50_ms: round(percentile(finalMs, 50)),
    final_p95_ms: round(finalP95Ms),
    final_p99_ms: round(percentile(finalMs, 99)),
    first_partial_p50_ms: round(percentile(partialMs, 50)),
    first_partial_p95_ms: round(percentile(partialMs, 95)),
    first_partial_p99_ms: round(percentile(partialMs, 99)),
    recording_final_p50_ms: round(percentile(recMs, 50)),
    recording_final_p95_ms: round(percentile(recMs, 95)),
    synthetic_utterances: finalMs.length + missingFinals,
    missing_finals: missingFinals,
    partial_words_changed_pct: round(partialWords ? (100 * figures.reduce((s, f) => s + f.partialWordsChanged, 0)) / partialWords : NaN, 1),
    wer_synthetic_pct: round(corpusWer(figures.flatMap((f) => f.pairs)).wer * 100, 1),
    final_latency_growth_ms: round(growthMs),
    ...load.figures,
    kept_real_time: keptRealTime(load, growthMs),
    slo_final_p95_limit_ms: sloLimitMs,
    // NaN (no synthetic utterance ended) is not within.
    within_slo: finalP95Ms <= sloLimitMs && missingFinals === 0,
  };
  console.log(JSON.stringify(row));
  return row;
}

export async function benchStreams(opts: StreamsOptions): Promise<ScenarioResult> {
  const pool = loadPool();
  const rows: StreamsRow[] = [];
  await withServer(opts.model, async (server) => {
    for (const n of opts.clients) rows.push(await runStreams(server, pool, n, opts));
  }, opts.server);
  console.table(rows.map((r) => ({ n: r.n, final_p50_ms: r.final_p50_ms, final_p95_ms: r.final_p95_ms, first_partial_p50_ms: r.first_partial_p50_ms, wer_synthetic_pct: r.wer_synthetic_pct, server_cpu_pct_of_core: r.server_cpu_pct_of_core, asr_mean_batch: r.asr_mean_batch, kept_real_time: r.kept_real_time, within_slo: r.within_slo })));
  const largest = (key: string) => Math.max(0, ...rows.filter((r) => r[key] === true).map((r) => r.n as number));
  // Only the N given are tried: when the largest one kept real time (or met the SLO), the server may hold more (scenario `capacity` searches).
  const summary = {
    server: opts.server,
    largest_n_kept_real_time: largest('kept_real_time'),
    capacity_at_slo: largest('within_slo'),
    largest_n_tried: Math.max(...opts.clients),
    drain_limit_ms: DRAIN_LIMIT_MS,
    growth_limit_ms: GROWTH_LIMIT_MS,
    slo_final_p95_limit_ms: opts.endpointingMs + SLO_MARGIN_MS,
  };
  console.log(`largest N kept in real time: ${summary.largest_n_kept_real_time} (of N up to ${summary.largest_n_tried} tried)`);
  console.log(`capacity at SLO (final p95 <= ${summary.slo_final_p95_limit_ms} ms, no missing finals): ${summary.capacity_at_slo} (of N up to ${summary.largest_n_tried} tried)`);
  const series = (name: string, key: string, dashed = false) => ({ name, dashed, points: rows.map((r) => [r.n as number, (r[key] as number | null) ?? NaN] as [number, number]) });
  const chartSvg = lineChart({
    title: 'streams: client-side latency vs concurrent real-time clients',
    xLabel: 'concurrent clients (N)',
    yLabel: 'latency (ms)',
    logX: true,
    series: [
      series('final p50', 'final_p50_ms'),
      series('final p95', 'final_p95_ms'),
      series('final p99', 'final_p99_ms'),
      series('first partial p50', 'first_partial_p50_ms', true),
      series('first partial p95', 'first_partial_p95_ms', true),
      series('first partial p99', 'first_partial_p99_ms', true),
    ],
  });
  return { rows, summary, chartSvg };
}
