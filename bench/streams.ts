/**
 * Scenario `streams`: N concurrent real-time clients against the real server
 * as a child process, over real WebSockets on loopback, for each N given.
 *
 * Each client replays its own sequence of items separated by 1.2 s of
 * silence, as s16le PCM in 20 ms frames at real-time pace: synthetic
 * utterances (espeak-ng voices, known text and known start/end) and, every
 * third item, a clip of a real recording from ../shared/audio (at most 15 s;
 * no reference text or word times). All clients are paced by one timer, and
 * each frame's actual send time is recorded.
 *
 * Every latency is client-side, one clock (performance.now()):
 *  - final latency (synthetic): send time of the frame holding the
 *    utterance's last sample → receipt of the last final overlapping it
 *    (includes the server's endpointing silence);
 *  - first-partial latency (synthetic): send time of the frame holding the
 *    utterance's first sample → receipt of the first partial overlapping it;
 *  - recording final latency: send time of the frame holding the final's last
 *    word end (the server's word time) → receipt of that final;
 *  - drain: send of `close` after the last frame → receipt of `closed`.
 * Partial stability: of all words in all partials, the share not kept in the
 * segment's final (beyond the longest common prefix of partial and final).
 * Server CPU and RSS come from /proc; batch sizes, model time, dropped
 * partials and event-loop delay from the server's /metrics.
 *
 * A run "kept real time" when the drain p95 stays under DRAIN_LIMIT_MS and
 * final latency did not grow over the run (median over the last third of
 * utterances minus median over the first third under GROWTH_LIMIT_MS): a
 * server falling behind shows both a backlog at the end and rising latency.
 */
import WebSocket from 'ws';
import { corpusWer } from '../eval/wer.js';
import type { ServerMessage, TranscriptMessage } from '../protocol/messages.js';
import { readAudio16k, silence, synthesize, toS16le } from '../testkit/speech.js';
import { SENTENCES, VOICES } from '../testkit/speech-plan.js';
import { sharedPath } from '../testkit/paths.js';
import { cpuSeconds, promValue, rssMiB, startServerProcess } from '../testkit/server-process.js';
import type { ScenarioResult } from './lib/report.js';
import { percentile } from './lib/stats.js';
import { lineChart } from './lib/svg.js';

const FRAME_MS = 20;
const FRAME_BYTES = FRAME_MS * 16 * 2;
const GAP_MS = 1200;
const CLIP_MAX_MS = 15_000;
const DRAIN_LIMIT_MS = 3000;
const GROWTH_LIMIT_MS = 1000;
/** How long to wait for `closed` after the last frame before giving up on a stream. */
const CLOSE_TIMEOUT_MS = 60_000;

const RECORDINGS = ['jfk/jfk.flac', 'phone-call/sample.wav', 'librivox/beckett.wav', 'librivox/two_cities_16k.wav', 'librivox/endgame_nagg_nell.wav'];

export interface StreamsOptions {
  clients: number[];
  seconds: number;
  /** Passed to the server as --model when not empty. */
  model: string;
}

interface Item {
  /** Known text for synthetic speech; null for a recording. */
  reference: string | null;
  name: string;
  /** Stream time of the first and last speech sample (synthetic), or of the clip's ends (recording). */
  startMs: number;
  endMs: number;
}

interface Plan {
  pcm: Uint8Array;
  items: Item[];
}

interface Clip {
  audio: Float32Array;
  /** Where the speech in the clip starts and ends (espeak-ng pads ~300 ms of silence at the end). */
  speechStartMs: number;
  speechEndMs: number;
}

interface AudioPool {
  synthetic: Array<{ text: string; clips: Clip[] }>;
  recordings: Array<{ name: string; audio: Float32Array }>;
}

/** Synthetic speech is noiseless, so speech is whatever rises above -40 dBFS. */
const SPEECH_THRESHOLD = 0.01;

function synthesizeClip(text: string, voice: string): Clip {
  const audio = synthesize(text, { engine: 'espeak', voice });
  const first = audio.findIndex((x) => Math.abs(x) >= SPEECH_THRESHOLD);
  if (first < 0) throw new Error(`espeak-ng produced silence for "${text}" (${voice})`);
  let last = audio.length - 1;
  while (Math.abs(audio[last]) < SPEECH_THRESHOLD) last--;
  return { audio, speechStartMs: first / 16, speechEndMs: (last + 1) / 16 };
}

function loadPool(): AudioPool {
  return {
    synthetic: SENTENCES.map((text) => ({ text, clips: VOICES.map((voice) => synthesizeClip(text, voice)) })),
    recordings: RECORDINGS.map((name) => ({ name, audio: readAudio16k(sharedPath('audio', name)).subarray(0, CLIP_MAX_MS * 16) })),
  };
}

function buildPlan(streamIndex: number, seconds: number, pool: AudioPool): Plan {
  const parts: Float32Array[] = [silence(300 + ((streamIndex * 97) % 700))];
  const items: Item[] = [];
  let posMs = parts[0].length / 16;
  for (let k = 0; posMs < seconds * 1000; k++) {
    const j = streamIndex + k;
    let audio: Float32Array;
    if (j % 3 === 2) {
      const rec = pool.recordings[Math.floor(j / 3) % pool.recordings.length];
      audio = rec.audio;
      items.push({ reference: null, name: rec.name, startMs: posMs, endMs: posMs + audio.length / 16 });
    } else {
      const s = pool.synthetic[j % pool.synthetic.length];
      const clip = s.clips[(j * 7) % VOICES.length];
      audio = clip.audio;
      items.push({ reference: s.text, name: 'synthetic', startMs: posMs + clip.speechStartMs, endMs: posMs + clip.speechEndMs });
    }
    parts.push(audio, silence(GAP_MS));
    posMs += audio.length / 16 + GAP_MS;
  }
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return { pcm: toS16le(all), items };
}

interface Received {
  msg: TranscriptMessage;
  atMs: number;
}

/** One client's socket and everything it saw, with the client clock. */
class Client {
  readonly sentAtMs: number[] = [];
  readonly finals: Received[] = [];
  readonly partials: Received[] = [];
  closeSentAtMs = NaN;
  closedAtMs = NaN;
  private readonly done: Promise<void>;

  private constructor(
    readonly ws: WebSocket,
    readonly plan: Plan,
  ) {
    let resolveDone!: () => void;
    this.done = new Promise((r) => (resolveDone = r));
    ws.on('message', (data) => {
      const atMs = performance.now();
      const msg = JSON.parse(data.toString()) as ServerMessage;
      if (msg.type === 'final') this.finals.push({ msg, atMs });
      else if (msg.type === 'partial') this.partials.push({ msg, atMs });
      else if (msg.type === 'closed') this.closedAtMs = atMs;
      else if (msg.type === 'error') console.error(`server error: ${msg.code}: ${msg.message}`);
    });
    ws.on('error', (err) => console.error(`client socket error: ${err.message}`));
    ws.on('close', () => resolveDone());
  }

  static async connect(port: number, plan: Plan): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/listen?encoding=pcm_s16le&sample_rate=16000`);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    return new Client(ws, plan);
  }

  get frameCount(): number {
    return Math.ceil(this.plan.pcm.length / FRAME_BYTES);
  }

  sendFrame(i: number): void {
    this.ws.send(this.plan.pcm.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES));
    this.sentAtMs.push(performance.now());
    if (i === this.frameCount - 1) {
      this.ws.send(JSON.stringify({ type: 'close' }));
      this.closeSentAtMs = performance.now();
    }
  }

  /** Resolves when the socket closes, or after `timeoutMs` (then the socket is dropped). */
  async closed(timeoutMs: number): Promise<void> {
    const timer = setTimeout(() => this.ws.terminate(), timeoutMs);
    await this.done;
    clearTimeout(timer);
  }

  /** Send time of the frame holding stream time `ms`. */
  sentAt(ms: number): number {
    return this.sentAtMs[Math.min(this.sentAtMs.length - 1, Math.max(0, Math.floor(ms / FRAME_MS)))];
  }
}

/** Sends every client's frames at real-time pace from one timer; returns the send lag (actual minus due) of each tick. */
async function pace(clients: Client[]): Promise<number[]> {
  const frames = Math.max(...clients.map((c) => c.frameCount));
  const lagsMs: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    const wait = t0 + i * FRAME_MS - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    lagsMs.push(performance.now() - (t0 + i * FRAME_MS));
    for (const c of clients) if (i < c.frameCount) c.sendFrame(i);
  }
  return lagsMs;
}

interface StreamFigures {
  finalLatMs: Array<{ atStreamMs: number; latencyMs: number }>;
  partialLatMs: number[];
  recordingFinalLatMs: number[];
  missingFinals: number;
  pairs: Array<{ reference: string; hypothesis: string }>;
  partialWords: number;
  partialWordsChanged: number;
  drainMs: number;
}

const overlaps = (m: TranscriptMessage, item: Item) => m.end_ms > item.startMs && m.start_ms < item.endMs;

function commonPrefix(a: string[], b: string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

function analyse(c: Client): StreamFigures {
  const f: StreamFigures = { finalLatMs: [], partialLatMs: [], recordingFinalLatMs: [], missingFinals: 0, pairs: [], partialWords: 0, partialWordsChanged: 0, drainMs: c.closedAtMs - c.closeSentAtMs };
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

const round = (x: number, digits = 0) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null);

/** Median latency of the last third of utterances (by stream time) minus that of the first third. */
function latencyGrowthMs(lat: Array<{ atStreamMs: number; latencyMs: number }>): number {
  const sorted = [...lat].sort((a, b) => a.atStreamMs - b.atStreamMs);
  const third = Math.floor(sorted.length / 3);
  if (third === 0) return 0;
  const med = (xs: typeof sorted) => percentile(xs.map((x) => x.latencyMs), 50);
  return med(sorted.slice(-third)) - med(sorted.slice(0, third));
}

async function metricsText(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

export async function benchStreams(opts: StreamsOptions): Promise<ScenarioResult> {
  console.log('synthesising test speech, reading recordings ...');
  const pool = loadPool();
  const server = await startServerProcess(opts.model ? ['--model', opts.model] : []);
  const rows: Array<Record<string, unknown>> = [];
  try {
    for (const n of opts.clients) {
      console.log(`${n} client(s), ${opts.seconds} s each ...`);
      const metrics0 = await metricsText(server.port);
      const cpu0 = cpuSeconds(server.pid);
      const wall0 = performance.now();
      let rssPeakMiB = 0;
      const sampler = setInterval(() => (rssPeakMiB = Math.max(rssPeakMiB, rssMiB(server.pid))), 500);
      const clients = await Promise.all(Array.from({ length: n }, (_, i) => Client.connect(server.port, buildPlan(i, opts.seconds, pool))));
      const sendLagMs = await pace(clients);
      await Promise.all(clients.map((c) => c.closed(CLOSE_TIMEOUT_MS)));
      clearInterval(sampler);
      const wallS = (performance.now() - wall0) / 1000;
      const cpuS = cpuSeconds(server.pid) - cpu0;
      const rssEndMiB = rssMiB(server.pid);
      const metrics1 = await metricsText(server.port);
      const d = (name: string, labels = '') => promValue(metrics1, name, labels) - promValue(metrics0, name, labels);

      const figures = clients.map(analyse);
      const finalLat = figures.flatMap((f) => f.finalLatMs);
      const finalMs = finalLat.map((x) => x.latencyMs);
      const partialMs = figures.flatMap((f) => f.partialLatMs);
      const recMs = figures.flatMap((f) => f.recordingFinalLatMs);
      const drains = figures.map((f) => f.drainMs);
      const notClosed = drains.filter((x) => !Number.isFinite(x)).length;
      const drainP95 = notClosed > 0 ? Infinity : percentile(drains, 95);
      const growthMs = latencyGrowthMs(finalLat);
      const partialWords = figures.reduce((s, f) => s + f.partialWords, 0);
      const audioS = d('lt_audio_seconds_received_total');
      const row = {
        n,
        audio_s: round(audioS),
        final_p50_ms: round(percentile(finalMs, 50)),
        final_p95_ms: round(percentile(finalMs, 95)),
        final_p99_ms: round(percentile(finalMs, 99)),
        first_partial_p50_ms: round(percentile(partialMs, 50)),
        first_partial_p95_ms: round(percentile(partialMs, 95)),
        first_partial_p99_ms: round(percentile(partialMs, 99)),
        recording_final_p50_ms: round(percentile(recMs, 50)),
        recording_final_p95_ms: round(percentile(recMs, 95)),
        synthetic_utterances: finalMs.length + figures.reduce((s, f) => s + f.missingFinals, 0),
        missing_finals: figures.reduce((s, f) => s + f.missingFinals, 0),
        partial_words_changed_pct: round(partialWords ? (100 * figures.reduce((s, f) => s + f.partialWordsChanged, 0)) / partialWords : NaN, 1),
        wer_synthetic_pct: round(corpusWer(figures.flatMap((f) => f.pairs)).wer * 100, 1),
        server_cpu_s: round(cpuS, 1),
        server_cpu_pct_of_core: round((cpuS / wallS) * 100),
        server_rss_peak_mib: round(Math.max(rssPeakMiB, rssEndMiB)),
        server_rss_end_mib: round(rssEndMiB),
        asr_mean_batch: round(d('lt_asr_batch_size_sum') / d('lt_asr_batch_size_count'), 2),
        vad_mean_batch: round(d('lt_vad_batch_size_sum') / d('lt_vad_batch_size_count'), 2),
        engine_rtf: round((d('lt_model_call_seconds_sum', 'model="asr"') + d('lt_model_call_seconds_sum', 'model="vad"')) / audioS, 3),
        server_final_mean_ms: round((d('lt_final_latency_seconds_sum') / d('lt_final_latency_seconds_count')) * 1000),
        partials_dropped: d('lt_partials_dropped_total'),
        drain_p95_ms: round(drainP95),
        streams_not_closed: notClosed,
        final_latency_growth_ms: round(growthMs),
        client_send_lag_p99_ms: round(percentile(sendLagMs, 99)),
        // prom-client resets its event-loop delay histogram at each scrape, so these cover this run alone.
        server_event_loop_lag_p99_ms: round(promValue(metrics1, 'lt_process_nodejs_eventloop_lag_p99_seconds') * 1000),
        server_event_loop_lag_max_ms: round(promValue(metrics1, 'lt_process_nodejs_eventloop_lag_max_seconds') * 1000),
        kept_real_time: drainP95 < DRAIN_LIMIT_MS && growthMs < GROWTH_LIMIT_MS,
      };
      console.log(JSON.stringify(row));
      rows.push(row);
    }
  } finally {
    await server.stop();
  }
  console.table(rows.map((r) => ({ n: r.n, final_p50_ms: r.final_p50_ms, final_p95_ms: r.final_p95_ms, first_partial_p50_ms: r.first_partial_p50_ms, wer_synthetic_pct: r.wer_synthetic_pct, server_cpu_pct_of_core: r.server_cpu_pct_of_core, asr_mean_batch: r.asr_mean_batch, kept_real_time: r.kept_real_time })));
  const kept = rows.filter((r) => r.kept_real_time).map((r) => r.n as number);
  // Only the N given are tried: when the largest one kept real time, the server may hold more.
  const summary = { largest_n_kept_real_time: kept.length ? Math.max(...kept) : 0, largest_n_tried: Math.max(...opts.clients), drain_limit_ms: DRAIN_LIMIT_MS, growth_limit_ms: GROWTH_LIMIT_MS };
  console.log(`largest N kept in real time: ${summary.largest_n_kept_real_time} (of N up to ${summary.largest_n_tried} tried)`);
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
