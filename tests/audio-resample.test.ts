/**
 * engine/audio/resample.ts: pass-band flatness and stop-band attenuation
 * measured with sine sweeps (one tone per step) at every common rate, image
 * rejection when upsampling, zero delay, exact output length, and streaming
 * in random chunk sizes giving bit-for-bit the one-shot output.
 */
import { describe, expect, it } from 'vitest';
import { Resampler } from '../engine/audio/resample.js';
import { concat } from '../testkit/speech.js';

const OUT_HZ = 16000;
const DOWNSAMPLING_RATES = [22050, 24000, 32000, 44100, 48000, 96000];
const UPSAMPLING_RATES = [8000, 11025];

function tone(rateHz: number, freqHz: number, samples: number, phase = 0): Float32Array {
  const x = new Float32Array(samples);
  for (let n = 0; n < samples; n++) x[n] = Math.sin((2 * Math.PI * freqHz * n) / rateHz + phase);
  return x;
}

function oneShot(inputRateHz: number, input: Float32Array): Float32Array {
  const r = new Resampler(inputRateHz, OUT_HZ);
  return concat(r.process(input), r.flush());
}

/** RMS over the middle of the signal, away from the start and end transients. */
function steadyRms(x: Float32Array): number {
  const edge = Math.floor(x.length / 8);
  let sum = 0;
  for (let i = edge; i < x.length - edge; i++) sum += x[i] * x[i];
  return Math.sqrt(sum / (x.length - 2 * edge));
}

/**
 * Amplitude of the component at freqHz over the steady middle: a least-squares
 * fit of a sine and a cosine, exact for a pure tone whatever the window length.
 */
function amplitudeAt(x: Float32Array, rateHz: number, freqHz: number): number {
  const edge = Math.floor(x.length / 8);
  let ss = 0, cc = 0, sc = 0, xs = 0, xc = 0;
  for (let n = edge; n < x.length - edge; n++) {
    const s = Math.sin((2 * Math.PI * freqHz * n) / rateHz);
    const c = Math.cos((2 * Math.PI * freqHz * n) / rateHz);
    ss += s * s;
    cc += c * c;
    sc += s * c;
    xs += x[n] * s;
    xc += x[n] * c;
  }
  const det = ss * cc - sc * sc;
  return Math.hypot((xs * cc - xc * sc) / det, (xc * ss - xs * sc) / det);
}

const db = (ratio: number): number => 20 * Math.log10(ratio);

describe('Resampler design', () => {
  it('puts the pass band at 7 kHz and the stop band at 8 kHz for a 16 kHz output', () => {
    const r = new Resampler(48000, OUT_HZ);
    expect(r.design.passbandEdgeHz).toBe(7000);
    expect(r.design.stopbandEdgeHz).toBe(8000);
    expect(r.design.phases).toBe(1); // 48k -> 16k keeps every third sample: one phase
    expect(new Resampler(44100, OUT_HZ).design.phases).toBe(160); // 160 / 441
  });
});

describe.each([...DOWNSAMPLING_RATES, ...UPSAMPLING_RATES])('Resampler %i Hz -> 16 kHz', (rateHz) => {
  const seconds = 0.5;
  const passEdgeHz = new Resampler(rateHz, OUT_HZ).design.passbandEdgeHz;

  it('is flat within 0.01 dB across the pass band', () => {
    for (let f = 50; f <= passEdgeHz; f += 350) {
      const y = oneShot(rateHz, tone(rateHz, f, rateHz * seconds));
      const gainDb = db(amplitudeAt(y, OUT_HZ, f));
      expect(Math.abs(gainDb), `${f} Hz: ${gainDb.toFixed(4)} dB`).toBeLessThan(0.01);
    }
  });

  if (rateHz > OUT_HZ) {
    it('attenuates everything from the new Nyquist (8 kHz) up by more than 60 dB', () => {
      const frequencies: number[] = [];
      for (let f = 8000; f < rateHz / 2; f += f < 10000 ? 250 : 1700) frequencies.push(f);
      for (const f of frequencies) {
        // A tone at exactly 8 kHz sampled at 16 kHz can land on its zero crossings; shift its phase off them.
        const y = oneShot(rateHz, tone(rateHz, f, rateHz * seconds, 0.3));
        const attenuationDb = -db(steadyRms(y) / Math.SQRT1_2);
        expect(attenuationDb, `${f} Hz`).toBeGreaterThan(60);
      }
    });
  } else {
    it('rejects the images above the input Nyquist frequency by more than 60 dB', () => {
      for (let f = 200; f <= passEdgeHz; f += 450) {
        const y = oneShot(rateHz, tone(rateHz, f, rateHz * seconds));
        const imageHz = rateHz - f; // the first image of f, within the 16 kHz band
        const rejectionDb = db(amplitudeAt(y, OUT_HZ, f) / amplitudeAt(y, OUT_HZ, imageHz));
        expect(rejectionDb, `${f} Hz (image at ${imageHz} Hz)`).toBeGreaterThan(60);
      }
    });
  }

  it('has no delay: a sine comes out in phase, sample for sample', () => {
    const f = 440;
    const y = oneShot(rateHz, tone(rateHz, f, rateHz * seconds));
    const expected = tone(OUT_HZ, f, y.length);
    let maxError = 0;
    for (let n = 400; n < y.length - 400; n++) maxError = Math.max(maxError, Math.abs(y[n] - expected[n]));
    expect(maxError).toBeLessThan(1e-3);
  });

  it('gives exactly ceil(n * 16000 / rate) samples, streamed in random chunks bit for bit as in one shot', () => {
    let seed = rateHz;
    const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const input = new Float32Array(rateHz * 0.3 + 7).map(() => random() * 2 - 1);
    const whole = oneShot(rateHz, input);
    expect(whole.length).toBe(Math.ceil((input.length * OUT_HZ) / rateHz));

    const r = new Resampler(rateHz, OUT_HZ);
    const parts: Float32Array[] = [];
    for (let pos = 0; pos < input.length; ) {
      const size = Math.floor(random() * 700); // empty, tiny and long chunks alike
      parts.push(r.process(input.subarray(pos, pos + size)));
      pos += size;
    }
    parts.push(r.flush());
    expect(concat(...parts)).toEqual(whole);
  });
});

describe('Resampler streaming semantics', () => {
  it('flush mid-stream emits what is owed and the stream goes on in step', () => {
    const rateHz = 44100;
    const input = tone(rateHz, 300, rateHz);
    const half = input.length / 2;
    const r = new Resampler(rateHz, OUT_HZ);
    const first = concat(r.process(input.subarray(0, half)), r.flush());
    expect(first.length).toBe(Math.ceil((half * OUT_HZ) / rateHz));
    const second = concat(r.process(input.subarray(half)), r.flush());
    const whole = oneShot(rateHz, input);
    expect(first.length + second.length).toBe(whole.length);
    // Only the outputs whose taps reached past the flush point (computed with silence there) differ from one shot.
    const joined = concat(first, second);
    const reach = Math.ceil(((r.design.taps / 2) * OUT_HZ) / rateHz);
    for (let n = 0; n < joined.length; n++) {
      if (n < first.length - reach || n >= first.length) expect(joined[n], `sample ${n}`).toBe(whole[n]);
    }
    const near = joined.subarray(first.length - reach, first.length).map((v, i) => v - whole[first.length - reach + i]);
    expect(Math.max(...near.map(Math.abs))).toBeGreaterThan(0);
  });

  it('passes 16 kHz through untouched', () => {
    const r = new Resampler(OUT_HZ, OUT_HZ);
    const x = tone(OUT_HZ, 1000, 1600);
    expect(r.process(x)).toEqual(x);
    expect(r.flush()).toHaveLength(0);
  });

  it('handles an odd rate (44099 Hz, nearest of 1024 phases) with noise below -60 dB', () => {
    const rateHz = 44099;
    const r = new Resampler(rateHz, OUT_HZ);
    expect(r.design.phases).toBe(1024);
    const f = 6000; // high in the band, where timing error hurts most
    const y = oneShot(rateHz, tone(rateHz, f, rateHz));
    const expected = tone(OUT_HZ, f, y.length);
    const error = y.map((v, n) => v - expected[n]);
    expect(db(steadyRms(error) / Math.SQRT1_2)).toBeLessThan(-60);
  });

  it('rejects rates that are not positive integers', () => {
    expect(() => new Resampler(0, OUT_HZ)).toThrow(/positive integers/);
    expect(() => new Resampler(44100.5, OUT_HZ)).toThrow(/positive integers/);
  });
});
