/**
 * sherpa-onnx's online NeMo CTC contract, pure: what a streaming model's
 * metadata says (`window_size`, `chunk_shift`, cache shapes), a stream's
 * model state (the three caches), stacking the states of several streams into
 * one batch along axis 0 and taking them apart again, and which frames a
 * stream can decode next.
 *
 * A call reads a window of `windowFrames` feature frames and advances the
 * stream by `shiftFrames`, so windows overlap by windowFrames - shiftFrames
 * (sherpa-onnx's `OnlineRecognizerCtcImpl::DecodeStreams`). Its output is
 * shiftFrames / subsamplingFactor frames of log-probabilities, blank last in
 * NeMo's exports (tokens.txt says which id is blank).
 */

/** The metadata keys that make a model a streaming one. */
const STREAMING_KEYS = ['window_size', 'chunk_shift'] as const;

export interface StreamingModelSpec {
  windowFrames: number;
  shiftFrames: number;
  subsamplingFactor: number;
  /** Output classes, blank included. */
  vocabSize: number;
  /** Per-stream shapes (batch axis left out) of cache_last_channel and cache_last_time. */
  channelCacheDims: [number, number, number];
  timeCacheDims: [number, number, number];
}

/** Whether a model's metadata is the streaming contract's (else the offline recognizer serves it). */
export function isStreamingModel(meta: Record<string, string>): boolean {
  return STREAMING_KEYS.every((k) => meta[k] !== undefined);
}

/** Reads and checks the contract's metadata; throws naming the key that is missing or bad. */
export function streamingSpecOf(meta: Record<string, string>, where: string): StreamingModelSpec {
  const int = (key: string, min: number): number => {
    const v = Number(meta[key]);
    if (meta[key] === undefined || !Number.isInteger(v) || v < min) throw new Error(`${where}: metadata ${key} missing or invalid (got "${meta[key]}")`);
    return v;
  };
  const spec: StreamingModelSpec = {
    windowFrames: int('window_size', 1),
    shiftFrames: int('chunk_shift', 1),
    subsamplingFactor: int('subsampling_factor', 1),
    // NeMo counts the vocabulary without its blank.
    vocabSize: int('vocab_size', 1) + 1,
    channelCacheDims: [int('cache_last_channel_dim1', 0), int('cache_last_channel_dim2', 0), int('cache_last_channel_dim3', 0)],
    timeCacheDims: [int('cache_last_time_dim1', 0), int('cache_last_time_dim2', 0), int('cache_last_time_dim3', 0)],
  };
  if (spec.shiftFrames > spec.windowFrames) throw new Error(`${where}: chunk_shift ${spec.shiftFrames} exceeds window_size ${spec.windowFrames}`);
  if (spec.shiftFrames % spec.subsamplingFactor !== 0) {
    throw new Error(`${where}: chunk_shift ${spec.shiftFrames} is not a multiple of subsampling_factor ${spec.subsamplingFactor}`);
  }
  return spec;
}

/** One stream's model state: zeros before its first window. */
export interface StreamState {
  channelCache: Float32Array;
  timeCache: Float32Array;
  channelCacheLen: bigint;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

export function initialState(spec: StreamingModelSpec): StreamState {
  return { channelCache: new Float32Array(product(spec.channelCacheDims)), timeCache: new Float32Array(product(spec.timeCacheDims)), channelCacheLen: 0n };
}

/** The states of a batch, stacked along a new axis 0. */
export interface StackedStates {
  channelCache: Float32Array;
  timeCache: Float32Array;
  channelCacheLen: BigInt64Array;
}

export function stackStates(states: readonly StreamState[], spec: StreamingModelSpec): StackedStates {
  const c = product(spec.channelCacheDims);
  const t = product(spec.timeCacheDims);
  const out: StackedStates = {
    channelCache: new Float32Array(states.length * c),
    timeCache: new Float32Array(states.length * t),
    channelCacheLen: new BigInt64Array(states.length),
  };
  states.forEach((s, b) => {
    out.channelCache.set(s.channelCache, b * c);
    out.timeCache.set(s.timeCache, b * t);
    out.channelCacheLen[b] = s.channelCacheLen;
  });
  return out;
}

/** Row b of stacked states (copies: the batch's buffers may be reused or transferred). */
export function unstackState(stacked: StackedStates, b: number, spec: StreamingModelSpec): StreamState {
  const c = product(spec.channelCacheDims);
  const t = product(spec.timeCacheDims);
  return {
    channelCache: stacked.channelCache.slice(b * c, (b + 1) * c),
    timeCache: stacked.timeCache.slice(b * t, (b + 1) * t),
    channelCacheLen: stacked.channelCacheLen[b],
  };
}

/** Output frames per call. */
export function outputFramesPerChunk(spec: StreamingModelSpec): number {
  return spec.shiftFrames / spec.subsamplingFactor;
}

/**
 * Whether a stream whose next window starts at frame `nextFrame` can decode
 * it with `readyFrames` complete feature frames. Like sherpa-onnx's
 * `IsReady` the window must end strictly before the last ready frame, so a
 * stream fed the same audio makes the same calls in both.
 */
export function windowReady(spec: StreamingModelSpec, nextFrame: number, readyFrames: number): boolean {
  return nextFrame + spec.windowFrames < readyFrames;
}
