/**
 * Test kit: a minimal WAV reader without sox, for the diarization tests and
 * bench: PCM int16 and IEEE
 * float32 (plain or WAVE_FORMAT_EXTENSIBLE), channels averaged to mono.
 */
import { readFileSync } from 'node:fs';

export interface WavAudio {
  sampleRateHz: number;
  samples: Float32Array;
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

export function readWav(path: string): WavAudio {
  const buf = readFileSync(path);
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path}: not a WAV file`);
  let format = 0;
  let channels = 0;
  let sampleRateHz = 0;
  let bitsPerSample = 0;
  for (let offset = 12; offset + 8 <= buf.length; ) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = buf.readUInt16LE(body);
      channels = buf.readUInt16LE(body + 2);
      sampleRateHz = buf.readUInt32LE(body + 4);
      bitsPerSample = buf.readUInt16LE(body + 14);
      // The real format code is the first two bytes of the SubFormat GUID.
      if (format === EXTENSIBLE) format = buf.readUInt16LE(body + 24);
    } else if (id === 'data') {
      if (channels === 0) throw new Error(`${path}: data before fmt`);
      const frames = Math.floor(Math.min(size, buf.length - body) / ((bitsPerSample / 8) * channels));
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) {
          const at = body + (i * channels + c) * (bitsPerSample / 8);
          if (format === PCM && bitsPerSample === 16) sum += buf.readInt16LE(at) / 32768;
          else if (format === IEEE_FLOAT && bitsPerSample === 32) sum += buf.readFloatLE(at);
          else throw new Error(`${path}: unsupported WAV format ${format}/${bitsPerSample} bit`);
        }
        samples[i] = sum / channels;
      }
      return { sampleRateHz, samples };
    }
    offset = body + size + (size % 2); // chunks are word-aligned
  }
  throw new Error(`${path}: no data chunk`);
}
