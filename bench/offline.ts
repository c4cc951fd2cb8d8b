/**
 * Scenario `offline`: the recognizer alone. The same 64 utterances of mixed
 * lengths decoded in batches of 1, 4, 16 and 64 (default): utterances per second,
 * audio seconds per wall second and real-time factor, median of 3 runs.
 * A streaming model is measured the way it serves: the utterances' windows
 * go through the chunk scheduler on one thread, at most B windows per model
 * call (the mean batch it reached is printed; 128 windows need 128 streams,
 * so it runs max(64, B) utterances); audio seconds per wall second and
 * real-time factor count the windows and the greedy path, not finals.
 *
 * Plot: throughput (audio seconds per wall second) against batch size.
 */
import { CtcRecognizer } from '../engine/asr/recognizer.js';
import { isStreamingModelFile, StreamingRecognizer } from '../engine/asr/streaming-recognizer.js';
import { ChunkScheduler } from '../engine/chunk-scheduler.js';
import { resolveModel, type ResolvedModel } from '../engine/models/resolve.js';
import { syntheticUtterances } from './lib/corpus.js';
import type { ScenarioResult } from './lib/report.js';
import { percentile } from './lib/stats.js';
import { lineChart } from './lib/svg.js';

export interface OfflineOptions {
  /** Registry name or folder; empty: the server's default (a pulled model, else the demo model). */
  model: string;
  batchSizes: number[];
  /** onnxruntime intra-op threads (0 = all cores). */
  threads: number;
}

export async function benchOffline(opts: OfflineOptions): Promise<ScenarioResult> {
  const model = resolveModel(opts.model || undefined);
  if (isStreamingModelFile(model.modelPath)) return benchChunked(opts, model);
  const rec = await CtcRecognizer.load({ modelPath: model.modelPath, tokensPath: model.tokensPath, name: model.name, numThreads: opts.threads });
  const utts = syntheticUtterances(64).map((u) => u.audio);
  const audioS = utts.reduce((n, u) => n + u.length / 16000, 0);
  await rec.recognizeBatch(utts.slice(0, 4)); // warm-up
  const rows: Array<{ batch: number; utterances_per_s: number; audio_s_per_s: number; rtf: number }> = [];
  for (const b of opts.batchSizes) {
    const times: number[] = [];
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      for (let i = 0; i < utts.length; i += b) await rec.recognizeBatch(utts.slice(i, i + b));
      times.push((performance.now() - t0) / 1000);
    }
    const s = percentile(times, 50);
    const row = { batch: b, utterances_per_s: Math.round((utts.length / s) * 10) / 10, audio_s_per_s: Math.round((audioS / s) * 10) / 10, rtf: Math.round((s / audioS) * 10000) / 10000 };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  console.table(rows);
  await rec.close();
  const chartSvg = lineChart({
    title: `offline: recognizer throughput vs batch size (${rec.name})`,
    xLabel: 'utterances per model call',
    yLabel: 'audio seconds per wall second',
    logX: true,
    series: [{ name: 'throughput', points: rows.map((r) => [r.batch, r.audio_s_per_s]) }],
  });
  return { rows, summary: { model: model.name, model_path: model.modelPath, utterances: utts.length, audio_s: Math.round(audioS * 10) / 10 }, chartSvg };
}

async function benchChunked(opts: OfflineOptions, model: ResolvedModel): Promise<ScenarioResult> {
  const rec = await StreamingRecognizer.load({ modelPath: model.modelPath, tokensPath: model.tokensPath, name: model.name, numThreads: opts.threads, threads: 1 });
  const count = Math.max(64, ...opts.batchSizes);
  const utts = syntheticUtterances(count).map((u) => u.audio);
  const audioS = utts.reduce((n, u) => n + u.length / 16000, 0);
  /** Every utterance's windows through a scheduler of at most `maxBatch` windows per call: seconds, calls and windows. */
  const run = async (maxBatch: number) => {
    const calls: number[] = [];
    const scheduler = new ChunkScheduler(rec, maxBatch, { onBatch: (size) => calls.push(size), onPartialDropped() {} });
    const t0 = performance.now();
    for (const u of utts) scheduler.open(() => {}).accept(u);
    await scheduler.drain();
    return { seconds: (performance.now() - t0) / 1000, calls: calls.length, windows: calls.reduce((a, b) => a + b, 0) };
  };
  await run(8); // warm-up
  const rows: Array<{ batch: number; mean_batch: number; windows_per_s: number; audio_s_per_s: number; rtf: number }> = [];
  for (const b of opts.batchSizes) {
    const runs = [await run(b), await run(b), await run(b)];
    const s = percentile(runs.map((r) => r.seconds), 50);
    const { calls, windows } = runs[0];
    const row = { batch: b, mean_batch: Math.round((windows / calls) * 10) / 10, windows_per_s: Math.round(windows / s), audio_s_per_s: Math.round((audioS / s) * 10) / 10, rtf: Math.round((s / audioS) * 10000) / 10000 };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  console.table(rows);
  await rec.close();
  const chartSvg = lineChart({
    title: `offline: chunked streaming throughput vs batch size (${rec.name}, ${rec.chunkMs} ms chunks)`,
    xLabel: 'windows per model call (at most)',
    yLabel: 'audio seconds per wall second',
    logX: true,
    series: [{ name: 'throughput', points: rows.map((r) => [r.batch, r.audio_s_per_s]) }],
  });
  return { rows, summary: { model: model.name, model_path: model.modelPath, streaming_chunk_ms: rec.chunkMs, utterances: utts.length, audio_s: Math.round(audioS * 10) / 10 }, chartSvg };
}
