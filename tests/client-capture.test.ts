/**
 * The pure half of browser capture (client/capture.ts PcmFramer, rmsLevel): frames of
 * exactly frameMs of s16le at the capture's rate (16 kHz, or a 48 or 44.1 kHz
 * context's own rate, which the server resamples), and clamped conversion.
 * The level the page's meter shows. The microphone half (Opus from
 * WebCodecs, MediaRecorder, PCM) runs in tests/browser.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { PcmFramer, rmsLevel } from '../client/capture.js';

function collect(inputRateHz: number, frameMs: number): { framer: PcmFramer; frames: Int16Array[] } {
  const frames: Int16Array[] = [];
  const framer = new PcmFramer(inputRateHz, frameMs, (bytes) => frames.push(new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2)));
  return { framer, frames };
}

function tone(rateHz: number, hz: number, samples: number, amplitude: number): Float32Array {
  return Float32Array.from({ length: samples }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rateHz));
}

describe('PcmFramer', () => {
  it('cuts 16 kHz input into frames of exactly frameMs, whatever the block sizes, and flushes the rest', () => {
    const { framer, frames } = collect(16_000, 20);
    const input = Float32Array.from({ length: 1000 }, (_, i) => (i % 7) / 10 - 0.3);
    for (let pos = 0; pos < input.length; pos += 128) framer.push(input.subarray(pos, pos + 128));
    expect(frames.map((f) => f.length)).toEqual([320, 320, 320]);
    framer.flush();
    expect(frames.map((f) => f.length)).toEqual([320, 320, 320, 40]);
    const all = frames.flatMap((f) => [...f]);
    expect(all).toEqual([...input].map((x) => Math.round(x * 32767)));
  });

  it('clamps samples outside [-1, 1] to full scale', () => {
    const { framer, frames } = collect(16_000, 20);
    framer.push(Float32Array.from([2, -2, 1, -1, 0.5]));
    framer.flush();
    expect([...frames[0]]).toEqual([32767, -32767, 32767, -32767, 16384]);
  });

  it('flushing with nothing pending sends no frame', () => {
    const { framer, frames } = collect(16_000, 20);
    framer.flush();
    expect(frames).toEqual([]);
  });

  for (const rateHz of [48_000, 44_100]) {
    it(`frames a ${rateHz} Hz context's samples at ${rateHz} Hz, untouched (the server resamples)`, () => {
      const { framer, frames } = collect(rateHz, 50);
      const input = tone(rateHz, 1000, rateHz, 0.5);
      for (let pos = 0; pos < input.length; pos += 128) framer.push(input.subarray(pos, pos + 128));
      framer.flush();
      const frameSamples = (rateHz * 50) / 1000;
      expect(frames.slice(0, -1).every((f) => f.length === frameSamples)).toBe(true);
      const out = Int16Array.from(frames.flatMap((f) => [...f]));
      expect(out).toEqual(Int16Array.from(input, (x) => Math.round(x * 32767)));
    });
  }

  it('refuses a frame length that is not a positive whole number of milliseconds', () => {
    expect(() => new PcmFramer(16_000, 0, () => {})).toThrow(/frameMs/);
    expect(() => new PcmFramer(16_000, 2.5, () => {})).toThrow(/frameMs/);
  });
});

describe('rmsLevel', () => {
  it('is 0 for silence and for no samples, the amplitude for a square wave, amplitude/sqrt(2) for a sine', () => {
    expect(rmsLevel(new Float32Array(160))).toBe(0);
    expect(rmsLevel(new Float32Array(0))).toBe(0);
    expect(rmsLevel(Float32Array.from({ length: 160 }, (_, i) => (i % 2 ? 0.5 : -0.5)))).toBeCloseTo(0.5, 6);
    expect(rmsLevel(tone(16_000, 1000, 16_000, 0.8))).toBeCloseTo(0.8 / Math.SQRT2, 3);
  });
});
