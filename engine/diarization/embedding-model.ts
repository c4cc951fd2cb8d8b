/**
 * A speaker-embedding ONNX model as the diarization engine's SpeakerEmbedder:
 * the model, its features and its batches run on a worker thread
 * (embedding-worker.ts); the event loop only posts the speech and takes the
 * vectors back. The model's input contract comes from its metadata
 * (embedding-contract.ts); a file that is not a model, or a model without a
 * contract the engine knows, fails `load` with the reason, before any
 * session starts.
 */
import { readFile } from 'node:fs/promises';
import { WorkerRpc } from '../worker-rpc.js';
import type { SpeakerEmbedder } from './embedding.js';
import type { EmbeddingContract } from './embedding-contract.js';
import type { EmbeddingReply, EmbeddingRequest, EmbeddingWorkerInit } from './embedding-worker.js';

const WORKER_ENTRY = new URL('./embedding-worker.ts', import.meta.url).href;

export class SpeakerEmbeddingModel implements SpeakerEmbedder {
  private constructor(private readonly rpc: WorkerRpc<EmbeddingRequest, EmbeddingReply, EmbeddingContract>) {}

  /** @param intraOpThreads CPU threads for one call (0: one per core). */
  static async load(modelPath: string, intraOpThreads = 0): Promise<SpeakerEmbeddingModel> {
    let modelBytes: Uint8Array;
    try {
      modelBytes = await readFile(modelPath);
    } catch (err) {
      throw new Error(`speaker embedding model ${modelPath}: ${(err as Error).message}`);
    }
    const init: EmbeddingWorkerInit = { modelBytes, modelPath, intraOpThreads };
    try {
      return new SpeakerEmbeddingModel(await WorkerRpc.start(WORKER_ENTRY, init, 'speaker embedding thread'));
    } catch (err) {
      throw new Error(`speaker embedding model ${modelPath}: ${(err as Error).message}`);
    }
  }

  get contract(): EmbeddingContract {
    return this.rpc.info;
  }

  async embed(speech16k: Float32Array[]): Promise<Float32Array[]> {
    if (speech16k.length === 0) return [];
    const ends: number[] = [];
    let total = 0;
    for (const s of speech16k) ends.push((total += s.length));
    const samples = new Float32Array(total);
    speech16k.forEach((s, i) => samples.set(s, i === 0 ? 0 : ends[i - 1]));
    const { vectors, dim } = await this.rpc.call({ samples, ends }, [samples.buffer]);
    return speech16k.map((_, i) => vectors.slice(i * dim, (i + 1) * dim));
  }

  close(): Promise<void> {
    return this.rpc.close();
  }
}
