/**
 * Scenario `peer`: our recognizer (CtcRecognizer) against sherpa-onnx-node's
 * OfflineRecognizer (NeMo CTC config) running the same model file on the
 * same utterances, in the same process, with the same onnxruntime thread
 * count. Three variants are timed, interleaved run by run so background load
 * hits them alike: ours one utterance per call, ours `batch` per call, and
 * sherpa-onnx one stream per decode (its Node API has no batched decode).
 * Throughput is audio seconds per wall second (median of the runs); the
 * ratio is ours / theirs. Agreement compares ours (one per call) with theirs
 * per utterance: identical text, identical token sequence.
 */
import { createRequire } from 'node:module';
import type { RecognitionResult } from '../engine/asr/batch-decoder.js';
import { CtcRecognizer } from '../engine/asr/recognizer.js';
import { resolveModel } from '../engine/models/resolve.js';
import { librispeechUtterances, syntheticUtterances } from './lib/corpus.js';
import type { ScenarioResult } from './lib/report.js';
import { percentile } from './lib/stats.js';

export interface PeerOptions {
  /** Registry name or folder; empty: the server's default (a pulled model, else the demo model). */
  model: string;
  synthetic: number;
  real: number;
  batch: number;
  threads: number;
  runs: number;
}

interface SherpaResult {
  text: string;
  tokens: string[];
}

interface SherpaRecognizer {
  createStream(): { acceptWaveform(w: { samples: Float32Array; sampleRate: number }): void };
  decode(stream: unknown): void;
  getResult(stream: unknown): SherpaResult;
}

function sherpaDecode(rec: SherpaRecognizer, audio: Float32Array): SherpaResult {
  const stream = rec.createStream();
  stream.acceptWaveform({ samples: audio, sampleRate: 16000 });
  rec.decode(stream);
  return rec.getResult(stream);
}

/** sherpa-onnx shows the word boundary ▁ as a space, so its text carries extra spaces. */
function sherpaText(r: SherpaResult): string {
  return r.text.trim().replace(/\s+/g, ' ');
}

async function timed<T>(fn: () => Promise<T> | T): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { seconds: (performance.now() - t0) / 1000, value };
}

async function oursInBatches(rec: CtcRecognizer, audio: Float32Array[], batch: number): Promise<RecognitionResult[]> {
  const out: RecognitionResult[] = [];
  for (let i = 0; i < audio.length; i += batch) out.push(...(await rec.recognizeBatch(audio.slice(i, i + batch))));
  return out;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function benchPeer(opts: PeerOptions): Promise<ScenarioResult> {
  const model = resolveModel(opts.model || undefined);
  const utts = [...syntheticUtterances(opts.synthetic), ...librispeechUtterances(opts.real)];
  const audio = utts.map((u) => u.audio);
  const audioS = audio.reduce((n, a) => n + a.length / 16000, 0);
  console.log(`${utts.length} utterances, ${audioS.toFixed(1)} s of audio, model ${model.modelPath}, ${opts.threads} thread(s)`);

  const ours = await CtcRecognizer.load({ modelPath: model.modelPath, tokensPath: model.tokensPath, name: model.name, numThreads: opts.threads });
  const sherpa = createRequire(import.meta.url)('sherpa-onnx-node') as { OfflineRecognizer: new (config: object) => SherpaRecognizer };
  const theirs = new sherpa.OfflineRecognizer({
    featConfig: { sampleRate: 16000, featureDim: 80 },
    modelConfig: { nemoCtc: { model: model.modelPath }, tokens: model.tokensPath, numThreads: opts.threads, provider: 'cpu', debug: 0 },
  });
  // Warm-up: first calls pay for allocations and lazy initialisation.
  await ours.recognizeBatch(audio.slice(0, Math.min(opts.batch, audio.length)));
  sherpaDecode(theirs, audio[0]);

  const seconds = { ours_batch1: [] as number[], ours_batched: [] as number[], sherpa: [] as number[] };
  let oursOne: RecognitionResult[] = [];
  let oursBatched: RecognitionResult[] = [];
  let theirsOut: SherpaResult[] = [];
  for (let run = 0; run < opts.runs; run++) {
    const a = await timed(() => oursInBatches(ours, audio, 1));
    const b = await timed(() => oursInBatches(ours, audio, opts.batch));
    const c = await timed(() => audio.map((x) => sherpaDecode(theirs, x)));
    seconds.ours_batch1.push(a.seconds);
    seconds.ours_batched.push(b.seconds);
    seconds.sherpa.push(c.seconds);
    [oursOne, oursBatched, theirsOut] = [a.value, b.value, c.value];
    console.log(`run ${run + 1}/${opts.runs}: ours b=1 ${a.seconds.toFixed(2)} s, ours b=${opts.batch} ${b.seconds.toFixed(2)} s, sherpa-onnx ${c.seconds.toFixed(2)} s`);
  }
  await ours.close();

  const throughput = (xs: number[]) => audioS / percentile(xs, 50);
  const theirsTput = throughput(seconds.sherpa);
  const rows = [
    { variant: 'ours, 1 per call', audio_s_per_s: round(throughput(seconds.ours_batch1), 1), ratio_vs_sherpa: round(throughput(seconds.ours_batch1) / theirsTput, 2) },
    { variant: `ours, ${opts.batch} per call`, audio_s_per_s: round(throughput(seconds.ours_batched), 1), ratio_vs_sherpa: round(throughput(seconds.ours_batched) / theirsTput, 2) },
    { variant: 'sherpa-onnx-node, 1 per decode', audio_s_per_s: round(theirsTput, 1), ratio_vs_sherpa: 1 },
  ];
  const sameText = oursOne.filter((r, i) => r.text === sherpaText(theirsOut[i])).length;
  const sameTokens = oursOne.filter((r, i) => JSON.stringify(r.tokens.map((t) => t.replace('\u2581', ' '))) === JSON.stringify(theirsOut[i].tokens)).length;
  const batchedSame = oursOne.filter((r, i) => r.text === oursBatched[i].text).length;
  const summary = {
    model: model.name,
    model_path: model.modelPath,
    utterances: utts.length,
    audio_s: round(audioS, 1),
    identical_text_pct: round((100 * sameText) / utts.length, 1),
    identical_tokens_pct: round((100 * sameTokens) / utts.length, 1),
    ours_batched_equals_batch1_pct: round((100 * batchedSame) / utts.length, 1),
    differing: oursOne.flatMap((r, i) => (r.text === sherpaText(theirsOut[i]) ? [] : [{ name: utts[i].name, ours: r.text, sherpa: sherpaText(theirsOut[i]) }])).slice(0, 10),
  };
  console.table(rows);
  console.log(`agreement with sherpa-onnx: identical text ${summary.identical_text_pct}%, identical tokens ${summary.identical_tokens_pct}% of ${utts.length} utterances`);
  return { rows, summary };
}
