/**
 * One client's live session, independent of the socket library: it takes
 * decoded client messages, runs the audio through an engine stream, and
 * hands server messages to `send`. It owns the protocol's side of a session:
 * its states, the `ready` and `closed` messages, idle and length limits, the
 * audio rate limits (its own, and its owner's budget, which it charges for
 * every transcript channel), errors as the client sees them, and the
 * metrics. Audio is processed strictly in arrival order and lives only in
 * memory until its segment is decoded.
 */
import { randomUUID } from 'node:crypto';
import { AudioDecodeError, samplesToMs, type Engine, type StreamEvent, type TranscriptionStream } from '../engine/index.js';
import type { ClientMessage, ErrorCode, Limits, ServerMessage, SessionConfig } from '../protocol/messages.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import type { ServerConfig } from './config.js';
import { AudioRateLimiter } from './limits.js';
import type { Metrics } from './metrics.js';
import { demoModelNames } from './demo-models.js';
import type { ServedModels } from './models.js';
import { eventToMessage } from './wire-events.js';

export interface SessionDeps {
  /** The session's config picks its model (and engine) among these. */
  models: ServedModels;
  /** The names of those that are shipped demo models (demo-models.ts): their `ready` says `demo: true`. */
  demoModels?: ReadonlySet<string>;
  metrics: Metrics;
  limits: Limits;
  /** Sustained audio per session in multiples of real time (0 = no limit), after a burst of audioBurstMs (limits.ts). */
  maxAudioRate: number;
  audioBurstMs: number;
}

/** The dependencies of every session of a server, whichever front door opened it. */
export function sessionDeps(cfg: ServerConfig, models: ServedModels, metrics: Metrics): SessionDeps {
  return {
    models,
    demoModels: demoModelNames(cfg.model),
    metrics,
    limits: { max_message_bytes: cfg.maxMessageBytes, max_session_ms: cfg.maxSessionMs, idle_timeout_ms: cfg.idleTimeoutMs },
    maxAudioRate: cfg.maxAudioRate,
    audioBurstMs: cfg.audioBurstMs,
  };
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
  private stream: TranscriptionStream | null = null;
  /** Everything touching the engine stream runs on this chain, in order. */
  private chain: Promise<void> = Promise.resolve();
  private readonly rate: AudioRateLimiter;
  private idleTimer: NodeJS.Timeout;
  private readonly lifeTimer: NodeJS.Timeout;

  /**
   * @param ownerBudget the audio budget of the session's owner, shared with
   *   the owner's other sessions (limits.ts), in channel-milliseconds
   */
  constructor(
    private readonly initialConfig: SessionConfig,
    private readonly deps: SessionDeps,
    private readonly io: SessionIo,
    private readonly ownerBudget: AudioRateLimiter,
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
        this.enqueue(() => this.counted(() => this.stream?.finalize()));
        return;
      case 'keepalive':
        this.send({ type: 'keepalive' });
        return;
      case 'close':
        void this.close('client_close');
        return;
    }
  }

  /**
   * Finals for everything received and the last speaker labels, then `error`
   * when the server ends the session for a reason the client must act on
   * (its credential was revoked), then `closed`, then the socket closes.
   */
  async close(reason: string, code = 1000, error?: SessionError): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    const started = this.state !== 'new';
    this.state = 'closing';
    if (started) this.enqueue(() => this.counted(() => this.stream?.finish()));
    await this.chain;
    if (error && !this.isClosed) {
      this.deps.metrics.errors.inc({ code: error.code });
      this.send({ type: 'error', code: error.code, message: error.message, fatal: error.fatal });
    }
    this.end(reason, code);
  }

  /** `closed` with the session's summary, then the socket closes. */
  private end(reason: string, code: number): void {
    if (this.state === 'closed') return;
    const audioMs = this.stream?.audioMs ?? 0;
    this.io.send({ type: 'closed', reason, audio_ms_received: Math.round(audioMs), finals_sent: this.stream?.finalsEmitted ?? 0 });
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
    this.stream?.close();
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
    const engine = this.pickEngine(config);
    if (config.diarize && !engine.canDiarize) {
      throw new SessionError('bad_config', 'diarize=true, but this server has no diarization model: start it with --diarization-model PATH (pyannote segmentation-3.0 ONNX)', true);
    }
    const keytermProblem = engine.keytermProblem(config.keyterms);
    if (keytermProblem !== undefined) throw new SessionError('bad_config', `${keytermProblem} (model ${engine.modelName})`, true);
    this.stream = await engine.openStream(
      {
        encoding: config.encoding,
        sampleRateHz: config.sample_rate,
        channels: config.channels,
        multichannel: config.multichannel,
        interimResults: config.interim_results,
        endpointingMs: config.endpointing_ms,
        diarize: config.diarize,
        speakers: { minSpeakers: config.min_speakers, maxSpeakers: config.max_speakers },
        keyterms: { phrases: config.keyterms, boostNats: config.keyterm_boost },
      },
      (event) => this.onEvent(event),
    );
    if (this.state === 'starting') this.state = 'live';
    this.send({
      type: 'ready',
      session_id: this.id,
      model: engine.modelName,
      protocol_version: PROTOCOL_VERSION,
      config,
      limits: this.deps.limits,
      resume_token: '',
      ...(this.deps.demoModels?.has(engine.modelName) ? { demo: true as const } : {}),
    });
  }

  /** The engine of the model `config` names (a `config` message may name one the URL did not). */
  private pickEngine(config: SessionConfig): Engine {
    try {
      return this.deps.models.pick(config.model, config.language).engine;
    } catch (err) {
      throw new SessionError('bad_config', err instanceof Error ? err.message : String(err), true);
    }
  }

  private onEvent(event: StreamEvent): void {
    if (event.type === 'error') return this.error(event.error);
    if (event.type === 'partial' && event.firstLatencyMs !== undefined) this.deps.metrics.firstPartialLatency.observe(event.firstLatencyMs / 1000);
    if (event.type === 'final' && event.latencyMs !== undefined) this.deps.metrics.finalLatency.observe(event.latencyMs / 1000);
    this.send(eventToMessage(event));
  }

  private async audio(bytes: Uint8Array, arrivedMs: number): Promise<void> {
    const stream = this.stream;
    if (!stream) return;
    let planes: Float32Array[];
    try {
      planes = await stream.decode(bytes);
    } catch (err) {
      if (err instanceof AudioDecodeError && err.recoverable) {
        this.error(new SessionError(err.code, err.message, false));
        return;
      }
      throw err;
    }
    const audioMs = samplesToMs(planes[0]?.length ?? 0);
    if (!this.rate.take(audioMs, arrivedMs)) {
      throw new SessionError('rate_limited', `audio is arriving faster than ${this.rate.maxRate}x real time for longer than a ${this.deps.audioBurstMs} ms burst allows`, true);
    }
    // Every transcript channel is decoded on its own, so an 8-channel session costs its owner 8x its audio time.
    if (!this.ownerBudget.take(audioMs * planes.length, arrivedMs)) {
      throw new SessionError(
        'rate_limited',
        `this owner's sessions together are sending more than ${this.ownerBudget.maxRate}x real time (counted per channel) for longer than a ${this.ownerBudget.burstMs} ms burst allows`,
        true,
      );
    }
    await this.counted(() => stream.pushAudio(planes));
  }

  /** Runs a step that hands audio to the engine and counts that audio in the metrics (per transcript channel). */
  private async counted(step: () => Promise<void> | void): Promise<void> {
    const stream = this.stream;
    const before = stream?.audioMs ?? 0;
    await step();
    if (stream) this.deps.metrics.audioSeconds.inc(((stream.audioMs - before) / 1000) * stream.channelCount);
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
