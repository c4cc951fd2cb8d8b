/**
 * The Opus identification header ("OpusHead", RFC 7845 section 5.1): the
 * first packet of an Ogg Opus stream and the CodecPrivate of a WebM Opus
 * track. It says how many channels there are, how they map onto Opus
 * streams, and how many decoded samples to drop at the start.
 */
import { AudioDecodeError, corruptStream } from './errors.js';

/** The most channels a session can declare, so the most a container may carry. */
export const MAX_CHANNELS = 8;

export interface OpusHead {
  channels: number;
  /** Decoded samples (at 48 kHz) to discard at the start: the encoder's look-ahead. */
  preSkip48k: number;
  /** Gain the stream asks the decoder to apply, in dB. */
  outputGainDb: number;
  mappingFamily: number;
  streams: number;
  coupledStreams: number;
  /** For each output channel, the decoded stream channel it takes (255: silence). */
  mapping: number[];
}

const MAGIC = 'OpusHead';
const FAMILY_0_BYTES = 19;

export function parseOpusHead(bytes: Uint8Array): OpusHead {
  if (bytes.length < FAMILY_0_BYTES || String.fromCharCode(...bytes.subarray(0, 8)) !== MAGIC) {
    throw corruptStream('the stream has no valid Opus identification header (OpusHead)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[8];
  const channels = bytes[9];
  const preSkip48k = view.getUint16(10, true);
  const outputGainDb = view.getInt16(16, true) / 256; // Q7.8
  const mappingFamily = bytes[18];
  // Only the major version (high nibble) breaks compatibility.
  if (version >> 4 !== 0) throw unsupported(`OpusHead version ${version} is not supported`);
  if (channels === 0) throw corruptStream('OpusHead declares 0 channels');
  if (channels > MAX_CHANNELS) throw unsupported(`Opus streams of more than ${MAX_CHANNELS} channels are not supported (this one has ${channels})`);

  if (mappingFamily === 0) {
    if (channels > 2) throw corruptStream(`OpusHead channel mapping family 0 allows 1 or 2 channels, not ${channels}`);
    return { channels, preSkip48k, outputGainDb, mappingFamily, streams: 1, coupledStreams: channels - 1, mapping: channels === 2 ? [0, 1] : [0] };
  }
  // Family 1 is the Vorbis channel order, 255 is "no defined order": both carry an explicit table.
  if (mappingFamily !== 1 && mappingFamily !== 255) {
    throw unsupported(`OpusHead channel mapping family ${mappingFamily} (ambisonics or reserved) is not supported`);
  }
  if (bytes.length < 21 + channels) throw corruptStream('OpusHead channel mapping table is truncated');
  const streams = bytes[19];
  const coupledStreams = bytes[20];
  const mapping = Array.from(bytes.subarray(21, 21 + channels));
  if (streams === 0 || coupledStreams > streams || streams + coupledStreams > 255) {
    throw corruptStream(`OpusHead has an impossible stream layout (${streams} streams, ${coupledStreams} coupled)`);
  }
  if (mapping.some((m) => m !== 255 && m >= streams + coupledStreams)) {
    throw corruptStream('OpusHead channel mapping refers to a stream channel that does not exist');
  }
  return { channels, preSkip48k, outputGainDb, mappingFamily, streams, coupledStreams, mapping };
}

function unsupported(message: string): AudioDecodeError {
  return new AudioDecodeError('unsupported_encoding', message, false);
}
