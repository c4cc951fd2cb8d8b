/**
 * Test kit: speech for tests and benches. Synthesises English with espeak-ng
 * or flite, and reads any audio file sox can (WAV, FLAC, ...), as 16 kHz mono
 * float32 in memory (temporary WAVs live in the OS temp dir); silence,
 * concatenation and s16le conversion.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Voice {
  engine: 'espeak' | 'flite';
  voice: string;
}

export function synthesize(text: string, voice: Voice = { engine: 'espeak', voice: 'en-us' }): Float32Array {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lt-speech-'));
  try {
    const wav = path.join(dir, 'speech.wav');
    if (voice.engine === 'flite') execFileSync('flite', ['-voice', voice.voice, '-t', text, '-o', wav]);
    else execFileSync('espeak-ng', ['-v', voice.voice, '-w', wav, text]);
    return readAudio16k(wav);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Any file sox can read, as 16 kHz mono float32 (first channel, or `remix`). */
export function readAudio16k(file: string, channel?: number): Float32Array {
  const remix = channel === undefined ? ['remix', '-'] : ['remix', String(channel + 1)];
  const raw = execFileSync('sox', [file, '-t', 'raw', '-r', '16000', '-e', 'float', '-b', '32', '-c', '1', '-', ...remix], { maxBuffer: 1 << 30 });
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

export function silence(ms: number): Float32Array {
  return new Float32Array(Math.round(ms * 16));
}

export function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export function toS16le(samples: Float32Array): Uint8Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32767)));
  return new Uint8Array(out.buffer);
}
