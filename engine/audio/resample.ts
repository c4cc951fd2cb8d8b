/**
 * Streaming sample-rate conversion (to 16 kHz in the decoder, any pair of
 * rates here): a polyphase windowed-sinc filter, designed per rate pair.
 *
 * The filter is a Kaiser-windowed sinc whose pass band ends at 7/8 of the
 * lower rate's Nyquist frequency and whose stop band starts at that Nyquist
 * frequency (7 kHz and 8 kHz when the output is 16 kHz), with 80 dB of
 * stop-band attenuation: nothing from above 8 kHz folds back into the speech
 * band, and the pass band is flat to about 0.001 dB.
 *
 * Output sample n sits at input time n * inRate / outRate exactly (the filter
 * is centred, so there is no delay to correct downstream); the price is that
 * the newest few milliseconds of input wait in `history` until the samples
 * after them arrive, or until `flush` assumes silence there.
 */

const STOPBAND_ATTENUATION_DB = 80;
/** Pass-band edge as a fraction of the lower of the two Nyquist frequencies. */
const PASSBAND_EDGE_FRACTION = 0.875;
/**
 * Most filter phases kept. Rates whose ratio to the output needs more (an
 * odd rate like 44099 Hz needs 16000) use the nearest of this many phases:
 * a timing error of at most 1/2048 input sample, noise below -60 dB even at
 * 8 kHz, while the table stays within a few MB.
 */
const MAX_PHASES = 1024;

export interface ResamplerDesign {
  passbandEdgeHz: number;
  stopbandEdgeHz: number;
  /** Filter taps per output sample. */
  taps: number;
  /** Distinct fractional input positions the coefficient table holds. */
  phases: number;
}

export class Resampler {
  readonly design: ResamplerDesign;
  /** Output samples per `down` input samples (the reduced ratio outRate / inRate). */
  private readonly up: number;
  private readonly down: number;
  private readonly halfTaps: number;
  /** [phase][tap], taps ordered oldest input sample first. */
  private readonly coefficients: Float32Array;
  /** Input samples kept for the next outputs' taps; history[0] is input sample `historyStart`. */
  private history: Float32Array;
  private historyStart: number;
  private inputSamples = 0;
  /** Position of the next output in input samples: `base + phase / up`. */
  private base = 0;
  private phase = 0;

  constructor(
    readonly inputRateHz: number,
    readonly outputRateHz: number,
  ) {
    if (!Number.isInteger(inputRateHz) || !Number.isInteger(outputRateHz) || inputRateHz <= 0 || outputRateHz <= 0) {
      throw new Error(`Resampler: rates must be positive integers, got ${inputRateHz} and ${outputRateHz}`);
    }
    const common = gcd(inputRateHz, outputRateHz);
    this.up = outputRateHz / common;
    this.down = inputRateHz / common;

    const lowerNyquistHz = Math.min(inputRateHz, outputRateHz) / 2;
    const passbandEdgeHz = PASSBAND_EDGE_FRACTION * lowerNyquistHz;
    const stopbandEdgeHz = lowerNyquistHz;
    // Kaiser's estimate of the length (in input samples) that reaches the
    // attenuation over this transition band.
    const transition = (2 * Math.PI * (stopbandEdgeHz - passbandEdgeHz)) / inputRateHz;
    const halfWidth = (STOPBAND_ATTENUATION_DB - 8) / (2.285 * transition) / 2;
    this.halfTaps = Math.ceil(halfWidth);
    const taps = 2 * this.halfTaps;
    const phases = Math.min(this.up, MAX_PHASES);
    this.design = { passbandEdgeHz, stopbandEdgeHz, taps, phases };

    // The cutoff (mid-transition) as a fraction of the input's Nyquist frequency.
    const cutoff = (passbandEdgeHz + stopbandEdgeHz) / inputRateHz;
    const beta = 0.1102 * (STOPBAND_ATTENUATION_DB - 8.7);
    const i0Beta = besselI0(beta);
    this.coefficients = new Float32Array(phases * taps);
    for (let q = 0; q < phases; q++) {
      for (let k = 0; k < taps; k++) {
        // Distance from the output instant to this tap's input sample.
        const t = this.halfTaps - 1 - k + q / phases;
        const x = t / halfWidth;
        if (Math.abs(x) >= 1) continue;
        this.coefficients[q * taps + k] = cutoff * sinc(cutoff * t) * (besselI0(beta * Math.sqrt(1 - x * x)) / i0Beta);
      }
    }
    // The first output sits at input time 0; its oldest tap reaches back halfTaps - 1 samples (silence).
    this.historyStart = 1 - this.halfTaps;
    this.history = new Float32Array(this.halfTaps - 1);
  }

  private get passthrough(): boolean {
    return this.up === this.down;
  }

  /** Outputs every sample whose filter taps the input so far covers. */
  process(input: Float32Array): Float32Array {
    if (this.passthrough) return input;
    const buffer = new Float32Array(this.history.length + input.length);
    buffer.set(this.history);
    buffer.set(input, this.history.length);
    const bufferStart = this.historyStart;
    this.inputSamples += input.length;
    const out = this.run(buffer, bufferStart, Infinity);
    const keepFrom = Math.min(this.nextOldestTap() - bufferStart, buffer.length);
    this.history = buffer.slice(keepFrom);
    this.historyStart = bufferStart + keepFrom;
    return out;
  }

  /**
   * Outputs the samples still owed for the input so far (those at input times
   * before its end), taking the input to be silent after it. The stream may
   * go on afterwards: later input continues from where this left off, so the
   * output stays exactly outRate / inRate times as long as the input.
   */
  flush(): Float32Array {
    if (this.passthrough) return new Float32Array(0);
    const buffer = new Float32Array(this.history.length + this.halfTaps + 1);
    buffer.set(this.history);
    return this.run(buffer, this.historyStart, this.inputSamples);
  }

  /**
   * The table phase for fractional position `phase / up`: exact when the table
   * holds every phase, else the nearest one, where `phases` stands for phase 0
   * of the next input sample.
   */
  private tablePhase(phase: number): number {
    const phases = this.design.phases;
    return phases === this.up ? phase : Math.round((phase * phases) / this.up);
  }

  private nextOldestTap(): number {
    const wraps = this.tablePhase(this.phase) === this.design.phases ? 1 : 0;
    return this.base + wraps - this.halfTaps + 1;
  }

  /** Outputs while `buffer` (input sample `bufferStart` on) holds all taps and the output lies before input time `baseLimit`. */
  private run(buffer: Float32Array, bufferStart: number, baseLimit: number): Float32Array {
    const { taps, phases } = this.design;
    const { up, down, halfTaps, coefficients } = this;
    const out = new Float32Array(Math.ceil(((buffer.length + 1) * up) / down) + 1);
    let count = 0;
    let base = this.base;
    let phase = this.phase;
    while (base < baseLimit) {
      let q = this.tablePhase(phase);
      let oldest = base - halfTaps + 1 - bufferStart;
      if (q === phases) {
        q = 0;
        oldest++;
      }
      if (oldest + taps > buffer.length) break;
      let acc = 0;
      for (let k = 0, c = q * taps; k < taps; k++, c++) acc += coefficients[c] * buffer[oldest + k];
      out[count++] = acc;
      phase += down;
      base += Math.floor(phase / up);
      phase %= up;
    }
    this.base = base;
    this.phase = phase;
    return out.slice(0, count);
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** sin(pi x) / (pi x). */
function sinc(x: number): number {
  return x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for the betas used). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; term > 1e-12 * sum; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
  }
  return sum;
}
