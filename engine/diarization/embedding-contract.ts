/**
 * Input contracts of speaker-embedding ONNX models, read from their metadata
 * as sherpa-onnx's speaker-embedding extractor reads it (`framework` picks
 * the contract), and the batch of features each contract takes.
 *
 * - `wespeaker` (WeSpeaker ResNet34 ...) and `3d-speaker` (CAM++, ERes2Net):
 *   Kaldi fbank, 80 bins, 25 / 10 ms, no dither, frames centred
 *   (snip_edges false), of samples in [-1, 1] or, when normalize_samples is
 *   0, scaled to the int16 range; feature_normalize_type 'global-mean'
 *   subtracts each bin's mean over the utterance (3D-Speaker; WeSpeaker
 *   exports normalise inside the graph). Input [N, T, 80] → output [N, dim].
 * - `nemo` (TitaNet, SpeakerNet): NeMo's mel (Hann window, Slaney's filters
 *   over 0-8000 Hz), 'per_feature' normalised, given channel-major
 *   [N, 80, T] with lengths [N] (int64); the embedding is the SECOND output
 *   (the first is the training head's logits). sherpa-onnx frames NeMo
 *   features with snip_edges true; the engine's NeMo mel centres its frames
 *   instead (half a frame's shift), a difference a speaker vector pooled over
 *   seconds does not notice.
 *
 * One call embeds many speech pieces of different lengths. Batched models
 * need one T: shorter pieces are repeated to the longest one's length (the
 * usual padding for speaker embedding, which pools statistics over time, so
 * a repeated piece has nearly its own statistics); NeMo takes the true
 * lengths and zero padding instead.
 */
import { KALDI_FBANK, NEMO_FBANK, NUM_MEL_BINS, logMelFrames, normalizePerFeature, numFrames, putChannelMajor, type LogMel } from '../asr/fbank.js';
import type { ModelFeeds } from '../onnx-runtime.js';

export interface EmbeddingContract {
  framework: 'wespeaker' | '3d-speaker' | 'nemo';
  /** Vector size the metadata announces (checked against every output). */
  outputDim: number;
  /** Samples scaled to the int16 range before the fbank (normalize_samples = 0). */
  int16Samples: boolean;
  normalize: 'none' | 'global-mean' | 'per-feature';
  featureInput: string;
  /** NeMo's lengths input; absent for the others. */
  lengthsInput?: string;
  output: string;
}

const INT16_SCALE = 32768;
/** Longest speech embedded at once (5 s: cost grows with length, a vector little past a few seconds); longer pieces keep their last part. */
export const MAX_EMBEDDING_FRAMES = 500;

/** Reads the contract from a model's metadata and its input / output names; throws naming what does not fit. */
export function embeddingContract(meta: Record<string, string>, inputNames: string[], outputNames: string[], where: string): EmbeddingContract {
  const framework = meta.framework;
  if (framework !== 'wespeaker' && framework !== '3d-speaker' && framework !== 'nemo') {
    throw new Error(
      `${where}: metadata framework is ${framework === undefined ? 'missing' : `"${framework}"`}; expected wespeaker, 3d-speaker or nemo ` +
        "(sherpa-onnx's speaker-embedding exports carry it)",
    );
  }
  const int = (key: string, fallback?: number): number => {
    const v = meta[key] === undefined ? fallback : Number(meta[key]);
    if (v === undefined || !Number.isInteger(v)) throw new Error(`${where}: metadata ${key} missing or invalid (got "${meta[key]}")`);
    return v;
  };
  if (int('sample_rate') !== 16000) throw new Error(`${where}: metadata sample_rate is ${meta.sample_rate}; only 16000 is supported`);
  const outputDim = int('output_dim');
  if (outputDim < 1) throw new Error(`${where}: metadata output_dim must be positive`);
  if (framework === 'nemo') {
    if (int('feat_dim', NUM_MEL_BINS) !== NUM_MEL_BINS) throw new Error(`${where}: metadata feat_dim ${meta.feat_dim}; only ${NUM_MEL_BINS} is supported`);
    if (int('window_size_ms', 25) !== 25 || int('window_stride_ms', 10) !== 10) {
      throw new Error(`${where}: metadata window_size_ms / window_stride_ms ${meta.window_size_ms} / ${meta.window_stride_ms}; only 25 / 10 is supported`);
    }
    if ((meta.window_type ?? 'hann') !== 'hann') throw new Error(`${where}: metadata window_type "${meta.window_type}"; only hann is supported for nemo`);
    const normalize = meta.feature_normalize_type ?? '';
    if (normalize !== '' && normalize !== 'per_feature') throw new Error(`${where}: metadata feature_normalize_type "${normalize}" is not supported`);
    if (inputNames.length !== 2 || outputNames.length !== 2) {
      throw new Error(`${where}: a nemo model takes features and lengths and gives logits and embeddings; got ${inputNames} → ${outputNames}`);
    }
    return { framework, outputDim, int16Samples: false, normalize: normalize === '' ? 'none' : 'per-feature', featureInput: inputNames[0], lengthsInput: inputNames[1], output: outputNames[1] };
  }
  const normalize = meta.feature_normalize_type ?? '';
  if (normalize !== '' && normalize !== 'global-mean') throw new Error(`${where}: metadata feature_normalize_type "${normalize}" is not supported`);
  if (inputNames.length !== 1 || outputNames.length < 1) throw new Error(`${where}: expected one features input and an embedding output; got ${inputNames} → ${outputNames}`);
  return {
    framework,
    outputDim,
    // sherpa-onnx's default when the key is absent is to keep samples in [-1, 1].
    int16Samples: int('normalize_samples', 1) === 0,
    normalize: normalize === '' ? 'none' : 'global-mean',
    featureInput: inputNames[0],
    output: outputNames[0],
  };
}

/** One piece of speech's features as the contract wants them, [frames, 80] frame-major (at most MAX_EMBEDDING_FRAMES, the last ones). */
export function embeddingFeatures(speech16k: Float32Array, contract: EmbeddingContract): LogMel {
  const total = numFrames(speech16k.length);
  const count = Math.min(total, MAX_EMBEDDING_FRAMES);
  let samples = speech16k;
  if (contract.int16Samples) samples = speech16k.map((x) => x * INT16_SCALE);
  const m = logMelFrames(samples, 0, total - count, count, contract.framework === 'nemo' ? NEMO_FBANK : KALDI_FBANK);
  if (contract.normalize === 'per-feature') return normalizePerFeature(m);
  if (contract.normalize === 'global-mean') subtractMean(m);
  return m;
}

/** The model's feeds for a batch of pieces (see the top comment on padding). */
export function embeddingFeeds(features: LogMel[], contract: EmbeddingContract): ModelFeeds {
  const n = features.length;
  const width = Math.max(...features.map((m) => m.numFrames));
  if (width === 0) throw new Error('speech too short for one feature frame');
  const data = new Float32Array(n * width * NUM_MEL_BINS);
  if (contract.lengthsInput) {
    features.forEach((m, i) => putChannelMajor(m, data, i * NUM_MEL_BINS * width, width));
    return {
      [contract.featureInput]: { type: 'float32', data, dims: [n, NUM_MEL_BINS, width] },
      [contract.lengthsInput]: { type: 'int64', data: BigInt64Array.from(features, (m) => BigInt(m.numFrames)), dims: [n] },
    };
  }
  features.forEach((m, i) => {
    const rowValues = m.numFrames * NUM_MEL_BINS;
    if (rowValues === 0) throw new Error('speech too short for one feature frame');
    const out = data.subarray(i * width * NUM_MEL_BINS, (i + 1) * width * NUM_MEL_BINS);
    for (let at = 0; at < out.length; at += rowValues) out.set(m.data.subarray(0, Math.min(rowValues, out.length - at)), at);
  });
  return { [contract.featureInput]: { type: 'float32', data, dims: [n, width, NUM_MEL_BINS] } };
}

function subtractMean(m: LogMel): void {
  const { numFrames: frames, numBins: bins, data } = m;
  const mean = new Float64Array(bins);
  for (let f = 0; f < frames; f++) for (let b = 0; b < bins; b++) mean[b] += data[f * bins + b];
  for (let b = 0; b < bins; b++) mean[b] /= frames;
  for (let f = 0; f < frames; f++) for (let b = 0; b < bins; b++) data[f * bins + b] -= mean[b];
}
