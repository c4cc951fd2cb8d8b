/**
 * The recognition scheduler's order and batch sizes, on the real demo model:
 * finals first, then a segment's first partials, then partials by growth, and
 * no call holding more audio than `maxBatchAudioMs`, so a final that arrives
 * while the recognizer is busy waits for a short call only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtcRecognizer } from '../engine/asr/recognizer.js';
import { SAMPLES_PER_MS } from '../engine/audio/format.js';
import { resolveModel } from '../engine/models/resolve.js';
import { RecognitionScheduler, type BatchRecognizer } from '../engine/scheduler.js';
import { DEFAULT_CONFIG } from '../server/config.js';
import { concat, synthesize } from '../testkit/speech.js';
import { SENTENCES } from '../testkit/speech-plan.js';

let recognizer: CtcRecognizer;
/** Each model call, as its jobs: "final 3000" is a final of 3000 ms of audio. */
let calls: string[][];
let recording: BatchRecognizer;
let speech: Float32Array;

/** `ms` of speech (the sentence repeated as needed). */
function speechOf(ms: number): Float32Array {
  let audio = speech;
  while (audio.length < ms * SAMPLES_PER_MS) audio = concat(audio, speech);
  return audio.slice(0, ms * SAMPLES_PER_MS);
}

beforeAll(async () => {
  const model = resolveModel(DEFAULT_CONFIG.model || undefined, { log: () => {} });
  recognizer = await CtcRecognizer.load({ modelPath: model.modelPath, tokensPath: model.tokensPath, numThreads: 1 });
  speech = synthesize(SENTENCES[0]);
  recording = {
    parallelism: 1,
    recognizeBatch(utterances, partial, keyterms) {
      calls.push(utterances.map((u, i) => `${partial[i] ? 'partial' : 'final'} ${u.length / SAMPLES_PER_MS}`));
      return recognizer.recognizeBatch(utterances, partial, keyterms);
    },
  };
});

afterAll(async () => {
  await recognizer.close();
});

describe('RecognitionScheduler', () => {
  it('serves finals, then first partials, then partials by growth, in calls of at most maxBatchAudioMs of audio', async () => {
    calls = [];
    const scheduler = new RecognitionScheduler(recording, { maxBatch: 16, maxBatchAudioMs: 4000 });
    // Queued in one tick, so the first call chooses among all of them.
    const results = await Promise.all([
      scheduler.partial('grown', speechOf(2000), 2000 * SAMPLES_PER_MS),
      scheduler.partial('older-grown-less', speechOf(1500), 300 * SAMPLES_PER_MS),
      scheduler.partial('first', speechOf(1000), 1000 * SAMPLES_PER_MS, true),
      scheduler.final('a', speechOf(3000)),
      scheduler.final('b', speechOf(3000)),
    ]);
    expect(calls).toEqual([
      // 6 s of finals would exceed 4 s: the second final waits for the next call, and no partial joins the first.
      ['final 3000'],
      ['final 3000', 'partial 1000'],
      // Growth, not age, orders the rest: 3.5 s fits in one call.
      ['partial 2000', 'partial 1500'],
    ]);
    for (const r of results) expect(r?.text).not.toBe('');
  });

  it('still decodes a single job longer than maxBatchAudioMs, alone', async () => {
    calls = [];
    const scheduler = new RecognitionScheduler(recording, { maxBatch: 16, maxBatchAudioMs: 1000 });
    const [long, short] = await Promise.all([scheduler.final('long', speechOf(5000)), scheduler.final('short', speechOf(800))]);
    expect(calls).toEqual([['final 5000'], ['final 800']]);
    expect(long.text).not.toBe('');
    expect(short.text).not.toBe('');
  });

  it('takes a final decoded ahead when the final comes with the same audio: one model call', async () => {
    calls = [];
    const outcomes: string[] = [];
    const scheduler = new RecognitionScheduler(recording, {}, { onBatch() {}, onPartialDropped() {}, onFinalAhead: (o) => outcomes.push(o) });
    const audio = speechOf(2000);
    scheduler.finalAhead('s', audio);
    await scheduler.drain();
    const final = await scheduler.final('s', audio.slice());
    expect(calls).toEqual([['final 2000']]);
    expect(outcomes).toEqual(['used']);
    expect(final.text).toBe((await recognizer.recognizeBatch([audio]))[0].text);
  });

  it('decodes the final again when the segment grew after its final was decoded ahead, and drops one still queued', async () => {
    calls = [];
    const outcomes: string[] = [];
    const scheduler = new RecognitionScheduler(recording, {}, { onBatch() {}, onPartialDropped() {}, onFinalAhead: (o) => outcomes.push(o) });
    // Decoded ahead, then the segment grew: the final decodes the longer audio.
    scheduler.finalAhead('grew', speechOf(1000));
    await scheduler.drain();
    await scheduler.final('grew', speechOf(1500));
    // Cancelled in the same tick it was queued: never decoded.
    scheduler.finalAhead('resumed', speechOf(800));
    scheduler.cancelFinalAhead('resumed');
    await scheduler.drain();
    expect(calls).toEqual([['final 1000'], ['final 1500']]);
    expect(outcomes).toEqual(['wasted', 'cancelled']);
  });

  it('batches jobs that fit together into one call', async () => {
    calls = [];
    const scheduler = new RecognitionScheduler(recording, { maxBatch: 3, maxBatchAudioMs: 8000 });
    await Promise.all([1, 2, 3, 4].map((i) => scheduler.partial(`p${i}`, speechOf(1000), 1000 * SAMPLES_PER_MS)));
    expect(calls).toEqual([['partial 1000', 'partial 1000', 'partial 1000'], ['partial 1000']]);
  });
});
