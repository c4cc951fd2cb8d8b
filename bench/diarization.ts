/**
 * Rolling speaker diarization bench: `npx tsx bench/diarization.ts [--step-ms=500] [--latency-ms=1000] [--no-cost]`.
 *
 * Accuracy: streams every RTTM-labelled recording in ../shared/audio through
 * the engine as a live client would (500 ms chunks, a step after each, no
 * sleeping) and prints DER with a 250 ms collar and with none, plus how far
 * behind the audio the final labels were. Cost, with one onnxruntime thread
 * and with one per core: ms per step for one stream, and for 8 streams one
 * batched call against 8 single-window calls.
 */
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { DiarizationEngine } from '../engine/diarization/index.js';
import { diarizationErrorRate, parseRttm, type DerResult, type SpeakerTurn } from '../eval/der.js';
import { sharedPath } from '../testkit/paths.js';
import { readWav } from '../testkit/wav.js';

const MODEL_PATH = sharedPath('models', 'pyannote-segmentation-3.0', 'model.int8.onnx');
const CHUNK_MS = 500;
const CHUNK_SAMPLES = 8000;
const COST_STREAMS = 8;
const COST_CHUNKS = 20;

interface Recording {
  name: string;
  wavPath: string;
  reference: SpeakerTurn[];
}

function arg(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
}

const stepMs = Number(arg('step-ms') ?? 500);
const latencyMs = Number(arg('latency-ms') ?? 1000);
const measureCost = !process.argv.includes('--no-cost');

function recordings(): Recording[] {
  const phone = parseRttm(readFileSync(sharedPath('audio', 'phone-call', 'sample.rttm'), 'utf8'));
  const ami = parseRttm(readFileSync(sharedPath('audio', 'ami', 'reference.rttm'), 'utf8'));
  const list: Recording[] = [{ name: 'phone-call/sample', wavPath: sharedPath('audio', 'phone-call', 'sample.wav'), reference: phone.get('sample') ?? [] }];
  for (const id of ['dev00', 'dev01', 'trn01']) {
    list.push({ name: `ami/${id}`, wavPath: sharedPath('audio', 'ami', `${id}.wav`), reference: ami.get(id) ?? [] });
  }
  return list;
}

function load16k(path: string): Float32Array {
  const wav = readWav(path);
  if (wav.sampleRateHz !== 16_000) throw new Error(`${path}: ${wav.sampleRateHz} Hz, expected 16000`);
  return wav.samples;
}

interface Streamed {
  turns: SpeakerTurn[];
  /** per chunk: audio received minus the time labels are final up to */
  finalLagMs: number[];
}

async function streamFile(engine: DiarizationEngine, id: string, samples: Float32Array): Promise<Streamed> {
  const turns: SpeakerTurn[] = [];
  const stream = engine.openStream(id, { onTurn: (t) => turns.push(t) });
  const finalLagMs: number[] = [];
  for (let at = 0; at < samples.length; at += CHUNK_SAMPLES) {
    const chunk = samples.subarray(at, Math.min(at + CHUNK_SAMPLES, samples.length));
    stream.pushAudio(chunk);
    await engine.step();
    finalLagMs.push((at + chunk.length) / 16 - stream.finalUntilMs);
  }
  stream.close();
  return { turns, finalLagMs };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function derLine(r: DerResult): string {
  const of = (ms: number) => pct(ms / r.referenceSpeechMs);
  return `${pct(r.der).padStart(6)} (miss ${of(r.missedMs)}, fa ${of(r.falseAlarmMs)}, conf ${of(r.confusionMs)})`;
}

async function accuracy(): Promise<void> {
  const engine = await DiarizationEngine.create({ segmentationModelPath: MODEL_PATH, stepMs, latencyMs });
  console.log(`step ${stepMs} ms, aggregation latency ${engine.latencyMs} ms, ${CHUNK_MS} ms chunks\n`);
  console.log('recording          | DER collar 250 ms                      | DER collar 0                           | speakers ref/hyp | final-label lag mean/max');
  const totals = { c250: [0, 0], c0: [0, 0] };
  for (const rec of recordings()) {
    const { turns, finalLagMs } = await streamFile(engine, rec.name, load16k(rec.wavPath));
    const c250 = diarizationErrorRate(rec.reference, turns, { collarMs: 250 });
    const c0 = diarizationErrorRate(rec.reference, turns, { collarMs: 0 });
    for (const [key, r] of [['c250', c250], ['c0', c0]] as const) {
      totals[key][0] += r.missedMs + r.falseAlarmMs + r.confusionMs;
      totals[key][1] += r.referenceSpeechMs;
    }
    const refSpeakers = new Set(rec.reference.map((t) => t.speaker)).size;
    const hypSpeakers = new Set(turns.map((t) => t.speaker)).size;
    console.log(
      `${rec.name.padEnd(18)} | ${derLine(c250).padEnd(38)} | ${derLine(c0).padEnd(38)} | ${`${refSpeakers}/${hypSpeakers}`.padEnd(16)} | ${mean(finalLagMs).toFixed(0)}/${Math.max(...finalLagMs).toFixed(0)} ms`,
    );
  }
  console.log(`${'all (pooled)'.padEnd(18)} | ${pct(totals.c250[0] / totals.c250[1]).padStart(6)}${''.padEnd(32)} | ${pct(totals.c0[0] / totals.c0[1]).padStart(6)}`);
  await engine.close();
}

/** 8 streams fed the same way; time per step of 8 windows, batched or one window per call. */
async function batchCost(maxBatchWindows: number, audio: Float32Array[], intraOpThreads: number): Promise<number> {
  const engine = await DiarizationEngine.create({ segmentationModelPath: MODEL_PATH, stepMs, latencyMs, maxBatchWindows, intraOpThreads });
  const streams = audio.map((_, i) => engine.openStream(`cost-${i}`));
  const perChunkMs: number[] = [];
  for (let c = 0; c < COST_CHUNKS; c++) {
    streams.forEach((s, i) => s.pushAudio(audio[i].subarray(c * CHUNK_SAMPLES, (c + 1) * CHUNK_SAMPLES)));
    const t0 = performance.now();
    let windows = 0;
    for (let n = await engine.step(); n > 0; n = await engine.step()) windows += n;
    if (windows !== streams.length) throw new Error(`expected ${streams.length} windows per chunk, got ${windows}`);
    perChunkMs.push(performance.now() - t0);
  }
  await engine.close();
  return mean(perChunkMs.slice(1)); // the first call pays one-time allocation
}

await accuracy();
if (measureCost) {
  const all = recordings().map((r) => load16k(r.wavPath));
  const audio = Array.from({ length: COST_STREAMS }, (_, i) => all[i % all.length]);
  console.log(`\ncost per step (onnxruntime CPU, ${stepMs} ms of audio per step)`);
  for (const threads of [1, os.availableParallelism()]) {
    const one = await batchCost(1, audio.slice(0, 1), threads);
    const batched = await batchCost(COST_STREAMS, audio, threads);
    const separate = await batchCost(1, audio, threads);
    console.log(
      `${threads} intra-op thread(s): one stream ${one.toFixed(1)} ms; ${COST_STREAMS} streams ${batched.toFixed(1)} ms as one batched call ` +
        `(${(batched / one).toFixed(1)}x one stream), ${separate.toFixed(1)} ms as ${COST_STREAMS} separate calls (separate/batched ${(separate / batched).toFixed(2)}x)`,
    );
  }
}
