/**
 * The streaming path against its peer and itself: sherpa-onnx-node's
 * OnlineRecognizer runs the same streaming model file on the same audio
 * (plus 0.4 s of zeros) and must give the same greedy tokens as our chunk
 * scheduler; and decoding many segments' windows in one batched call must
 * give the same tokens as decoding them one at a time. A final decoded ahead
 * and taken back (speech went on) leaves no trace in the segment's final.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamingRecognizer } from '../engine/asr/streaming-recognizer.js';
import { ChunkScheduler } from '../engine/chunk-scheduler.js';
import { DEMO_STREAMING_MODEL_DIR } from '../engine/models/resolve.js';
import { PROJECT_ROOT } from '../testkit/paths.js';
import { synthesize, type Voice } from '../testkit/speech.js';

const MODEL_DIR = process.env.STREAMING_MODEL_DIR ?? DEMO_STREAMING_MODEL_DIR;
const UTTERANCES = 16;
const TAIL_SAMPLES = 6_400; // 0.4 s of zeros, as sherpa-onnx's examples feed

const heldout = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'tests/fixtures/heldout-sentences.json'), 'utf8')) as {
  items: Array<{ text: string } & Voice>;
};

let recognizer: StreamingRecognizer;
let audio: Float32Array[];

beforeAll(async () => {
  recognizer = await StreamingRecognizer.load({ modelPath: path.join(MODEL_DIR, 'model.onnx'), tokensPath: path.join(MODEL_DIR, 'tokens.txt'), numThreads: 1, threads: 2 });
  audio = heldout.items.slice(0, UTTERANCES).map((it) => {
    const speech = synthesize(it.text, it);
    const padded = new Float32Array(speech.length + TAIL_SAMPLES);
    padded.set(speech);
    return padded;
  });
});

afterAll(() => recognizer?.close());

/** Greedy tokens of each utterance through our chunk scheduler, `maxBatch` windows per call at most. */
async function ourTokens(maxBatch: number): Promise<{ tokens: string[][]; calls: number[] }> {
  const calls: number[] = [];
  const scheduler = new ChunkScheduler(recognizer, maxBatch, { onBatch: (size) => calls.push(size), onPartialDropped() {} });
  const segments = audio.map(() => scheduler.open(() => {}));
  segments.forEach((s, i) => s.accept(audio[i]));
  await scheduler.drain();
  return { tokens: segments.map((s) => s.carry.hyp.tokenIds.map((id) => recognizer.symbols[id])), calls };
}

describe('streaming model', () => {
  it('gives the same greedy tokens as sherpa-onnx-node OnlineRecognizer (same file, same audio + 0.4 s of zeros)', async () => {
    const sherpa = createRequire(import.meta.url)('sherpa-onnx-node');
    const peer = new sherpa.OnlineRecognizer({
      featConfig: { sampleRate: 16000, featureDim: 80 },
      modelConfig: { nemoCtc: { model: path.join(MODEL_DIR, 'model.onnx') }, tokens: path.join(MODEL_DIR, 'tokens.txt'), numThreads: 1, provider: 'cpu', debug: 0 },
      decodingMethod: 'greedy_search',
    });
    const streams = audio.map((a) => {
      const s = peer.createStream();
      s.acceptWaveform({ samples: a, sampleRate: 16000 });
      return s;
    });
    // sherpa-onnx's batched call, as its servers use it: every ready stream at once.
    for (let ready = streams.filter((s) => peer.isReady(s)); ready.length > 0; ready = streams.filter((s) => peer.isReady(s))) peer.decodeStreams(ready);
    const theirs = streams.map((s) => (peer.getResult(s) as { tokens: string[] }).tokens);
    const ours = (await ourTokens(64)).tokens;
    let words = 0;
    for (let i = 0; i < UTTERANCES; i++) {
      // sherpa-onnx shows the word boundary ▁ as a space.
      expect(ours[i].map((t) => t.replace('\u2581', ' ')), `utterance ${i}`).toEqual(theirs[i]);
      words += ours[i].filter((t) => t === '\u2581').length;
    }
    console.log(`${UTTERANCES} utterances, ${ours.flat().length} tokens (${words} word starts): identical to sherpa-onnx-node`);
    expect(ours.flat().length).toBeGreaterThan(UTTERANCES * 10);
  });

  it('decodes the same tokens batched as one window at a time', async () => {
    const batched = await ourTokens(64);
    const single = await ourTokens(1);
    expect(Math.max(...batched.calls)).toBeGreaterThan(1);
    expect(Math.max(...single.calls)).toBe(1);
    expect(batched.tokens).toEqual(single.tokens);
    console.log(`batched: ${batched.calls.length} calls (mean ${(batched.calls.reduce((a, b) => a + b, 0) / batched.calls.length).toFixed(1)} windows); one at a time: ${single.calls.length} calls`);
  });
});

describe('a final decoded ahead, then taken back', () => {
  it('leaves the segment as if it had never ended', async () => {
    const scheduler = new ChunkScheduler(recognizer);
    const [first, second] = [audio[0].subarray(0, audio[0].length - TAIL_SAMPLES), audio[1]];
    const straight = scheduler.open(() => {});
    straight.accept(first);
    straight.accept(second);
    const expected = await straight.finish();

    const resumed = scheduler.open(() => {});
    resumed.accept(first);
    const ahead = resumed.finish();
    // Let its padding windows and search start, then speech goes on.
    await new Promise((r) => setTimeout(r, 5));
    resumed.resume();
    resumed.accept(second);
    const final = await resumed.finish();
    expect(final.text.length).toBeGreaterThan(10);
    expect(final).toEqual(expected);
    expect(resumed.carry).toEqual(straight.carry);
    // The ahead result is never settled once taken back: it neither resolves nor rejects.
    expect(await Promise.race([ahead.then(() => 'settled', () => 'settled'), new Promise((r) => setTimeout(() => r('pending'), 50))])).toBe('pending');
  });
});
