/**
 * One audio stream through the engine: a streaming decoder from the stream's
 * encoding to 16 kHz, one ChannelTranscriber per transcript channel (a mono
 * mix, or with `multichannel` one per input channel), and with `diarize` a
 * SpeakerLabeler per channel. Events go to one listener, in order per
 * channel. Like sherpa-onnx's OnlineStream it holds one stream's state; the
 * engine's shared VAD batcher and scheduler do the model work of all streams.
 *
 * Calls must not overlap: await each `push` / `decode` before the next call
 * and before `finalize` or `finish` (a server queues them per session).
 */
import { randomUUID } from 'node:crypto';
import { samplesToMs } from './audio/format.js';
import { createAudioDecoder, type AudioDecoder, type Encoding } from './audio/decoder.js';
import type { Keyterms } from './asr/context-graph.js';
import { ChannelTranscriber } from './channel-transcriber.js';
import type { DiarizationDriver, SpeakerHints } from './diarization/index.js';
import type { StreamListener } from './events.js';
import type { OpenRecognition } from './segment-recognition.js';
import { SpeakerLabeler } from './speaker-labeler.js';
import type { VadBatcher } from './vad/vad-batcher.js';

export interface StreamOptions {
  encoding: Encoding;
  /** The rate of raw PCM as sent; Opus and containers carry their own. */
  sampleRateHz: number;
  channels: number;
  /** Each input channel becomes its own transcript channel; otherwise they are mixed to one. */
  multichannel: boolean;
  /** Partials while a segment grows (finals come either way). */
  interimResults: boolean;
  /** Silence that ends a segment. */
  endpointingMs: number;
  /** Speaker labels on finals, and speaker updates; needs an engine with a diarization model. */
  diarize: boolean;
  /** With diarize: how many people speak (hints; see SpeakerHints). */
  speakers?: SpeakerHints;
  /** Words and phrases its finals favour (names, products, jargon); none if absent or empty. */
  keyterms?: Keyterms;
}

/** What the engine shares with every stream it opens. */
export interface StreamDeps {
  vadBatcher: VadBatcher;
  /** The recognition of a channel's segments: offline or streaming, as the engine's model is. */
  openRecognition: OpenRecognition;
  diarization?: DiarizationDriver;
  partialIntervalMs: number;
  maxSegmentMs: number;
  pauseCutAfterMs: number;
  finalAheadMs: number;
}

export class TranscriptionStream {
  private readonly channels: ChannelTranscriber[] = [];
  private readonly labelers: SpeakerLabeler[] = [];
  private closed = false;
  private samplesPushed = 0;

  private constructor(
    private readonly decoder: AudioDecoder,
    private readonly deps: StreamDeps,
  ) {}

  /** Throws AudioDecodeError for a format the decoder cannot take, and an Error for diarize without a model. */
  static async open(options: StreamOptions, deps: StreamDeps, listener: StreamListener): Promise<TranscriptionStream> {
    if (options.diarize && !deps.diarization) throw new Error('diarize is on, but this engine has no diarization model');
    const decoder = await createAudioDecoder({
      encoding: options.encoding,
      sampleRateHz: options.sampleRateHz,
      channels: options.channels,
      multichannel: options.multichannel,
    });
    const stream = new TranscriptionStream(decoder, deps);
    for (let ch = 0; ch < decoder.outputChannels; ch++) {
      // Keys are the engine's own, unique across all streams of every client.
      const key = `${randomUUID()}/${ch}`;
      const labeler = options.diarize && deps.diarization ? new SpeakerLabeler(deps.diarization.engine, key, ch, listener, options.speakers) : undefined;
      if (labeler) stream.labelers.push(labeler);
      const segmenter = { endpointingMs: options.endpointingMs, maxSegmentMs: deps.maxSegmentMs, pauseCutAfterMs: deps.pauseCutAfterMs, finalAheadMs: deps.finalAheadMs };
      const keyterms = options.keyterms && options.keyterms.phrases.length > 0 ? options.keyterms : undefined;
      const opts = { channel: ch, interimResults: options.interimResults, partialIntervalMs: deps.partialIntervalMs, segmenter, keyterms };
      stream.channels.push(new ChannelTranscriber(key, opts, deps.vadBatcher, deps.openRecognition, listener, labeler));
    }
    return stream;
  }

  /** Transcript channels: 1, or the input's channel count with `multichannel`. */
  get channelCount(): number {
    return this.channels.length;
  }

  /** Stream time transcribed so far (per channel): what `push`, `pushAudio` and `finalize` handed on. */
  get audioMs(): number {
    return samplesToMs(this.samplesPushed);
  }

  /** Finals emitted so far, all channels together. */
  get finalsEmitted(): number {
    return this.channels.reduce((n, c) => n + c.finalsSent, 0);
  }

  /** Decodes and transcribes a chunk of the stream's encoding, cut anywhere. Throws AudioDecodeError. */
  async push(bytes: Uint8Array): Promise<void> {
    this.pushAudio(await this.decode(bytes));
  }

  /**
   * Only decodes: the 16 kHz samples `bytes` completes, one array per
   * transcript channel, for a caller that looks at them (their duration)
   * before handing them to `pushAudio`.
   */
  decode(bytes: Uint8Array): Promise<Float32Array[]> {
    return this.decoder.push(bytes);
  }

  /** Transcribes 16 kHz samples, one array per transcript channel (all the same length). */
  pushAudio(planes: Float32Array[]): void {
    if (this.closed) return;
    const now = performance.now();
    this.samplesPushed += planes[0]?.length ?? 0;
    planes.forEach((samples, ch) => this.channels[ch]?.pushAudio(samples, now));
  }

  /** Finals for everything pushed so far; resolves once they are emitted. More audio may follow. */
  async finalize(): Promise<void> {
    if (this.closed) return;
    this.pushAudio(this.decoder.flush());
    await Promise.all(this.channels.map((c) => c.finalize()));
  }

  /**
   * The end of the stream: finals for everything pushed, then the audio not
   * yet diarized is analysed and the last speaker updates are emitted. Then
   * the stream is closed.
   */
  async finish(): Promise<void> {
    await this.finalize();
    if (this.labelers.length > 0 && this.deps.diarization && !this.closed) {
      await this.deps.diarization.flush();
      for (const l of this.labelers) l.close();
    }
    this.close();
  }

  /** Drops everything at once: no more events. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.channels) c.close();
    this.decoder.close();
  }
}
