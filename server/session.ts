/**
 * One client's live session, independent of the socket library: it takes
 * decoded client messages, runs the audio through a streaming decoder into
 * one ChannelTranscriber per transcript channel, and hands server messages
 * to `send`. Audio is processed strictly in arrival order and lives only in
 * memory until its segment is decoded.
 */
import { randomUUID } from 'node:crypto';
import type { ClientMessage, ErrorCode, Limits, ServerMessage, SessionConfig } from '../protocol/messages.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { createAudioDecoder, AudioDecodeError, type AudioDecoder } from '../engine/audio/decoder.js';
import { ChannelTranscriber } from '../engine/channel-transcriber.js';
import type { DiarizationDriver } from '../engine/diarization/index.js';
import { SpeakerLabeler } from '../engine/speaker-labeler.js';
import type { RecognitionScheduler } from '../engine/scheduler.js';
import type { VadBatcher } from '../engine/vad/vad-batcher.js';
import { AudioRateLimiter } from './limits.js';
import type { Metrics } from './metrics.js';

export interface SessionDeps {
  vadBatcher: VadBatcher;
  scheduler: RecognitionScheduler;
  metrics: Metrics;
  modelName: string;
  limits: Limits;
  partialIntervalMs: number;
  maxSegmentMs: number;
  /** Present when the server can diarize (a segmentation model is configured). */
  diarization?: DiarizationDriver;
  /** Sustained audio in multiples of real time (0 = no limit), after a burst of audioBurstMs (limits.ts). */
  maxAudioRate: number;
  audioBurstMs: number;
}

export interface SessionIo {
  send(msg: ServerMessage): void;
  /** Close the socket (after everything sent has been flushed). */
  end(code: number, reason: string): void;
}

export class SessionError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fatal: boolean,
  ) {
    super(message);
  }
}

type State = 'new' | 'starting' | 'live' | 'closing' | 'closed';

export class Session {
  readonly id: string;
  private state: State = 'new';
  private decoder: AudioDecoder | null = null;
  private channels: ChannelTranscriber[] = [];
  private labelers: SpeakerLabeler[] = [];
  /** Everything touching the decoder or transcribers runs on this chain, in order. */
  private chain: Promise<void> = Promise.resolve();
  private audioMsReceived = 0;
  private readonly rate: AudioRateLimiter;
  private config!: SessionConfig;
  private idleTimer: NodeJS.Timeout;
  private readonly lifeTimer: NodeJS.Timeout;

  constructor(
    private readonly initialConfig: SessionConfig,
    private readonly deps: SessionDeps,
    private readonly io: SessionIo,
  ) {
    this.id = initialConfig.session_id || randomUUID();
    this.idleTimer = this.idleTimeout();
    this.lifeTimer = setTimeout(() => void this.close('session_too_long'), deps.limits.max_session_ms);
    this.rate = new AudioRateLimiter(deps.maxAudioRate, deps.audioBurstMs, performance.now());
  }

  private idleTimeout(): NodeJS.Timeout {
    return setTimeout(() => void this.close('idle_timeout'), this.deps.limits.idle_timeout_ms);
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** A decoded client message. Never throws; errors go to the client. */
  handle(msg: ClientMessage, configOverride?: SessionConfig): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    clearTimeout(this.idleTimer);
    this.idleTimer = this.idleTimeout();
    if (this.state === 'new') {
      this.state = 'starting';
      this.enqueue(() => this.start(msg.type === 'config' && configOverride ? configOverride : this.initialConfig));
      if (msg.type === 'config') return;
    } else if (msg.type === 'config') {
      this.error(new SessionError('bad_message', 'config must be the first message of a session', false));
      return;
    }
    switch (msg.type) {
      case 'audio': {
        // The rate limit counts arrival time: a backlog in the chain must not hide a flood.
        const arrivedMs = performance.now();
        this.enqueue(() => this.audio(msg.audio, arrivedMs));
        return;
      }
      case 'finalize':
        this.enqueue(() => this.finalizeAll());
        return;
      case 'keepalive':
        this.send({ type: 'keepalive' });
        return;
      case 'close':
        void this.close('client_close');
        return;
    }
  }

  /** Finals for everything received, then `closed`, then the socket closes. */
  async close(reason: string, code = 1000): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    const started = this.state !== 'new';
    this.state = 'closing';
    if (started) this.enqueue(() => this.finalizeAll());
    await this.chain;
    await this.settleSpeakers();
    this.end(reason, code);
  }

  /** Diarizes the audio not analysed yet, then sends the last speaker updates. */
  private async settleSpeakers(): Promise<void> {
    if (this.labelers.length === 0 || !this.deps.diarization) return;
    await this.deps.diarization.flush();
    for (const l of this.labelers) l.close();
  }

  /** `closed` with the session's summary, then the socket closes. */
  private end(reason: string, code: number): void {
    if (this.state === 'closed') return;
    const finals = this.channels.reduce((n, c) => n + c.finalsSent, 0);
    this.io.send({ type: 'closed', reason, audio_ms_received: Math.round(this.audioMsReceived), finals_sent: finals });
    this.release();
    this.io.end(code, reason);
  }

  /** The socket is gone: drop everything at once, no more sends. */
  abort(): void {
    if (this.state === 'closed') return;
    this.release();
  }

  private release(): void {
    this.state = 'closed';
    clearTimeout(this.idleTimer);
    clearTimeout(this.lifeTimer);
    for (const c of this.channels) c.close();
    this.channels = [];
    this.labelers = [];
    this.decoder?.close();
    this.decoder = null;
  }

  private enqueue(step: () => Promise<void> | void): void {
    this.chain = this.chain.then(async () => {
      if (this.state === 'closed') return;
      try {
        await step();
      } catch (err) {
        this.error(err);
      }
    });
  }

  private async start(config: SessionConfig): Promise<void> {
    this.config = config;
    this.decoder = await createAudioDecoder({
      encoding: config.encoding,
      sampleRateHz: config.sample_rate,
      channels: config.channels,
      multichannel: config.multichannel,
    });
    if (config.diarize && !this.deps.diarization) {
      throw new SessionError('bad_config', 'diarize=true, but this server has no diarization model: start it with --diarization-model PATH (pyannote segmentation-3.0 ONNX)', true);
    }
    for (let ch = 0; ch < this.decoder.outputChannels; ch++) {
      // Engine keys are ours, not the client's session_id: two clients may choose the same one.
      const key = `${randomUUID()}/${ch}`;
      const labeler = config.diarize && this.deps.diarization ? new SpeakerLabeler(this.deps.diarization.engine, key, ch, (m) => this.send(m)) : undefined;
      if (labeler) this.labelers.push(labeler);
      this.channels.push(
        new ChannelTranscriber(
          key,
          {
            channel: ch,
            interimResults: config.interim_results,
            partialIntervalMs: this.deps.partialIntervalMs,
            segmenter: { endpointingMs: config.endpointing_ms, maxSegmentMs: this.deps.maxSegmentMs },
          },
          this.deps.vadBatcher,
          this.deps.scheduler,
          {
            send: (m) => this.send(m),
            fail: (err) => this.error(err),
            onFirstPartial: (ms) => this.deps.metrics.firstPartialLatency.observe(ms / 1000),
            onFinal: (ms) => this.deps.metrics.finalLatency.observe(ms / 1000),
          },
          labeler,
        ),
      );
    }
    if (this.state === 'starting') this.state = 'live';
    this.send({
      type: 'ready',
      session_id: this.id,
      model: this.deps.modelName,
      protocol_version: PROTOCOL_VERSION,
      config,
      limits: this.deps.limits,
      resume_token: '',
    });
  }

  private async audio(bytes: Uint8Array, arrivedMs: number): Promise<void> {
    if (!this.decoder) return;
    let out: Float32Array[];
    try {
      out = await this.decoder.push(bytes);
    } catch (err) {
      if (err instanceof AudioDecodeError && err.recoverable) {
        this.error(new SessionError(err.code, err.message, false));
        return;
      }
      throw err;
    }
    if (!this.rate.take(durationMs(out), arrivedMs)) {
      throw new SessionError('rate_limited', `audio is arriving faster than ${this.rate.maxRate}x real time for longer than a ${this.deps.audioBurstMs} ms burst allows`, true);
    }
    this.feed(out);
  }

  private feed(out: Float32Array[]): void {
    const now = performance.now();
    const ms = durationMs(out);
    this.audioMsReceived += ms;
    this.deps.metrics.audioSeconds.inc((ms / 1000) * out.length);
    out.forEach((samples, ch) => this.channels[ch]?.pushAudio(samples, now));
  }

  private async finalizeAll(): Promise<void> {
    if (this.decoder) this.feed(this.decoder.flush());
    await Promise.all(this.channels.map((c) => c.finalize()));
  }

  private send(msg: ServerMessage): void {
    if (this.state !== 'closed') this.io.send(msg);
  }

  private error(err: unknown): void {
    // Work still in flight when the session ended (a partial, a VAD batch) may fail after it: nobody to tell, nothing to count.
    if (this.state === 'closed') return;
    let e: SessionError;
    if (err instanceof SessionError) e = err;
    else if (err instanceof AudioDecodeError) e = new SessionError(err.code, err.message, !err.recoverable);
    else {
      console.error(`session ${this.id}: internal error`, err);
      e = new SessionError('internal', 'internal error while processing this session', true);
    }
    this.deps.metrics.errors.inc({ code: e.code });
    this.send({ type: 'error', code: e.code, message: e.message, fatal: e.fatal });
    if (e.fatal) this.end(e.code, 1011);
  }
}

/** Stream time covered by one decoder output (16 kHz, every channel the same length). */
function durationMs(out: Float32Array[]): number {
  return out.length > 0 ? out[0].length / 16 : 0;
}
