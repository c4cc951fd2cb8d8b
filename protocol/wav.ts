/**
 * A WAV file as the protocol's audio: which `encoding`, `sample_rate` and
 * `channels` its samples go as, and those samples' bytes. 16-bit PCM, 32-bit
 * float, A-law and mu-law go as they are; 8, 24 and 32-bit integer PCM
 * become 32-bit float. Shared by the clients (the stream-wav example) and
 * the server (file uploads without ffmpeg), so both read WAV alike.
 */
import type { AudioEncoding } from './messages.js';

export interface WavAudio {
  encoding: Extract<AudioEncoding, 'pcm_s16le' | 'pcm_f32le' | 'alaw' | 'mulaw'>;
  sampleRateHz: number;
  channels: number;
  /** The file's format, for people: `WAV, 16-bit, 44100 Hz, 2 channel(s)`. */
  description: string;
  /** Interleaved samples in `encoding`. */
  data: Uint8Array;
}

export class WavError extends Error {
  override readonly name = 'WavError';
}

const WAVE_PCM = 1;
const WAVE_FLOAT = 3;
const WAVE_ALAW = 6;
const WAVE_MULAW = 7;
const WAVE_EXTENSIBLE = 0xfffe;

const ascii = (bytes: Uint8Array, from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));

/** Whether the bytes start like a RIFF WAVE file. */
export function isWav(bytes: Uint8Array): boolean {
  return ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WAVE';
}

/** RIFF WAVE: the `fmt ` and `data` chunks; a data size past the end (a streamed WAV) means "to the end". */
export function readWav(bytes: Uint8Array): WavAudio {
  if (!isWav(bytes)) throw new WavError('WAV: not a RIFF WAVE file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let format: { tag: number; channels: number; rateHz: number; bits: number } | null = null;
  for (let pos = 12; pos + 8 <= bytes.length; ) {
    const id = ascii(bytes, pos, pos + 4);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      let tag = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE: the real tag is the first two bytes of the sub-format GUID.
      if (tag === WAVE_EXTENSIBLE && size >= 26) tag = view.getUint16(body + 24, true);
      format = { tag, channels: view.getUint16(body + 2, true), rateHz: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (id === 'data') {
      if (!format) throw new WavError('WAV: the data chunk comes before the fmt chunk');
      return wavData(format, bytes.subarray(body, Math.min(bytes.length, body + size)));
    }
    pos = body + size + (size % 2); // chunks are padded to even sizes
  }
  throw new WavError('WAV: no fmt and data chunks');
}

function wavData(format: { tag: number; channels: number; rateHz: number; bits: number }, data: Uint8Array): WavAudio {
  const { tag, channels, rateHz, bits } = format;
  if (channels < 1 || rateHz < 1) throw new WavError(`WAV: ${channels} channel(s) at ${rateHz} Hz is not audio`);
  const as = (encoding: WavAudio['encoding'], samples: Uint8Array): WavAudio => ({ encoding, sampleRateHz: rateHz, channels, description: `WAV, ${bits}-bit, ${rateHz} Hz, ${channels} channel(s)`, data: samples });
  if (tag === WAVE_PCM && bits === 16) return as('pcm_s16le', data);
  if (tag === WAVE_FLOAT && bits === 32) return as('pcm_f32le', data);
  if (tag === WAVE_ALAW && bits === 8) return as('alaw', data);
  if (tag === WAVE_MULAW && bits === 8) return as('mulaw', data);
  if (tag === WAVE_PCM && (bits === 8 || bits === 24 || bits === 32)) return as('pcm_f32le', integerPcmToFloat(data, bits));
  throw new WavError(`WAV: format ${tag} at ${bits} bits is not supported (use 16-bit PCM, 32-bit float, A-law or mu-law)`);
}

/** 8-bit (unsigned), 24 and 32-bit (signed) little-endian integer PCM as 32-bit float, little-endian. */
export function integerPcmToFloat(data: Uint8Array, bits: number): Uint8Array {
  const bytesPerSample = bits / 8;
  const count = Math.floor(data.length / bytesPerSample);
  const out = new Float32Array(count);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < count; i++) {
    const at = i * bytesPerSample;
    if (bits === 8) out[i] = (data[at] - 128) / 128;
    else if (bits === 24) out[i] = ((data[at] | (data[at + 1] << 8) | (data[at + 2] << 16)) << 8) / 2 ** 31;
    else out[i] = view.getInt32(at, true) / 2 ** 31;
  }
  return new Uint8Array(out.buffer);
}
