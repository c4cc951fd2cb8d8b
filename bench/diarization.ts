/**
 * Rolling speaker diarization bench: `npx tsx bench/diarization.ts [--step-ms=500] [--latency-ms=1000] [--no-cost]`.
 *
 * Accuracy: streams every RTTM-labelled recording in ../shared/audio through
 * the engine as a live client would (500 ms chunks, a step after each, no
 * sleeping), plus one longer recording made from the AMI clips where speakers
 * come back after others spoke and after silences (see returningSpeakers), and
 * prints per recording and pooled: DER with a 250 ms collar and with none,
 * each split into missed speech, false alarm and confusion, the speakers found
 * against the reference, and how far behind the audio the final labels were.
 * `--max-speakers=N` passes the session hint to every stream;
 * `--speaker-embedding-model=PATH` (and `--speaker-embedding-distance=D`)
 * adds a speaker-embedding model, as the server's flag does. Cost, with one onnxruntime thread
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
  samples: Float32Array;
  reference: SpeakerTurn[];
  /** counted in the pooled AMI row */
  ami: boolean;
}

function arg(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
}

const stepMs = Number(arg('step-ms') ?? 500);
const latencyMs = Number(arg('latency-ms') ?? 1000);
const maxSpeakers = arg('max-speakers') === undefined ? undefined : Number(arg('max-speakers'));
const measureCost = !process.argv.includes('--no-cost');
const embedding = {
  speakerEmbeddingModelPath: arg('speaker-embedding-model'),
  maxCosineDistance: arg('speaker-embedding-distance') === undefined ? undefined : Number(arg('speaker-embedding-distance')),
};

/** Turns of `turns` inside [fromMs, toMs), moved by `shiftMs`. */
function clip(turns: SpeakerTurn[], fromMs: number, toMs: number, shiftMs: number): SpeakerTurn[] {
  return turns
    .filter((t) => t.endMs > fromMs && t.startMs < toMs)
    .map((t) => ({ speaker: t.speaker, startMs: Math.max(t.startMs, fromMs) + shiftMs, endMs: Math.min(t.endMs, toMs) + shiftMs }));
}

/**
 * dev00's first half, 10 s of silence, dev01, 10 s of silence, dev00's second
 * half: the same two AMI speakers (MEE009, MEE012) talk in both clips, so both
 * come back after others have spoken and after silences longer than a window.
 */
function returningSpeakers(dev00: Recording, dev01: Recording): Recording {
  const half = Math.floor(dev00.samples.length / 2);
  const silence = new Float32Array(10 * 16_000);
  const parts = [dev00.samples.subarray(0, half), silence, dev01.samples, silence, dev00.samples.subarray(half)];
  const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (samples.set(p, at), at + p.length), 0);
  const ms = (n: number) => n / 16;
  const halfMs = ms(half);
  const dev01At = halfMs + 10_000;
  const secondAt = dev01At + ms(dev01.samples.length) + 10_000;
  const reference = [
    ...clip(dev00.reference, 0, halfMs, 0),
    ...clip(dev01.reference, 0, Infinity, dev01At),
    ...clip(dev00.reference, halfMs, Infinity, secondAt - halfMs),
  ];
  return { name: 'ami/returning', samples, reference, ami: false };
}

function recordings(): Recording[] {
  const phone = parseRttm(readFileSync(sharedPath('audio', 'phone-call', 'sample.rttm'), 'utf8'));
  const ami = parseRttm(readFileSync(sharedPath('audio', 'ami', 'reference.rttm'), 'utf8'));
  const list: Recording[] = [
    { name: 'phone-call/sample', samples: load16k(sharedPath('audio', 'phone-call', 'sample.wav')), reference: phone.get('sample') ?? [], ami: false },
  ];
  for (const id of ['dev00', 'dev01', 'trn01']) {
    list.push({ name: `ami/${id}`, samples: load16k(sharedPath('audio', 'ami', `${id}.wav`)), reference: ami.get(id) ?? [], ami: true });
  }
  list.push(returningSpeakers(list[1], list[2]));
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
  const stream = engine.openStream(id, { onTurn: (t) => turns.push(t) }, { maxSpeakers });
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

interface Errors {
  missedMs: number;
  falseAlarmMs: number;
  confusionMs: number;
  referenceSpeechMs: number;
}

function derCell(r: Errors): string {
  const of = (ms: number) => (r.referenceSpeechMs > 0 ? pct(ms / r.referenceSpeechMs) : '-');
  return `${of(r.missedMs + r.falseAlarmMs + r.confusionMs).padStart(6)} ${of(r.missedMs).padStart(6)} ${of(r.falseAlarmMs).padStart(6)} ${of(r.confusionMs).padStart(6)}`;
}

function add(into: Errors, r: Errors): void {
  into.missedMs += r.missedMs;
  into.falseAlarmMs += r.falseAlarmMs;
  into.confusionMs += r.confusionMs;
  into.referenceSpeechMs += r.referenceSpeechMs;
}

const zero = (): Errors => ({ missedMs: 0, falseAlarmMs: 0, confusionMs: 0, referenceSpeechMs: 0 });

async function accuracy(): Promise<void> {
  const engine = await DiarizationEngine.create({ segmentationModelPath: MODEL_PATH, stepMs, latencyMs, ...embedding });
  console.log(
    `step ${stepMs} ms, aggregation latency ${engine.latencyMs} ms, ${CHUNK_MS} ms chunks` +
      (maxSpeakers === undefined ? '' : `, max_speakers ${maxSpeakers}`) +
      (embedding.speakerEmbeddingModelPath ? `, speaker embeddings ${embedding.speakerEmbeddingModelPath} (distance ${embedding.maxCosineDistance ?? 'default'})` : ', no speaker embeddings') +
      '\nDER = missed + false alarm + confusion, as a share of reference speech (overlap scored); ' +
      'speakers: labels with any speech / reference speakers; lag: audio received minus final-label time, per 500 ms chunk\n',
  );
  const head = '   DER   miss     fa   conf';
  console.log(`${'recording'.padEnd(18)} | collar 250 ms: ${head} | collar 0: ${head} | speakers hyp/ref | lag mean/max`);
  const pooled = { ami: { c250: zero(), c0: zero() }, all: { c250: zero(), c0: zero() } };
  const lags: number[] = [];
  for (const rec of recordings()) {
    const { turns, finalLagMs } = await streamFile(engine, rec.name, rec.samples);
    const c250 = diarizationErrorRate(rec.reference, turns, { collarMs: 250 });
    const c0 = diarizationErrorRate(rec.reference, turns, { collarMs: 0 });
    if (rec.name !== 'ami/returning') {
      add(pooled.all.c250, c250);
      add(pooled.all.c0, c0);
      lags.push(...finalLagMs);
    }
    if (rec.ami) {
      add(pooled.ami.c250, c250);
      add(pooled.ami.c0, c0);
    }
    const refSpeakers = new Set(rec.reference.map((t) => t.speaker)).size;
    const hypSpeakers = new Set(turns.map((t) => t.speaker)).size;
    console.log(
      `${rec.name.padEnd(18)} | ${''.padEnd(15)}${derCell(c250)} | ${''.padEnd(10)}${derCell(c0)} | ${`${hypSpeakers}/${refSpeakers}`.padEnd(16)} | ` +
        `${mean(finalLagMs).toFixed(0)}/${Math.max(...finalLagMs).toFixed(0)} ms`,
    );
  }
  console.log(`${'AMI clips pooled'.padEnd(18)} | ${''.padEnd(15)}${derCell(pooled.ami.c250)} | ${''.padEnd(10)}${derCell(pooled.ami.c0)} |`);
  console.log(
    `${'all pooled'.padEnd(18)} | ${''.padEnd(15)}${derCell(pooled.all.c250)} | ${''.padEnd(10)}${derCell(pooled.all.c0)} | ${''.padEnd(16)} | ` +
      `${mean(lags).toFixed(0)}/${Math.max(...lags).toFixed(0)} ms`,
  );
  console.log('(all pooled: the four recordings; ami/returning re-uses dev00 and dev01 and is not pooled)');
  await engine.close();
}

/** 8 streams fed the same way; time per step of 8 windows, batched or one window per call. */
async function batchCost(maxBatchWindows: number, audio: Float32Array[], intraOpThreads: number): Promise<number> {
  const engine = await DiarizationEngine.create({ segmentationModelPath: MODEL_PATH, stepMs, latencyMs, maxBatchWindows, intraOpThreads, ...embedding });
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
  const all = recordings().slice(0, 4).map((r) => r.samples);
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
