/**
 * Audio ingest: one streaming decoder per session, from the client's
 * declared encoding to 16 kHz float32, one array per transcript channel
 * (a mono mix, or with `multichannel` one per input channel).
 *
 * - pcm_s16le, pcm_f32le, mulaw, alaw: interleaved at the declared rate and
 *   channel count, cut anywhere (even inside a sample); resampled here.
 * - opus: one raw Opus packet per chunk (WebCodecs AudioEncoder, RTP
 *   payloads), mono or stereo as declared; the declared rate is not used
 *   (Opus decodes to any rate) and no pre-skip is known, so the encoder's
 *   few ms of look-ahead stay in.
 * - ogg_opus, webm_opus: container byte streams cut anywhere (MediaRecorder
 *   chunks); their own header gives rate, channels and pre-skip. With
 *   `multichannel` the container must have the declared channel count, since
 *   the session sets up its transcript channels before the header arrives;
 *   otherwise whatever it carries is mixed to mono.
 *
 * `push` is async (a container's Opus decoder can only be made once its
 * header has arrived, and making one is async); callers await each push
 * before the next and before `flush`. `flush` emits what the input so far
 * still owes (the resampler's look-ahead, taking the future as silence) and
 * leaves the decoder ready for more input: the session calls it on finalize
 * too, not only at the end.
 *
 * Errors are AudioDecodeError. A recoverable one loses the offending chunk
 * only; after any other the decoder is dead and keeps throwing it.
 */
import { SAMPLE_RATE_HZ } from './format.js';
import { downmixInterleaved, downmixPlanes, deinterleave } from './channels.js';
import { AudioDecodeError } from './errors.js';
import { OggOpusDemuxer } from './ogg-opus.js';
import { MAX_CHANNELS, type OpusHead } from './opus-head.js';
import { OpusPacketDecoder, rawOpusHead } from './opus.js';
import { bytesPerSample, FrameAligner, PCM_ENCODINGS, pcmToFloat, type PcmEncoding } from './pcm.js';
import { Resampler } from './resample.js';
import { WebmOpusDemuxer } from './webm-opus.js';

export { AudioDecodeError } from './errors.js';
export type { AudioErrorCode } from './errors.js';

export const ENCODINGS = [...PCM_ENCODINGS, 'opus', 'ogg_opus', 'webm_opus'] as const;
export type Encoding = (typeof ENCODINGS)[number];
/**
 * The rates raw encodings may declare: what the resampler is built and tested
 * for. The protocol allows the same range (protocol/session-config.ts);
 * tests/engine.test.ts checks that every format it allows opens a stream.
 */
export const MIN_SAMPLE_RATE_HZ = 8000;
export const MAX_SAMPLE_RATE_HZ = 192000;

export interface AudioDecoderOptions {
  encoding: string;
  sampleRateHz: number;
  channels: number;
  multichannel: boolean;
}

export interface AudioDecoder {
  /** The 16 kHz samples `chunk` completes, one array per output channel (all the same length, possibly 0). */
  push(chunk: Uint8Array): Promise<Float32Array[]>;
  /** The samples still owed for the input so far; more input may follow. */
  flush(): Float32Array[];
  /** Frees the decoder (WASM memory included). Idempotent. */
  close(): void;
  readonly outputChannels: number;
}

/** What differs per encoding; AudioDecoderImpl adds the bookkeeping they share. */
interface Backend {
  decode(chunk: Uint8Array): Float32Array[] | Promise<Float32Array[]>;
  flush(): Float32Array[];
  close(): void;
}

export async function createAudioDecoder(opts: AudioDecoderOptions): Promise<AudioDecoder> {
  const { encoding, sampleRateHz, channels, multichannel } = opts;
  if (!(ENCODINGS as readonly string[]).includes(encoding)) {
    throw new AudioDecodeError('unsupported_encoding', `encoding "${encoding}" is not supported; use one of ${ENCODINGS.join(', ')}`, false);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
    throw badConfig(`channels must be an integer from 1 to ${MAX_CHANNELS} (got ${channels})`);
  }
  const outputChannels = multichannel ? channels : 1;
  const enc = encoding as Encoding;
  let backend: Backend;
  if (enc === 'opus') {
    if (channels > 2) throw badConfig(`raw opus packets carry 1 or 2 channels (got channels=${channels}); send more channels as ogg_opus or webm_opus`);
    backend = new RawOpusBackend(await OpusPacketDecoder.create(rawOpusHead(channels as 1 | 2)), multichannel);
  } else if (enc === 'ogg_opus' || enc === 'webm_opus') {
    backend = new ContainerOpusBackend(enc, channels, multichannel);
  } else {
    if (!Number.isInteger(sampleRateHz) || sampleRateHz < MIN_SAMPLE_RATE_HZ || sampleRateHz > MAX_SAMPLE_RATE_HZ) {
      throw badConfig(`sample_rate must be an integer from ${MIN_SAMPLE_RATE_HZ} to ${MAX_SAMPLE_RATE_HZ} Hz for ${encoding} (got ${sampleRateHz})`);
    }
    backend = new PcmBackend(enc, sampleRateHz, channels, multichannel);
  }
  return new AudioDecoderImpl(backend, outputChannels);
}

function badConfig(message: string): AudioDecodeError {
  return new AudioDecodeError('bad_config', message, false);
}

class AudioDecoderImpl implements AudioDecoder {
  private failure: AudioDecodeError | null = null;
  private closed = false;
  private busy = false;

  constructor(
    private readonly backend: Backend,
    readonly outputChannels: number,
  ) {}

  async push(chunk: Uint8Array): Promise<Float32Array[]> {
    this.checkUsable();
    this.busy = true;
    try {
      const out = await this.backend.decode(chunk);
      // close() while the backend awaited: drop the output, the session is gone.
      return this.closed ? emptyPlanes(this.outputChannels) : out;
    } catch (err) {
      throw this.record(err);
    } finally {
      this.busy = false;
    }
  }

  flush(): Float32Array[] {
    this.checkUsable();
    try {
      return this.backend.flush();
    } catch (err) {
      throw this.record(err);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.backend.close();
  }

  private checkUsable(): void {
    if (this.closed) throw new Error('AudioDecoder used after close()');
    if (this.busy) throw new Error('AudioDecoder: await each push() before the next push() or flush()');
    if (this.failure) throw this.failure;
  }

  /** A non-recoverable error is the decoder's last word: every later call repeats it. */
  private record(err: unknown): unknown {
    if (err instanceof AudioDecodeError && !err.recoverable) this.failure = err;
    return err;
  }
}

class PcmBackend implements Backend {
  private readonly aligner: FrameAligner;
  private readonly resamplers: Resampler[] = [];

  constructor(
    private readonly encoding: PcmEncoding,
    sampleRateHz: number,
    private readonly channels: number,
    private readonly multichannel: boolean,
  ) {
    this.aligner = new FrameAligner(bytesPerSample(encoding) * channels);
    for (let ch = 0; ch < (multichannel ? channels : 1); ch++) this.resamplers.push(new Resampler(sampleRateHz, SAMPLE_RATE_HZ));
  }

  decode(chunk: Uint8Array): Float32Array[] {
    const interleaved = pcmToFloat(this.encoding, this.aligner.take(chunk));
    // Mixing before resampling resamples one channel instead of all of them.
    const planes = this.multichannel ? deinterleave(interleaved, this.channels) : [downmixInterleaved(interleaved, this.channels)];
    return planes.map((plane, ch) => this.resamplers[ch].process(plane));
  }

  flush(): Float32Array[] {
    return this.resamplers.map((r) => r.flush());
  }

  close(): void {}
}

class RawOpusBackend implements Backend {
  constructor(
    private readonly opus: OpusPacketDecoder,
    private readonly multichannel: boolean,
  ) {}

  decode(chunk: Uint8Array): Float32Array[] {
    const planes = this.opus.decode(chunk);
    return this.multichannel ? planes : [downmixPlanes(planes)];
  }

  flush(): Float32Array[] {
    return emptyPlanes(this.multichannel ? this.opus.channels : 1);
  }

  close(): void {
    this.opus.close();
  }
}

class ContainerOpusBackend implements Backend {
  private readonly demuxer: OggOpusDemuxer | WebmOpusDemuxer;
  private opus: OpusPacketDecoder | null = null;
  private closed = false;

  constructor(
    private readonly encoding: 'ogg_opus' | 'webm_opus',
    private readonly channels: number,
    private readonly multichannel: boolean,
  ) {
    this.demuxer = encoding === 'ogg_opus' ? new OggOpusDemuxer() : new WebmOpusDemuxer();
  }

  private get outputChannels(): number {
    return this.multichannel ? this.channels : 1;
  }

  async decode(chunk: Uint8Array): Promise<Float32Array[]> {
    const packets = this.demuxer.push(chunk);
    const head = this.demuxer.head;
    if (!this.opus && head) {
      this.checkChannels(head);
      const opus = await OpusPacketDecoder.create(head);
      if (this.closed) {
        opus.close();
        return emptyPlanes(this.outputChannels);
      }
      this.opus = opus;
    }
    const decoded: Float32Array[][] = [];
    let badPacket: AudioDecodeError | null = null;
    let badPackets = 0;
    for (const packet of packets) {
      try {
        const planes = (this.opus as OpusPacketDecoder).decode(packet);
        decoded.push(this.multichannel ? planes : [downmixPlanes(planes)]);
      } catch (err) {
        if (!(err instanceof AudioDecodeError && err.recoverable)) throw err;
        // The container is intact, so the packets after a bad one still decode: finish the chunk first.
        badPacket ??= err;
        badPackets++;
      }
    }
    if (badPacket) {
      throw new AudioDecodeError('bad_audio', `${badPackets} of the ${packets.length} Opus packets in this chunk are invalid (${badPacket.message}); the chunk was dropped`, true);
    }
    return concatPlanes(decoded, this.outputChannels);
  }

  private checkChannels(head: OpusHead): void {
    if (this.multichannel && head.channels !== this.channels) {
      const container = this.encoding === 'ogg_opus' ? 'Ogg' : 'WebM';
      throw new AudioDecodeError(
        'bad_audio',
        `the ${container} stream has ${head.channels} channel(s) but the session declared channels=${this.channels} with multichannel=true; declare channels=${head.channels}`,
        false,
      );
    }
  }

  flush(): Float32Array[] {
    return emptyPlanes(this.outputChannels);
  }

  close(): void {
    this.closed = true;
    this.opus?.close();
  }
}

function emptyPlanes(channels: number): Float32Array[] {
  return Array.from({ length: channels }, () => new Float32Array(0));
}

/** Per-packet planes, in order, joined into one array per channel. */
function concatPlanes(parts: Float32Array[][], channels: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let ch = 0; ch < channels; ch++) {
    let length = 0;
    for (const planes of parts) length += planes[ch].length;
    const joined = new Float32Array(length);
    let at = 0;
    for (const planes of parts) {
      joined.set(planes[ch], at);
      at += planes[ch].length;
    }
    out.push(joined);
  }
  return out;
}
