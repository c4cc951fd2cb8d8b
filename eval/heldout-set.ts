/**
 * Evaluation: the demo model's held-out set as `synth.py heldout N` writes it
 * (heldout.jsonl and its WAVs: held-out sentences in held-out voices): making
 * it, reading it and transcribing it in batches. Shared by
 * tests/heldout-set.test.ts and bench/heldout.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CtcRecognizer } from '../engine/asr/recognizer.js';
import type { StreamingRecognizer } from '../engine/asr/streaming-recognizer.js';
import { ChunkScheduler } from '../engine/chunk-scheduler.js';
import { DEFAULT_SCHEDULER_OPTIONS } from '../engine/scheduler.js';
import { PROJECT_ROOT } from '../testkit/paths.js';
import { readAudio16k } from '../testkit/speech.js';

export interface HeldoutItem {
  wav: string;
  text: string;
  engine: string;
  voice: string;
}

export const HELDOUT_SET_SIZE = 300;

/** Speaks the committed held-out sentences (tools/train-demo-model/heldout-texts.txt) into `dir`. */
export function makeHeldoutSet(dir: string, size = HELDOUT_SET_SIZE): void {
  const synth = path.join(PROJECT_ROOT, 'tools/train-demo-model/synth.py');
  const run = spawnSync('python3', [synth, 'heldout', String(size)], { env: { ...process.env, SYNTH_WORK: dir }, encoding: 'utf8', timeout: 600_000 });
  if (run.status !== 0) throw new Error(`synth.py heldout ${size} failed (${run.error?.message ?? `exit ${run.status}`}): ${run.stderr}`);
}

export function readHeldoutSet(dir: string): { items: HeldoutItem[]; audio: Float32Array[] } {
  const list = path.join(dir, 'heldout.jsonl');
  if (!existsSync(list)) throw new Error(`${list} not found: make the held-out set first (cd tools/train-demo-model && python3 synth.py heldout ${HELDOUT_SET_SIZE})`);
  const items = readFileSync(list, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as HeldoutItem);
  return { items, audio: items.map((it) => readAudio16k(path.join(dir, it.wav))) };
}

/**
 * Texts for all of `audio`, as many utterances to a model call as the
 * server's scheduler takes. A streaming model's texts are its finals, made
 * as the server makes them: each utterance's windows through the chunk
 * scheduler (all utterances at once, batched), then its end and search.
 */
export async function transcribeAll(recognizer: CtcRecognizer | StreamingRecognizer, audio: Float32Array[]): Promise<string[]> {
  if ('decodeChunks' in recognizer) {
    const scheduler = new ChunkScheduler(recognizer);
    const finals = audio.map((a) => {
      const segment = scheduler.open(() => {});
      segment.accept(a);
      return segment.finish();
    });
    return (await Promise.all(finals)).map((r) => r.text);
  }
  const { maxBatch } = DEFAULT_SCHEDULER_OPTIONS;
  const texts: string[] = [];
  for (let i = 0; i < audio.length; i += maxBatch) texts.push(...(await recognizer.recognizeBatch(audio.slice(i, i + maxBatch))).map((r) => r.text));
  return texts;
}
