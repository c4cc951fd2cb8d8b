/**
 * The batched recognizer for streaming models in sherpa-onnx's online NeMo
 * CTC contract (streaming-model.ts): each call decodes the next window of
 * several streams at once, their states stacked into one batch, like
 * sherpa-onnx's `DecodeStreams`; a final searches the log-probabilities a
 * segment gathered. The model and the search run on recognizer threads
 * (streaming-worker.ts); the event loop posts windows and states and takes
 * log-probabilities and next states back.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ort } from '../onnx-runtime.js';
import type { ModelInfo } from '../model-thread.js';
import type { WorkerRpc } from '../worker-rpc.js';
import type { Keyterms } from './context-graph.js';
import type { RecognitionResult, SearchSpec } from './ctc-search.js';
import { FRAME_SHIFT_MS } from './fbank.js';
import { leastBusy, recognizerSetup, startThreads, type RecognizerOptions } from './recognizer.js';
import { readOnnxMetadata } from './onnx-metadata.js';
import { isStreamingModel, outputFramesPerChunk, streamingSpecOf, type StreamState, type StreamingModelSpec } from './streaming-model.js';
import type { TokenTable } from './tokens.js';

/** What a streaming recognizer thread is started with. */
export interface StreamingThreadInit {
  modelPath: string;
  options: ort.InferenceSession.SessionOptions;
  search: SearchSpec;
  model: StreamingModelSpec;
}

/** A stream's next window: the samples its frames need, from sample `sliceStart` of the segment, and its state. */
export interface ChunkWindow {
  samples: Float32Array;
  sliceStart: number;
  /** The window's first feature frame. */
  firstFrame: number;
  state: StreamState;
}

export type StreamingRequest =
  | { kind: 'chunks'; windows: ChunkWindow[] }
  | { kind: 'final'; logProbs: Float32Array; frames: number; keyterms?: Keyterms };

export type StreamingReply =
  /** logProbs: [B, framesPerChunk, vocab]. */
  | { kind: 'chunks'; logProbs: Float32Array; states: StreamState[] }
  | { kind: 'final'; result: RecognitionResult };

/** Whether the ONNX file at `modelPath` is a streaming model (its metadata says so), which this recognizer serves; otherwise the offline one does. */
export function isStreamingModelFile(modelPath: string): boolean {
  return isStreamingModel(readOnnxMetadata(readFileSync(modelPath)));
}

type StreamingThread = WorkerRpc<StreamingRequest, StreamingReply, ModelInfo>;

const WORKER_ENTRY = new URL('./streaming-worker.ts', import.meta.url).href;
const INPUTS = 5;
const OUTPUTS = 5;

export class StreamingRecognizer {
  private constructor(
    private readonly threads: StreamingThread[],
    readonly name: string,
    readonly spec: StreamingModelSpec,
    readonly tokens: TokenTable,
  ) {}

  static async load(opts: RecognizerOptions): Promise<StreamingRecognizer> {
    const { tokens, meta, options, search } = await recognizerSetup(opts);
    const spec = streamingSpecOf(meta, opts.modelPath);
    if (spec.vocabSize !== tokens.symbols.length) {
      throw new Error(`${opts.modelPath}: metadata vocab_size ${meta.vocab_size} (+1 blank) != ${tokens.symbols.length} tokens in ${opts.tokensPath}`);
    }
    const init: StreamingThreadInit = { modelPath: opts.modelPath, options, search, model: spec };
    const threads = await startThreads<StreamingRequest, StreamingReply, ModelInfo>(WORKER_ENTRY, init, opts.threads ?? 1, 'streaming recognizer thread');
    const { inputNames, outputNames } = threads[0].info;
    if (inputNames.length !== INPUTS || outputNames.length !== OUTPUTS) {
      await Promise.all(threads.map((t) => t.close()));
      throw new Error(`${opts.modelPath}: a streaming model takes ${INPUTS} inputs and gives ${OUTPUTS} outputs (features, length and three caches); it has ${inputNames.length} and ${outputNames.length}`);
    }
    return new StreamingRecognizer(threads, opts.name ?? path.basename(path.dirname(opts.modelPath)), spec, tokens);
  }

  /** The model's token symbols (tokens.txt), by id. */
  get symbols(): readonly string[] {
    return this.tokens.symbols;
  }

  /** Milliseconds per output frame. */
  get outputFrameMs(): number {
    return FRAME_SHIFT_MS * this.spec.subsamplingFactor;
  }

  /** Milliseconds of audio each window advances a stream. */
  get chunkMs(): number {
    return FRAME_SHIFT_MS * this.spec.shiftFrames;
  }

  /** Calls that can run at once: one per recognizer thread. */
  get parallelism(): number {
    return this.threads.length;
  }

  /**
   * One model call over the next window of each stream in `windows`
   * (copied to the least busy thread): per stream, its output frames
   * ([framesPerChunk, vocab]) and its next state.
   */
  async decodeChunks(windows: ChunkWindow[]): Promise<{ logProbs: Float32Array[]; states: StreamState[] }> {
    const reply = await leastBusy(this.threads).call({ kind: 'chunks', windows });
    if (reply.kind !== 'chunks') throw new Error('streaming recognizer thread answered a chunks call with a final');
    const rowFloats = outputFramesPerChunk(this.spec) * this.spec.vocabSize;
    return { logProbs: windows.map((_, b) => reply.logProbs.subarray(b * rowFloats, (b + 1) * rowFloats)), states: reply.states };
  }

  /** The final result of a segment's `frames` output frames ([frames, vocab]), biased by its keyterms. */
  async finalResult(logProbs: Float32Array, frames: number, keyterms?: Keyterms): Promise<RecognitionResult> {
    const reply = await leastBusy(this.threads).call({ kind: 'final', logProbs, frames, keyterms });
    if (reply.kind !== 'final') throw new Error('streaming recognizer thread answered a final with chunks');
    return reply.result;
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()));
  }
}
