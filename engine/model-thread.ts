/**
 * One ONNX model session on its own worker thread; the VAD and speaker
 * segmentation models each run on one. onnxruntime-node runs a session
 * synchronously on the calling thread (its `run` only defers the native call
 * with setImmediate), so a model called on the event loop stalls every
 * stream's socket I/O for the whole call. Here the event loop only posts the
 * inputs and takes the outputs back; the model computes beside it.
 * (The recognizer runs its model, features and search together on threads of
 * its own: asr/recognizer.ts.)
 */
// Imported here, on the main thread, for its telemetry switch: only the main
// thread's process.env is the process's environment, which onnxruntime reads
// (a worker's is its own copy), so set there it reaches every model thread.
import type { ModelFeeds, ModelOutputs, ort } from './onnx-runtime.js';
import './onnx-runtime.js';
import { WorkerRpc } from './worker-rpc.js';

export interface ModelThreadInit {
  modelBytes: Uint8Array;
  options: ort.InferenceSession.SessionOptions;
}

export interface ModelInfo {
  inputNames: string[];
  outputNames: string[];
}

const WORKER_ENTRY = new URL('./model-thread-worker.ts', import.meta.url).href;

export class ModelThread {
  private constructor(private readonly rpc: WorkerRpc<ModelFeeds, ModelOutputs, ModelInfo>) {}

  /** Creates the session on a new thread; rejects with onnxruntime's message if it cannot. */
  static async start(init: ModelThreadInit): Promise<ModelThread> {
    return new ModelThread(await WorkerRpc.start<ModelFeeds, ModelOutputs, ModelInfo>(WORKER_ENTRY, init, 'model thread'));
  }

  get inputNames(): string[] {
    return this.rpc.info.inputNames;
  }

  get outputNames(): string[] {
    return this.rpc.info.outputNames;
  }

  /** Runs the model once: its outputs by name. Inputs' buffers are handed over to the thread (do not reuse them). */
  run(feeds: ModelFeeds): Promise<ModelOutputs> {
    return this.rpc.call(feeds, [...new Set(Object.values(feeds).map((f) => f.data.buffer as ArrayBuffer))]);
  }

  /** Releases the session and ends the thread once calls in flight are answered. */
  close(): Promise<void> {
    return this.rpc.close();
  }
}
