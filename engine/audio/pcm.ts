/**
 * Uncompressed sample formats to float: 16-bit and 32-bit-float little-endian
 * PCM and 8-bit G.711 (μ-law, A-law), plus the framing that lets a client cut
 * its byte stream anywhere, even inside a sample.
 */

export type PcmEncoding = 'pcm_s16le' | 'pcm_f32le' | 'mulaw' | 'alaw';

export const PCM_ENCODINGS: readonly PcmEncoding[] = ['pcm_s16le', 'pcm_f32le', 'mulaw', 'alaw'];

export function bytesPerSample(encoding: PcmEncoding): number {
  switch (encoding) {
    case 'pcm_s16le':
      return 2;
    case 'pcm_f32le':
      return 4;
    case 'mulaw':
    case 'alaw':
      return 1;
  }
}

/**
 * G.711 μ-law byte to 16-bit linear, as ITU-T G.711 and the classic Sun
 * reference (g711.c) define it: the byte is stored inverted, then
 * sign | 3-bit segment | 4-bit mantissa with a bias of 0x84.
 */
export function mulawToLinear16(byte: number): number {
  const u = ~byte & 0xff;
  const biased = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - biased : biased - 0x84;
}

/** G.711 A-law byte to 16-bit linear (even bits are stored inverted: XOR 0x55). */
export function alawToLinear16(byte: number): number {
  const a = byte ^ 0x55;
  const segment = (a & 0x70) >> 4;
  let magnitude = (a & 0x0f) << 4;
  if (segment === 0) magnitude += 8;
  else magnitude = (magnitude + 0x108) << (segment - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

function floatTable(toLinear16: (byte: number) => number): Float32Array {
  const table = new Float32Array(256);
  for (let b = 0; b < 256; b++) table[b] = toLinear16(b) / 32768;
  return table;
}

const MULAW_TO_FLOAT = floatTable(mulawToLinear16);
const ALAW_TO_FLOAT = floatTable(alawToLinear16);

/**
 * Whole samples (bytes.length a multiple of bytesPerSample) to float in
 * [-1, 1], still interleaved. Float input is sanitised: NaN becomes 0 and
 * everything else is clipped to [-1, 1], infinities included, because one
 * NaN or huge value would poison the resampler's and the recogniser's state.
 */
export function pcmToFloat(encoding: PcmEncoding, bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / bytesPerSample(encoding));
  switch (encoding) {
    case 'pcm_s16le':
      for (let i = 0, b = 0; i < out.length; i++, b += 2) {
        // The high byte shifted to the top of an int32 and back carries the sign.
        out[i] = (((bytes[b + 1] << 24) >> 16) | bytes[b]) / 32768;
      }
      break;
    case 'pcm_f32le': {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < out.length; i++) {
        const x = view.getFloat32(4 * i, true);
        out[i] = x > 1 ? 1 : x < -1 ? -1 : x === x ? x : 0; // x !== x only for NaN
      }
      break;
    }
    case 'mulaw':
      for (let i = 0; i < out.length; i++) out[i] = MULAW_TO_FLOAT[bytes[i]];
      break;
    case 'alaw':
      for (let i = 0; i < out.length; i++) out[i] = ALAW_TO_FLOAT[bytes[i]];
      break;
  }
  return out;
}

/**
 * Cuts a byte stream into whole frames of `frameBytes` (one sample of every
 * channel), carrying the incomplete tail of each chunk over to the next.
 */
export class FrameAligner {
  private remainder: Uint8Array = new Uint8Array(0);

  constructor(private readonly frameBytes: number) {}

  /** The whole frames that `chunk` completes, as one contiguous array. */
  take(chunk: Uint8Array): Uint8Array {
    let bytes = chunk;
    if (this.remainder.length > 0) {
      bytes = new Uint8Array(this.remainder.length + chunk.length);
      bytes.set(this.remainder);
      bytes.set(chunk, this.remainder.length);
    }
    const wholeBytes = bytes.length - (bytes.length % this.frameBytes);
    // slice, not subarray: the remainder must not pin the client's whole chunk in memory.
    this.remainder = bytes.slice(wholeBytes);
    return bytes.subarray(0, wholeBytes);
  }
}
