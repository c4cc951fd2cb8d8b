/**
 * engine/audio/pcm.ts and channels.ts on known vectors: G.711 against ITU
 * values and against ffmpeg's decoding of all 256 codes
 * (tests/fixtures/audio/*-256.s16le, from make-fixtures.sh), PCM parsing,
 * frames split anywhere, downmix and channel split.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { alawToLinear16, FrameAligner, mulawToLinear16, pcmToFloat } from '../engine/audio/pcm.js';
import { deinterleave, downmixInterleaved, downmixPlanes } from '../engine/audio/channels.js';
import { PROJECT_ROOT } from '../testkit/paths.js';

const FIXTURES = path.join(PROJECT_ROOT, 'tests', 'fixtures', 'audio');

function readS16(file: string): number[] {
  const bytes = readFileSync(path.join(FIXTURES, file));
  return Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readInt16LE(2 * i));
}

describe('G.711', () => {
  it('μ-law decodes the ITU reference points', () => {
    expect(mulawToLinear16(0x00)).toBe(-32124); // most negative
    expect(mulawToLinear16(0x80)).toBe(32124); // most positive
    expect(mulawToLinear16(0xff)).toBe(0);
    expect(mulawToLinear16(0x7f)).toBe(0);
    expect(mulawToLinear16(0xfe)).toBe(8);
    expect(mulawToLinear16(0x7e)).toBe(-8);
    expect(mulawToLinear16(0xef)).toBe(132); // segment 1 starts
  });

  it('A-law decodes the ITU reference points', () => {
    expect(alawToLinear16(0xd5)).toBe(8); // smallest positive
    expect(alawToLinear16(0x55)).toBe(-8);
    expect(alawToLinear16(0xaa)).toBe(32256); // most positive
    expect(alawToLinear16(0x2a)).toBe(-32256);
    expect(alawToLinear16(0xc5)).toBe(264); // segment 1 starts
  });

  it('all 256 codes match ffmpeg for both laws', () => {
    const mulaw = readS16('mulaw-256.s16le');
    const alaw = readS16('alaw-256.s16le');
    expect(mulaw).toHaveLength(256);
    for (let b = 0; b < 256; b++) {
      expect(mulawToLinear16(b), `μ-law 0x${b.toString(16)}`).toBe(mulaw[b]);
      expect(alawToLinear16(b), `A-law 0x${b.toString(16)}`).toBe(alaw[b]);
    }
  });

  it('pcmToFloat uses the same tables, scaled by 1/32768', () => {
    const all = Uint8Array.from({ length: 256 }, (_, b) => b);
    const mulaw = pcmToFloat('mulaw', all);
    const alaw = pcmToFloat('alaw', all);
    for (let b = 0; b < 256; b++) {
      expect(mulaw[b]).toBe(mulawToLinear16(b) / 32768);
      expect(alaw[b]).toBe(alawToLinear16(b) / 32768);
    }
  });
});

describe('linear PCM', () => {
  it('s16le: little-endian, signed, full scale at -32768', () => {
    const bytes = Uint8Array.of(0x00, 0x80, 0xff, 0x7f, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00);
    expect(Array.from(pcmToFloat('pcm_s16le', bytes))).toEqual([-1, 32767 / 32768, -1 / 32768, 1 / 32768, 0]);
  });

  it('s16le reads from any byte offset (client chunks are not aligned)', () => {
    const backing = Uint8Array.of(0xaa, 0x00, 0x40, 0x00, 0xc0);
    expect(Array.from(pcmToFloat('pcm_s16le', backing.subarray(1)))).toEqual([0.5, -0.5]);
  });

  it('f32le: values pass through, NaN becomes 0, everything is clipped to [-1, 1]', () => {
    const input = [0.5, -0.25, 1, -1, 2, -3, Infinity, -Infinity, NaN, 1e-30];
    const bytes = new Uint8Array(4 * input.length + 1).subarray(1); // unaligned on purpose
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    input.forEach((x, i) => view.setFloat32(4 * i, x, true));
    expect(Array.from(pcmToFloat('pcm_f32le', bytes))).toEqual([0.5, -0.25, 1, -1, 1, -1, 1, -1, 0, Math.fround(1e-30)]);
  });
});

describe('FrameAligner', () => {
  it('cuts anywhere, even inside a sample, and loses nothing', () => {
    const frameBytes = 4; // s16le stereo
    const stream = Uint8Array.from({ length: 4001 }, (_, i) => (i * 37) & 0xff);
    let seed = 7;
    const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const aligner = new FrameAligner(frameBytes);
    const out: number[] = [];
    for (let pos = 0; pos < stream.length; ) {
      const size = Math.floor(random() * 11); // 0..10 bytes: splits inside samples and empty chunks
      const whole = aligner.take(stream.subarray(pos, pos + size));
      expect(whole.length % frameBytes).toBe(0);
      out.push(...whole);
      pos += size;
    }
    // Every whole frame came out, in order; the last byte (a partial frame) is held back.
    expect(out).toEqual(Array.from(stream.subarray(0, 4000)));
    expect(aligner.take(Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(stream[4000], 1, 2, 3));
  });
});

describe('channels', () => {
  const stereo = Float32Array.of(1, -1, 0.5, 0.25, 0, 1);

  it('deinterleave splits frames into planes', () => {
    const [left, right] = deinterleave(stereo, 2);
    expect(Array.from(left)).toEqual([1, 0.5, 0]);
    expect(Array.from(right)).toEqual([-1, 0.25, 1]);
  });

  it('downmix is the mean of the channels, interleaved or planar', () => {
    expect(Array.from(downmixInterleaved(stereo, 2))).toEqual([0, 0.375, 0.5]);
    expect(Array.from(downmixPlanes(deinterleave(stereo, 2)))).toEqual([0, 0.375, 0.5]);
    const three = Float32Array.of(0.3, 0.6, 0.9, -0.3, 0, 0.3);
    expect(Array.from(downmixInterleaved(three, 3)).map((x) => Math.round(x * 1e6) / 1e6)).toEqual([0.6, 0]);
  });

  it('mono passes through untouched', () => {
    const mono = Float32Array.of(0.1, 0.2);
    expect(downmixInterleaved(mono, 1)).toBe(mono);
    expect(downmixPlanes([mono])).toBe(mono);
  });
});
