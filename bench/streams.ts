/**
 * Scenario `streams`: N concurrent real-time clients against a real server
 * process on loopback. Each client replays a sequence of synthetic utterances
 * (espeak-ng voices, known text) separated by silence, in 20 ms frames at
 * real-time pace, as s16le PCM.
 *
 * Latencies are measured at the client with one clock:
 *  - end of speech → final: from sending the utterance's last speech frame to
 *    receiving the final that covers it (includes the endpointing silence);
 *  - speech start → first partial: from sending the utterance's first speech
 *    frame to receiving the first partial for it.
 * The server's CPU and RSS come from /proc; batch sizes and model time from /metrics.
 *
 * usage: npm run bench -- streams [--n 1,8,32] [--seconds 30]
 */
import WebSocket from 'ws';
import { synthesize, silence, toS16le } from '../tests/helpers/speech.js';
import { corpusWer } from '../engine/asr/wer.js';
import type { ServerMessage, TranscriptMessage } from '../protocol/messages.js';
import { cpuSeconds, percentile, promValue, rssMiB, startServerProcess } from './lib/server-process.js';

const FRAME_MS = 20;
const GAP_MS = 1200;

const SENTENCES = [
  'please call stella at four fifteen tomorrow',
  'the train leaves at seven thirty from platform nine',
  'you will be called upon to help a friend in trouble',
  'if the very old will remember the very young will listen',
  'the covers of this book are too far apart',
  'never give a sucker an even break',
  'we counted forty two people at the station',
  'send the report to martha before june third',
  'the meeting moved to the second floor of the old building',
  'nobody knows how long the winter will last this year',
];
const VOICES = ['en-us', 'en-gb', 'en-us+f3', 'en-gb-x-rp+m3', 'en-us+m7', 'en-gb-scotland+f2'];

interface Utterance {
  text: string;
  startMs: number;
  endMs: number;
}

interface Plan {
  pcm: Uint8Array;
  utterances: Utterance[];
}

function buildPlan(streamIndex: number, seconds: number, pool: Float32Array[][]): Plan {
  const parts: Float32Array[] = [silence(300 + ((streamIndex * 97) % 700))];
  const utterances: Utterance[] = [];
  let posMs = parts[0].length / 16;
  for (let k = 0; posMs < seconds * 1000; k++) {
    const s = (streamIndex + k) % SENTENCES.length;
    const audio = pool[s][(streamIndex + k) % VOICES.length];
    utterances.push({ text: SENTENCES[s], startMs: posMs, endMs: posMs + audio.length / 16 });
    parts.push(audio, silence(GAP_MS));
    posMs += audio.length / 16 + GAP_MS;
  }
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return { pcm: toS16le(all), utterances };
}

interface StreamResult {
  finalLatMs: number[];
  partialLatMs: number[];
  pairs: Array<{ reference: string; hypothesis: string }>;
}

async function runStream(port: number, plan: Plan): Promise<StreamResult> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/listen?encoding=pcm_s16le&sample_rate=16000`);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const sentAt: number[] = []; // wall clock of each frame sent
  const finals: Array<{ msg: TranscriptMessage; at: number }> = [];
  const partials: Array<{ msg: TranscriptMessage; at: number }> = [];
  let closed!: () => void;
  const done = new Promise<void>((r) => (closed = r));
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as ServerMessage;
    const at = performance.now();
    if (msg.type === 'final') finals.push({ msg, at });
    else if (msg.type === 'partial') partials.push({ msg, at });
    else if (msg.type === 'closed') ws.close();
  });
  ws.on('close', () => closed());
  const frameBytes = FRAME_MS * 32;
  const t0 = performance.now();
  for (let i = 0, pos = 0; pos < plan.pcm.length; i++, pos += frameBytes) {
    const wait = t0 + i * FRAME_MS - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    ws.send(plan.pcm.subarray(pos, pos + frameBytes));
    sentAt.push(performance.now());
  }
  ws.send(JSON.stringify({ type: 'close' }));
  await done;

  const frameAt = (ms: number) => sentAt[Math.min(sentAt.length - 1, Math.floor(ms / FRAME_MS))];
  const result: StreamResult = { finalLatMs: [], partialLatMs: [], pairs: [] };
  for (const u of plan.utterances) {
    const overlaps = (m: TranscriptMessage) => m.end_ms > u.startMs && m.start_ms < u.endMs;
    const mine = finals.filter((f) => overlaps(f.msg));
    result.pairs.push({ reference: u.text, hypothesis: mine.map((f) => f.msg.text).join(' ') });
    const covering = mine.find((f) => f.msg.end_ms >= u.endMs - 100);
    if (covering) result.finalLatMs.push(covering.at - frameAt(u.endMs));
    const firstPartial = partials.find((p) => overlaps(p.msg));
    if (firstPartial) result.partialLatMs.push(firstPartial.at - frameAt(u.startMs));
  }
  return result;
}

export async function benchStreams(ns: number[], seconds: number): Promise<object[]> {
  console.log('synthesising test speech ...');
  const pool = SENTENCES.map((s) => VOICES.map((v) => synthesize(s, { engine: 'espeak', voice: v })));
  const server = await startServerProcess();
  const rows: object[] = [];
  try {
    for (const n of ns) {
      const metrics0 = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      const cpu0 = cpuSeconds(server.pid);
      const wall0 = performance.now();
      let rssPeak = 0;
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(server.pid))), 500);
      const results = await Promise.all(Array.from({ length: n }, (_, i) => runStream(server.port, buildPlan(i, seconds, pool))));
      clearInterval(sampler);
      const wallS = (performance.now() - wall0) / 1000;
      const cpuS = cpuSeconds(server.pid) - cpu0;
      const metrics1 = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      const d = (name: string, labels = '') => promValue(metrics1, name, labels) - promValue(metrics0, name, labels);
      const audioS = d('lt_audio_seconds_received_total');
      const finalLat = results.flatMap((r) => r.finalLatMs);
      const partialLat = results.flatMap((r) => r.partialLatMs);
      const row = {
        n,
        audio_s: Math.round(audioS),
        final_p50_ms: Math.round(percentile(finalLat, 50)),
        final_p95_ms: Math.round(percentile(finalLat, 95)),
        partial_p50_ms: Math.round(percentile(partialLat, 50)),
        partial_p95_ms: Math.round(percentile(partialLat, 95)),
        wer_pct: Math.round(corpusWer(results.flatMap((r) => r.pairs)).wer * 1000) / 10,
        engine_rtf: Math.round(((d('lt_model_call_seconds_sum', 'model="asr"') + d('lt_model_call_seconds_sum', 'model="vad"')) / audioS) * 1000) / 1000,
        asr_mean_batch: Math.round((d('lt_asr_batch_size_sum') / d('lt_asr_batch_size_count')) * 100) / 100,
        vad_mean_batch: Math.round((d('lt_vad_batch_size_sum') / d('lt_vad_batch_size_count')) * 100) / 100,
        partials_dropped: d('lt_partials_dropped_total'),
        server_cpu_pct: Math.round((cpuS / wallS) * 100),
        server_rss_peak_mib: Math.round(rssPeak),
        real_time: percentile(finalLat, 95) < 2500 && d('lt_partials_dropped_total') === 0,
      };
      console.log(JSON.stringify(row));
      rows.push(row);
    }
  } finally {
    await server.stop();
  }
  console.table(rows);
  return rows;
}
