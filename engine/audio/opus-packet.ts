/**
 * Structural check of Opus packets (RFC 6716 section 3.4, and Appendix B's
 * self-delimiting framing for the inner streams of a multistream packet),
 * before they reach libopus: libopus rejects the same packets, but its WASM
 * build logs every rejection with console.error, which a client must not be
 * able to flood the server log with. What passes here, libopus decodes.
 */
import { AudioDecodeError } from './errors.js';

/** Largest frame, in bytes (RFC 6716 section 3.2.1). */
const MAX_FRAME_BYTES = 1275;
/** Longest packet: 120 ms at 48 kHz. */
const MAX_PACKET_SAMPLES_48K = 5760;

/** Samples per frame at 48 kHz, by TOC configuration number (RFC 6716 table 2). */
function frameSamples48k(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]; // SILK-only: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config % 2]; // hybrid: 10, 20 ms
  return [120, 240, 480, 960][config % 4]; // CELT-only: 2.5, 5, 10, 20 ms
}

/** A bad packet costs only itself: the decoder takes the next one as usual. */
function invalid(reason: string): AudioDecodeError {
  return new AudioDecodeError('bad_audio', `invalid Opus packet: ${reason}; it was skipped`, true);
}

/**
 * Checks a packet carrying `streams` Opus streams (1 unless the container
 * declares a multistream layout) and returns its duration in samples per
 * channel at 48 kHz. Throws a recoverable AudioDecodeError if it is invalid.
 */
export function opusPacketSamples48k(packet: Uint8Array, streams: number): number {
  let pos = 0;
  let duration = 0;
  for (let s = 0; s < streams; s++) {
    const last = s === streams - 1;
    const parsed = parseStreamPacket(packet, pos, !last);
    if (s > 0 && parsed.samples48k !== duration) throw invalid('its streams differ in duration');
    duration = parsed.samples48k;
    pos = parsed.end;
  }
  return duration;
}

/** One stream's packet starting at `start`; self-delimited ones carry their own length and may be followed by more. */
function parseStreamPacket(data: Uint8Array, start: number, selfDelimited: boolean): { samples48k: number; end: number } {
  const end = data.length;
  if (start >= end) throw invalid(start === 0 ? 'empty packet' : 'a stream is missing');
  const toc = data[start];
  let pos = start + 1;
  const readLength = (): number => {
    if (pos >= end) throw invalid('truncated frame length');
    const first = data[pos++];
    if (first < 252) return first;
    if (pos >= end) throw invalid('truncated frame length');
    return first + 4 * data[pos++];
  };

  const sizes: number[] = [];
  let paddingBytes = 0;
  let frames: number;
  switch (toc & 3) {
    case 0: // one frame
      frames = 1;
      sizes.push(selfDelimited ? readLength() : end - pos);
      break;
    case 1: {
      // two frames of equal size
      frames = 2;
      if (!selfDelimited && (end - pos) % 2 !== 0) throw invalid('two equal frames in an odd number of bytes');
      const size = selfDelimited ? readLength() : (end - pos) / 2;
      sizes.push(size, size);
      break;
    }
    case 2: {
      // two frames, the first one's size given
      frames = 2;
      const first = readLength();
      sizes.push(first, selfDelimited ? readLength() : end - pos - first);
      break;
    }
    default: {
      // any number of frames
      if (pos >= end) throw invalid('missing frame count');
      const countByte = data[pos++];
      frames = countByte & 0x3f;
      if (frames === 0) throw invalid('zero frames');
      if (countByte & 0x40) {
        let chunk: number;
        do {
          if (pos >= end) throw invalid('truncated padding length');
          chunk = data[pos++];
          paddingBytes += chunk === 255 ? 254 : chunk;
        } while (chunk === 255);
      }
      const variableSize = (countByte & 0x80) !== 0;
      if (variableSize) for (let f = 0; f < frames - 1; f++) sizes.push(readLength());
      if (selfDelimited) {
        const size = readLength();
        while (sizes.length < frames) sizes.push(size); // constant size: every frame; variable: the last
      } else {
        const rest = end - pos - paddingBytes - sizes.reduce((a, b) => a + b, 0);
        if (variableSize) sizes.push(rest);
        else {
          if (rest % frames !== 0) throw invalid('equal-size frames do not divide the packet');
          while (sizes.length < frames) sizes.push(rest / frames);
        }
      }
    }
  }

  const samples48k = frames * frameSamples48k(toc >> 3);
  if (samples48k > MAX_PACKET_SAMPLES_48K) throw invalid('longer than 120 ms');
  let payloadBytes = 0;
  for (const size of sizes) {
    if (size < 0) throw invalid('frames overrun the packet');
    if (size > MAX_FRAME_BYTES) throw invalid(`a frame of ${size} bytes (at most ${MAX_FRAME_BYTES})`);
    payloadBytes += size;
  }
  const packetEnd = pos + payloadBytes + paddingBytes;
  if (packetEnd > end) throw invalid('frames overrun the packet');
  return { samples48k, end: selfDelimited ? packetEnd : end };
}
