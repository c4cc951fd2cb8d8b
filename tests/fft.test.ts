/** engine/asr/fft.ts against a naive O(N^2) DFT. */
import { describe, expect, it } from 'vitest';
import { RealFft } from '../engine/asr/fft.js';

function naiveDft(input: Float64Array): { re: Float64Array; im: Float64Array } {
  const n = input.length;
  const re = new Float64Array(n / 2 + 1);
  const im = new Float64Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) {
    for (let t = 0; t < n; t++) {
      // Reducing k t mod n first keeps the angle small and the reference accurate.
      const angle = (-2 * Math.PI * ((k * t) % n)) / n;
      re[k] += input[t] * Math.cos(angle);
      im[k] += input[t] * Math.sin(angle);
    }
  }
  return { re, im };
}

/** Uniform in [-1, 1) from a fixed-seed LCG, so failures reproduce. */
function testSignal(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let state = seed;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(1664525, state) + 1013904223) >>> 0;
    out[i] = (2 * state) / 2 ** 32 - 1;
  }
  return out;
}

describe('RealFft', () => {
  it.each([4, 8, 16, 64, 512, 1024])('matches the naive DFT for %i points', (size) => {
    const input = testSignal(size, size);
    const fft = new RealFft(size);
    const re = new Float64Array(size / 2 + 1);
    const im = new Float64Array(size / 2 + 1);
    fft.transform(input, re, im);
    const expected = naiveDft(input);
    let worst = 0;
    for (let k = 0; k <= size / 2; k++) {
      worst = Math.max(worst, Math.abs(re[k] - expected.re[k]), Math.abs(im[k] - expected.im[k]));
    }
    // Bins are sums of `size` terms of magnitude <= 1.
    expect(worst).toBeLessThan(1e-12 * size);
  });

  it.each([4, 8, 16, 512, 1024])('gives the power spectrum of %i points as |transform|^2', (size) => {
    const input = testSignal(size, 7 * size);
    const fft = new RealFft(size);
    const re = new Float64Array(size / 2 + 1);
    const im = new Float64Array(size / 2 + 1);
    const power = new Float64Array(size / 2 + 1);
    fft.transform(input, re, im);
    fft.powerSpectrum(input, power);
    for (let k = 0; k <= size / 2; k++) {
      const expected = re[k] * re[k] + im[k] * im[k];
      expect(Math.abs(power[k] - expected)).toBeLessThanOrEqual(1e-12 * (1 + expected));
    }
  });

  it('puts a cosine at its bin and nowhere else', () => {
    const size = 512;
    const bin = 37;
    const input = new Float64Array(size).map((_, t) => Math.cos((2 * Math.PI * bin * t) / size));
    const re = new Float64Array(size / 2 + 1);
    const im = new Float64Array(size / 2 + 1);
    new RealFft(size).transform(input, re, im);
    for (let k = 0; k <= size / 2; k++) {
      expect(re[k]).toBeCloseTo(k === bin ? size / 2 : 0, 9);
      expect(im[k]).toBeCloseTo(0, 9);
    }
  });

  it('gives the same result when reused', () => {
    const fft = new RealFft(64);
    const re1 = new Float64Array(33);
    const im1 = new Float64Array(33);
    const re2 = new Float64Array(33);
    const im2 = new Float64Array(33);
    fft.transform(testSignal(64, 1), re1, im1);
    fft.transform(testSignal(64, 2), re2, im2);
    fft.transform(testSignal(64, 1), re2, im2);
    expect(re2).toEqual(re1);
    expect(im2).toEqual(im1);
  });

  it.each([0, 2, 3, 100, 1.5])('rejects size %s', (size) => {
    expect(() => new RealFft(size)).toThrow(/power of two/);
  });
});
