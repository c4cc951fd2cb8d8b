/**
 * Log-mel filterbank features of 16 kHz audio, of the two kinds the models
 * take (`FbankKind`). The offline kind is the TypeScript twin of
 * tools/train-demo-model/fbank.py, which is the spec and which computed the
 * offline demo model's training features, so the two must agree number for
 * number (tests/fbank.test.ts holds them to it). The streaming kind is
 * kaldi-native-fbank's defaults, what sherpa-onnx feeds its streaming models
 * (tools/train-demo-model/kaldi_fbank.py trained the streaming demo model on
 * it; tests/streaming-parity.test.ts checks it against sherpa-onnx itself).
 */
import FFT from 'fft.js';
import { SAMPLE_RATE_HZ } from '../audio/format.js';

export { SAMPLE_RATE_HZ };
export const NUM_MEL_BINS = 80;
export const FRAME_SHIFT_MS = 10;
/** Log-mel value that padded frames hold when utterances of different lengths share a batch. */
export const PAD_LOG_VALUE = Math.log(1e-10);

const FRAME_LENGTH_SAMPLES = 400; // 25 ms
const FRAME_SHIFT_SAMPLES = 160; // 10 ms
const FFT_SIZE = 512;
/** Filters read FFT bins 0..255 as the reference does (the Nyquist bin, at 8000 Hz, would weigh 0 anyway). */
const NUM_FFT_BINS = FFT_SIZE / 2;
const PREEMPHASIS = 0.97;
/** float32 epsilon (2^-23), the log floor of the reference. */
const LOG_FLOOR = 1.1920928955078125e-7;
const NORM_STD_EPSILON = 1e-5;

/** Row-major [numFrames, numBins]. */
export interface LogMel {
  data: Float32Array;
  numFrames: number;
  numBins: number;
}

/** Frames of a signal with snip_edges = false: one per 10 ms, rounded to nearest. */
export function numFrames(numSamples: number): number {
  return Math.floor((numSamples + FRAME_SHIFT_SAMPLES / 2) / FRAME_SHIFT_SAMPLES);
}

/**
 * How a model wants its log-mel computed. Two kinds exist: the offline NeMo
 * CTC models' (`NEMO_FBANK`: what fbank.py computes, a periodic Hann window
 * and Slaney's mel filters over 0-8000 Hz scaled to unit area), and what
 * sherpa-onnx gives its streaming models (`KALDI_FBANK`: kaldi-native-fbank's
 * defaults: DC offset removed per frame, Povey window, Kaldi's mel scale
 * over 20-7600 Hz, unscaled triangles). Both pre-emphasise by 0.97 and pad
 * the 25 ms frame to a 512-point FFT.
 */
export interface FbankKind {
  window: 'hann' | 'povey';
  removeDcOffset: boolean;
  mel: 'slaney' | 'kaldi';
  lowHz: number;
  highHz: number;
}

export const NEMO_FBANK: FbankKind = { window: 'hann', removeDcOffset: false, mel: 'slaney', lowHz: 0, highHz: SAMPLE_RATE_HZ / 2 };
export const KALDI_FBANK: FbankKind = { window: 'povey', removeDcOffset: true, mel: 'kaldi', lowHz: 20, highHz: SAMPLE_RATE_HZ / 2 - 400 };

function frameWindow(kind: FbankKind['window']): Float64Array {
  const w = new Float64Array(FRAME_LENGTH_SAMPLES);
  for (let i = 0; i < FRAME_LENGTH_SAMPLES; i++) {
    // Hann is periodic (fbank.py's torch.hann_window); Povey's is Kaldi's symmetric Hann to the power 0.85.
    w[i] = kind === 'hann'
      ? 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / FRAME_LENGTH_SAMPLES)
      : Math.pow(0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (FRAME_LENGTH_SAMPLES - 1)), 0.85);
  }
  return w;
}

/**
 * The 80 filters as one sparse matrix, flat for speed: filter b weighs FFT bin
 * firstFftBin[b] + j by weights[offset[b] + j] for j < offset[b + 1] - offset[b]
 * (its non-zero weights, nothing else).
 */
interface MelFilterBank {
  firstFftBin: Int32Array;
  offset: Int32Array;
  weights: Float64Array;
}

// Slaney's mel scale (librosa htk=False): linear below 1 kHz, logarithmic above.
const SLANEY_HZ_PER_MEL = 200 / 3;
const SLANEY_MIN_LOG_HZ = 1000;
const SLANEY_MIN_LOG_MEL = SLANEY_MIN_LOG_HZ / SLANEY_HZ_PER_MEL;
const SLANEY_LOG_STEP = Math.log(6.4) / 27;

function slaneyHzToMel(hz: number): number {
  if (hz >= SLANEY_MIN_LOG_HZ) return SLANEY_MIN_LOG_MEL + Math.log(hz / SLANEY_MIN_LOG_HZ) / SLANEY_LOG_STEP;
  return hz / SLANEY_HZ_PER_MEL;
}

function slaneyMelToHz(mel: number): number {
  if (mel >= SLANEY_MIN_LOG_MEL) return SLANEY_MIN_LOG_HZ * Math.exp(SLANEY_LOG_STEP * (mel - SLANEY_MIN_LOG_MEL));
  return SLANEY_HZ_PER_MEL * mel;
}

/** Kaldi's mel scale. */
function kaldiHzToMel(hz: number): number {
  return 1127 * Math.log(1 + hz / 700);
}

/**
 * Triangles evenly spaced in mel from lowHz to highHz. Slaney's are drawn in
 * Hz and scaled to unit area (librosa's slaney norm); Kaldi's are drawn in
 * mel and left unscaled.
 */
function melFilterBank(kind: FbankKind): MelFilterBank {
  const binHz = SAMPLE_RATE_HZ / FFT_SIZE;
  const toMel = kind.mel === 'slaney' ? slaneyHzToMel : kaldiHzToMel;
  const melLow = toMel(kind.lowHz);
  const melDelta = (toMel(kind.highHz) - melLow) / (NUM_MEL_BINS + 1);
  const firstFftBin = new Int32Array(NUM_MEL_BINS);
  const offset = new Int32Array(NUM_MEL_BINS + 1);
  const weights: number[] = [];
  for (let b = 0; b < NUM_MEL_BINS; b++) {
    const [left, center, right] = [0, 1, 2].map((j) => melLow + (b + j) * melDelta);
    // Slaney: the corners in Hz, the FFT bins' own Hz; Kaldi: everything in mel.
    const [l, c, r] = kind.mel === 'slaney' ? [left, center, right].map(slaneyMelToHz) : [left, center, right];
    offset[b] = weights.length;
    for (let k = 0; k < NUM_FFT_BINS; k++) {
      const x = kind.mel === 'slaney' ? k * binHz : kaldiHzToMel(k * binHz);
      if (!(x > l && x < r)) continue;
      const triangle = x <= c ? (x - l) / (c - l) : (r - x) / (r - c);
      if (weights.length === offset[b]) firstFftBin[b] = k;
      weights.push(kind.mel === 'slaney' ? (triangle * 2) / (r - l) : triangle);
    }
  }
  offset[NUM_MEL_BINS] = weights.length;
  return { firstFftBin, offset, weights: Float64Array.from(weights) };
}

interface Fbank {
  kind: FbankKind;
  window: Float64Array;
  mel: MelFilterBank;
}

const FBANKS = [NEMO_FBANK, KALDI_FBANK].map((kind): Fbank => ({ kind, window: frameWindow(kind.window), mel: melFilterBank(kind) }));

function fbankOf(kind: FbankKind): Fbank {
  return FBANKS.find((f) => f.kind === kind) ?? { kind, window: frameWindow(kind.window), mel: melFilterBank(kind) };
}

// fft.js's radix-4 real transform: it timed slightly faster (3.5 vs 3.8 us per
// spectrum) than the radix-2 FFT this project first wrote, which it replaced.
const FFT_512 = new FFT(FFT_SIZE);
const SPECTRUM = FFT_512.createComplexArray() as number[];

/** power257[k] = |X[k]|^2 for k <= 256 of the 512-point real frame. */
function powerSpectrum(frame512: Float64Array, power257: Float64Array): void {
  FFT_512.realTransform(SPECTRUM, frame512);
  for (let k = 0; k <= FFT_SIZE / 2; k++) power257[k] = SPECTRUM[2 * k] * SPECTRUM[2 * k] + SPECTRUM[2 * k + 1] * SPECTRUM[2 * k + 1];
}

/** Kaldi's reflection at both ends, repeated until inside (only inputs shorter than a frame need a second round). */
function reflectIndex(i: number, numSamples: number): number {
  let j = i;
  while (j < 0 || j >= numSamples) {
    if (j < 0) j = -j - 1;
    if (j >= numSamples) j = 2 * numSamples - 1 - j;
  }
  return j;
}

/** The first sample of frame f: it is centred on sample 160 f + 80, i.e. covers [160 f - 120, 160 f + 280). */
export function frameStartSample(f: number): number {
  return f * FRAME_SHIFT_SAMPLES + FRAME_SHIFT_SAMPLES / 2 - FRAME_LENGTH_SAMPLES / 2;
}

/** One past the last sample of frame f. */
export function frameEndSample(f: number): number {
  return frameStartSample(f) + FRAME_LENGTH_SAMPLES;
}

/** Frames of a signal still growing (no reflection at its end): those whose 25 ms lie inside its first `numSamples`. */
export function completeFrames(numSamples: number): number {
  return Math.max(0, Math.floor((numSamples - frameEndSample(0)) / FRAME_SHIFT_SAMPLES) + 1);
}

/**
 * Writes `m` ([frames, 80], frame-major) into `out` from `offset` as the
 * models take it, [80, width] channel-major (`width` >= m.numFrames; the
 * caller fills any padding).
 */
export function putChannelMajor(m: LogMel, out: Float32Array, offset: number, width: number): void {
  for (let t = 0; t < m.numFrames; t++) {
    for (let c = 0; c < NUM_MEL_BINS; c++) out[offset + c * width + t] = m.data[t * NUM_MEL_BINS + c];
  }
}

/** Natural-log mel energies, [numFrames(n), 80], of 16 kHz samples in [-1, 1]; not normalised. */
export function computeLogMel(samples16k: Float32Array, kind: FbankKind = NEMO_FBANK): LogMel {
  return logMelFrames(samples16k, 0, 0, numFrames(samples16k.length), kind);
}

/**
 * Frames [firstFrame, firstFrame + count) of a signal of which `samples`
 * holds the part from sample `sliceStart` on: a streaming model's window,
 * cut from the open segment. Past either end of the slice the signal is
 * reflected as Kaldi reflects it at the ends of a whole signal, so a slice
 * starting at 0 gives the same first frames as the whole signal.
 */
export function logMelFrames(samples: Float32Array, sliceStart: number, firstFrame: number, count: number, kind: FbankKind = KALDI_FBANK): LogMel {
  const { window, mel } = fbankOf(kind);
  const { firstFftBin, offset, weights } = mel;
  const numSamples = samples.length;
  const data = new Float32Array(count * NUM_MEL_BINS);
  const frame = new Float64Array(FRAME_LENGTH_SAMPLES);
  // Samples 400..511 stay zero: the FFT pads the 25 ms frame to 512 points.
  const fftInput = new Float64Array(FFT_SIZE);
  const power = new Float64Array(FFT_SIZE / 2 + 1);

  for (let f = 0; f < count; f++) {
    const start = frameStartSample(firstFrame + f) - sliceStart;
    const inside = start >= 0 && start + FRAME_LENGTH_SAMPLES <= numSamples;
    for (let i = 0; i < FRAME_LENGTH_SAMPLES; i++) frame[i] = samples[inside ? start + i : reflectIndex(start + i, numSamples)];
    if (kind.removeDcOffset) {
      let sum = 0;
      for (let i = 0; i < FRAME_LENGTH_SAMPLES; i++) sum += frame[i];
      const mean = sum / FRAME_LENGTH_SAMPLES;
      for (let i = 0; i < FRAME_LENGTH_SAMPLES; i++) frame[i] -= mean;
    }
    // Pre-emphasis treats the sample before the frame as the first sample itself.
    let previous = frame[0];
    for (let i = 0; i < FRAME_LENGTH_SAMPLES; i++) {
      const x = frame[i];
      fftInput[i] = (x - PREEMPHASIS * previous) * window[i];
      previous = x;
    }

    powerSpectrum(fftInput, power);

    const row = f * NUM_MEL_BINS;
    for (let b = 0; b < NUM_MEL_BINS; b++) {
      const end = offset[b + 1];
      let k = firstFftBin[b];
      let energy = 0;
      for (let w = offset[b]; w < end; w++, k++) energy += weights[w] * power[k];
      data[row + b] = Math.log(energy > LOG_FLOOR ? energy : LOG_FLOOR);
    }
  }
  return { data, numFrames: count, numBins: NUM_MEL_BINS };
}

/**
 * NeMo's normalize_type 'per_feature': each bin minus its mean over the
 * utterance, over (population std + 1e-5). The variance is E[x^2] - E[x]^2,
 * summed frame by frame in float64 like the reference, so that near-constant
 * bins, where that formula loses digits, lose the same ones. (The reference
 * normalises the float64 log-mel, this the float32 one, whose rounding of
 * ~1e-6 is amplified by 1 / std: bins with a std below ~1e-3 over the
 * utterance can differ by more than 1e-3. Speech does not produce those.)
 */
export function normalizePerFeature(m: LogMel): LogMel {
  const { numFrames: frames, numBins: bins, data } = m;
  const mean = new Float64Array(bins);
  const meanSquare = new Float64Array(bins);
  for (let f = 0; f < frames; f++) {
    const row = f * bins;
    for (let b = 0; b < bins; b++) {
      const x = data[row + b];
      mean[b] += x;
      meanSquare[b] += x * x;
    }
  }
  const std = new Float64Array(bins);
  for (let b = 0; b < bins; b++) {
    mean[b] /= frames;
    meanSquare[b] /= frames;
    const variance = meanSquare[b] - mean[b] * mean[b];
    std[b] = Math.sqrt(variance > 0 ? variance : 0);
  }
  const out = new Float32Array(data.length);
  for (let f = 0; f < frames; f++) {
    const row = f * bins;
    for (let b = 0; b < bins; b++) out[row + b] = (data[row + b] - mean[b]) / (std[b] + NORM_STD_EPSILON);
  }
  return { data: out, numFrames: frames, numBins: bins };
}
