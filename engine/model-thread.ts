/**
 * One ONNX model session on its own worker thread; the engine's models (speech,
 * VAD, speaker segmentation) each run on one. onnxruntime-node runs a session
 * synchronously on the calling thread (its `run` only defers the native call
 * with setImmediate), so a model called on the event loop stalls every
 * stream's socket I/O, features and beam search for the whole call. Here the
 * event loop only posts the inputs and takes the outputs back; the model
 * computes beside it (bench/README.md, streams).
 *
 * The worker (model-thread-worker.ts) is TypeScript: it is started through
 * tsx's API, so it runs the same under `tsx`, `node --import tsx` and vitest.
 */
import { Worker } from 'node:worker_threads';
// Imported here, on the main thread, for its telemetry switch: only the main
// thread's process.env is the process's environment, which onnxruntime reads
// (a worker's is its own copy), so set there it reaches every model thread.
import type { ort } from './onnx-runtime.js';
import './onnx-runtime.js';

export interface ModelInput {
  type: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
  dims: number[];
}

/** One output of the session (float32: every output of the engine's models is). */
export interface ModelOutput {
  data: Float32Array;
  dims: number[];
}

export interface ModelThreadInit {
  modelBytes: Uint8Array;
  options: ort.InferenceSession.SessionOptions;
}

export type ModelRequest = { kind: 'run'; id: number; feeds: Record<string, ModelInput> } | { kind: 'close' };

export type ModelReply =
  | { kind: 'ready'; inputNames: string[]; outputNames: string[] }
  | { kind: 'failed'; message: string }
  | { kind: 'output'; id: number; outputs: Record<string, ModelOutput> }
  | { kind: 'error'; id: number; message: string };

const WORKER_ENTRY = new URL('./model-thread-worker.ts', import.meta.url).href;

interface Pending {
  resolve: (outputs: Record<string, ModelOutput>) => void;
  reject: (err: Error) => void;
}

export class ModelThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Set once the worker is gone: every later call fails with it. */
  private stopped: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: string[],
    readonly outputNames: string[],
  ) {
    worker.on('message', (reply: ModelReply) => this.onReply(reply));
    worker.on('error', (err) => this.stop(new Error(`model thread failed: ${err.message}`)));
    worker.on('exit', (code) => this.stop(new Error(`model thread exited (code ${code})`)));
    // Idle, the thread must not keep the process alive; a call in flight must.
    worker.unref();
  }

  /** Creates the session on a new thread; rejects with onnxruntime's message if it cannot. */
  static async start(init: ModelThreadInit): Promise<ModelThread> {
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.tsImport(${JSON.stringify(WORKER_ENTRY)}, ${JSON.stringify(WORKER_ENTRY)}))`;
    const worker = new Worker(boot, { eval: true, workerData: init });
    let onMessage!: (reply: ModelReply) => void;
    let onError!: (err: Error) => void;
    let onExit!: (code: number) => void;
    const first = await new Promise<ModelReply>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`model thread exited (code ${code}) before its session was ready`));
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
    // Only our own listeners: the Worker keeps internal ones of its own.
    worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    if (first.kind !== 'ready') {
      await worker.terminate();
      throw new Error(first.kind === 'failed' ? first.message : `model thread sent ${first.kind} before ready`);
    }
    return new ModelThread(worker, first.inputNames, first.outputNames);
  }

  /** Runs the model once: its outputs by name. Inputs' buffers are handed over to the thread (do not reuse them). */
  run(feeds: Record<string, ModelInput>): Promise<Record<string, ModelOutput>> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    const request: ModelRequest = { kind: 'run', id, feeds };
    // Posted first: inputs that cannot be sent throw here, before anything is pending.
    this.worker.postMessage(request, [...new Set(Object.values(feeds).map((f) => f.data.buffer as ArrayBuffer))]);
    return new Promise<Record<string, ModelOutput>>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
    });
  }

  /** Releases the session and ends the thread once calls in flight are answered. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = new Error('model thread closed');
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.ref();
    const request: ModelRequest = { kind: 'close' };
    this.worker.postMessage(request);
    await exited;
  }

  private onReply(reply: ModelReply): void {
    if (reply.kind !== 'output' && reply.kind !== 'error') return;
    const call = this.pending.get(reply.id);
    if (!call) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.kind === 'output') call.resolve(reply.outputs);
    else call.reject(new Error(reply.message));
  }

  private stop(reason: Error): void {
    this.stopped ??= reason;
    for (const call of this.pending.values()) call.reject(this.stopped);
    this.pending.clear();
  }
}
