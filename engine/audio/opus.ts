/**
 * Opus packets to 16 kHz float planes, with libopus (the opus-decoder WASM
 * build), one instance per stream. libopus decodes straight to 16 kHz:
 * SILK runs at that rate anyway and CELT band-limits before decimating, so
 * no resampler of ours sits behind it.
 */
import { OpusDecoder } from 'opus-decoder';
import { AudioDecodeError, corruptStream } from './errors.js';
import type { OpusHead } from './opus-head.js';
import { opusPacketSamples48k } from './opus-packet.js';
import { SAMPLE_RATE_HZ } from './format.js';

/** opus-decoder's WASM input buffer: 120 ms at 256 kbit/s per channel. A packet must fit. */
const MAX_PACKET_BYTES_PER_CHANNEL = 3840;

/** The header of a stream that comes without one (raw packets): mono or stereo, nothing to skip. */
export function rawOpusHead(channels: 1 | 2): OpusHead {
  return {
    channels,
    preSkip48k: 0,
    outputGainDb: 0,
    mappingFamily: 0,
    streams: 1,
    coupledStreams: channels - 1,
    mapping: channels === 2 ? [0, 1] : [0],
  };
}

export class OpusPacketDecoder {
  private freed = false;
  /** libopus failed on a packet our checks passed: its WASM heap may be corrupt, even free() can trap. */
  private broken = false;

  private constructor(
    private readonly decoder: OpusDecoder<typeof SAMPLE_RATE_HZ>,
    private readonly head: OpusHead,
    private readonly gain: number,
  ) {}

  static async create(head: OpusHead): Promise<OpusPacketDecoder> {
    const decoder = new OpusDecoder({
      sampleRate: SAMPLE_RATE_HZ,
      channels: head.channels,
      streamCount: head.streams,
      coupledStreamCount: head.coupledStreams,
      channelMappingTable: head.mapping,
      // opus-decoder counts pre-skip in output samples.
      preSkip: Math.round((head.preSkip48k * SAMPLE_RATE_HZ) / 48000),
    });
    await decoder.ready;
    return new OpusPacketDecoder(decoder, head, 10 ** (head.outputGainDb / 20));
  }

  get channels(): number {
    return this.head.channels;
  }

  /** One plane per channel. Throws a recoverable AudioDecodeError for a bad packet, after which the next one decodes. */
  decode(packet: Uint8Array): Float32Array[] {
    if (packet.length > MAX_PACKET_BYTES_PER_CHANNEL * this.head.channels) {
      throw new AudioDecodeError('bad_audio', `Opus packet of ${packet.length} bytes is too large to be real audio; it was skipped`, true);
    }
    opusPacketSamples48k(packet, this.head.streams);
    // Past that check, libopus has only been seen to fail on multistream packets, after which the
    // next call trapped (out-of-bounds access in the WASM heap): so any failure here ends the stream.
    let decoded;
    try {
      decoded = this.decoder.decodeFrame(packet);
    } catch (err) {
      this.broken = true;
      throw corruptStream(`the Opus decoder failed on this stream (${err instanceof Error ? err.message : String(err)})`);
    }
    if (decoded.errors.length > 0) {
      this.broken = true;
      throw corruptStream(`the Opus decoder failed on this stream (${decoded.errors[0].message})`);
    }
    if (this.gain !== 1) for (const plane of decoded.channelData) for (let i = 0; i < plane.length; i++) plane[i] *= this.gain;
    return decoded.channelData;
  }

  close(): void {
    if (this.freed) return;
    this.freed = true;
    // Each instance has its own WASM memory: a broken one is left to the garbage collector whole.
    if (!this.broken) this.decoder.free();
  }
}
