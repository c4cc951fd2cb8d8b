/**
 * Test kit: audio for tests and benches in the formats real clients send, made by Debian's ffmpeg from
 * 16 kHz float speech: PCM at other rates and layouts, G.711, Ogg/Opus,
 * WebM/Opus, and raw Opus packets (split out of an Ogg stream here, with a
 * parser independent of the engine's demuxer).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Runs ffmpeg on 16 kHz mono audio (several planes: one channel each) with `outArgs`, and returns what it writes. */
export function ffmpegEncode(audio16k: Float32Array | Float32Array[], outArgs: string[]): Uint8Array {
  const inputs = Array.isArray(audio16k) ? audio16k : [audio16k];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lt-encode-'));
  try {
    const inArgs: string[] = [];
    inputs.forEach((plane, i) => {
      const file = path.join(dir, `in${i}.f32`);
      writeFileSync(file, new Uint8Array(plane.buffer, plane.byteOffset, plane.byteLength));
      inArgs.push('-f', 'f32le', '-ar', '16000', '-ac', '1', '-i', file);
    });
    const merge = inputs.length > 1 ? ['-filter_complex', `${inputs.map((_, i) => `[${i}:a]`).join('')}amerge=inputs=${inputs.length}`] : [];
    const out = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...inArgs, ...merge, '-map_metadata', '-1', ...outArgs, 'pipe:1'], { maxBuffer: 1 << 28 });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Opus packets of an Ogg/Opus stream, OpusHead and OpusTags left out. */
export function oggOpusPackets(ogg: Uint8Array): Uint8Array[] {
  const packets: Uint8Array[] = [];
  let pending: number[] = [];
  for (let pos = 0; pos + 27 <= ogg.length; ) {
    if (String.fromCharCode(...ogg.subarray(pos, pos + 4)) !== 'OggS') throw new Error(`no Ogg page at byte ${pos}`);
    const segments = ogg[pos + 26];
    let body = pos + 27 + segments;
    for (let i = 0; i < segments; i++) {
      const lace = ogg[pos + 27 + i];
      pending.push(...ogg.subarray(body, body + lace));
      body += lace;
      if (lace < 255) {
        packets.push(Uint8Array.from(pending));
        pending = [];
      }
    }
    pos = body;
  }
  return packets.slice(2);
}

/** Chunk sizes like MediaRecorder's timeslices: uneven, from a fixed seed. */
export function unevenSizes(count: number, min: number, max: number, seed = 1): number[] {
  let x = seed;
  return Array.from({ length: count }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return min + (x % (max - min + 1));
  });
}
