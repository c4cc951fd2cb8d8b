import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelThread } from '../engine/model-thread.js';
import type { ModelInput } from '../engine/onnx-runtime.js';
import { NUM_MEL_BINS } from '../engine/asr/fbank.js';
import { DEMO_MODEL_DIR } from '../engine/models/resolve.js';
import { sharedPath } from '../testkit/paths.js';

const modelBytes = readFileSync(path.join(DEMO_MODEL_DIR, 'model.onnx'));
const options = { executionProviders: ['cpu'], intraOpNumThreads: 1 };

/** Deterministic feature-like input: `batch` utterances of `frames` frames. */
function features(batch: number, frames: number): Record<string, ModelInput> {
  const data = new Float32Array(batch * NUM_MEL_BINS * frames);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 2;
  return {
    features: { type: 'float32', data, dims: [batch, NUM_MEL_BINS, frames] },
    features_length: { type: 'int64', data: new BigInt64Array(batch).fill(BigInt(frames)), dims: [batch] },
  };
}

describe('model thread', () => {
  let model: ModelThread;
  beforeAll(async () => {
    model = await ModelThread.start({ modelBytes, options });
  });
  afterAll(async () => {
    await model.close();
  });

  it('reports the session input and output names', () => {
    expect(model.inputNames).toEqual(['features', 'features_length']);
    expect(model.outputNames).toEqual(['log_probs']);
  });

  it('runs the model and gives the same output for the same input', async () => {
    const a = (await model.run(features(2, 300))).log_probs;
    const b = (await model.run(features(2, 300))).log_probs;
    expect(a.dims).toEqual([2, 150, 29]);
    expect(a.data.length).toBe(2 * 150 * 29);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  it('leaves the event loop free while the model computes', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    // ~30 s of features in 8 utterances: a call of a few hundred ms on one thread.
    await model.run(features(8, 3000));
    const callMs = performance.now() - started;
    clearInterval(timer);
    // On the event loop, a synchronous model call lets a 1 ms timer fire at most once or twice.
    console.log(`model call ${callMs.toFixed(0)} ms, 1 ms timer fired ${ticks} times meanwhile`);
    expect(ticks).toBeGreaterThanOrEqual(5);
  });

  it("rejects a call the model refuses with onnxruntime's message and keeps serving", async () => {
    const bad = features(1, 100);
    bad.features.dims = [1, 40, 200];
    await expect(model.run(bad)).rejects.toThrow(/features|dimension|shape|Got/i);
    const ok = await model.run(features(1, 100));
    expect(ok.log_probs.dims).toEqual([1, 50, 29]);
  });
});

describe('model thread with several outputs', () => {
  it('hands back every output by name (Silero VAD v5: speech probability and next state)', async () => {
    const vad = await ModelThread.start({ modelBytes: readFileSync(sharedPath('models/silero-vad-v5/silero_vad.onnx')), options });
    try {
      expect(vad.outputNames.sort()).toEqual(['output', 'stateN']);
      const run = () =>
        vad.run({
          input: { type: 'float32', data: new Float32Array(2 * 576), dims: [2, 576] },
          state: { type: 'float32', data: new Float32Array(2 * 2 * 128), dims: [2, 2, 128] },
          sr: { type: 'int64', data: BigInt64Array.from([16000n]), dims: [] },
        });
      const out = await run();
      expect(out.output.dims).toEqual([2, 1]);
      expect(out.stateN.dims).toEqual([2, 2, 128]);
      // Silence is not speech; the same input gives the same next state.
      expect(Math.max(...out.output.data)).toBeLessThan(0.1);
      expect(out.stateN.data.length).toBe(512);
      expect(Array.from((await run()).stateN.data)).toEqual(Array.from(out.stateN.data));
    } finally {
      await vad.close();
    }
  });
});

describe('model thread lifecycle', () => {
  it('answers calls posted before close, then refuses new ones', async () => {
    const model = await ModelThread.start({ modelBytes, options });
    const inFlight = model.run(features(1, 200));
    const closed = model.close();
    await expect(inFlight).resolves.toMatchObject({ log_probs: { dims: [1, 100, 29] } });
    await closed;
    await expect(model.run(features(1, 200))).rejects.toThrow('model thread closed');
  });

  it('rejects bytes that are not a model with a clear message', async () => {
    await expect(ModelThread.start({ modelBytes: new Uint8Array([1, 2, 3, 4]), options })).rejects.toThrow(/protobuf|model|parse/i);
  });
});
