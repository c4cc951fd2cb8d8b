/**
 * The streaming client for `/v1/listen`, for browsers and Node 20: one
 * session, audio in, typed events out, and automatic resumption of the same
 * session after a dropped connection.
 *
 * Public API:
 *
 *   const client = new ListenClient({
 *     url: 'ws://127.0.0.1:8080/v1/listen',
 *     config: { encoding: 'pcm_s16le', sample_rate: 16000 },  // any SessionConfig field but resume_token
 *     token: '...',              // optional credential (the `token` query parameter)
 *     format: 'json',            // or 'protobuf'
 *     WebSocket,                 // default globalThis.WebSocket; in Node pass `import WebSocket from 'ws'`
 *     reconnect: { maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 5000 },  // or false
 *     maxBufferedAudioBytes: 1 << 20,  // audio held while disconnected
 *   });
 *   const off = client.on('final', (f) => console.log(f.text));  // returns an unsubscribe function
 *   client.sendAudio(bytes);     // an (Shared)ArrayBuffer or any view of one, in the session's encoding
 *   client.finalize();           // finals for everything sent so far; the session goes on
 *   const summary = await client.close();  // finals for everything, then the server's `closed`
 *   client.abort();              // drop the session now, no finals
 *   client.state;                // 'connecting' | 'open' | 'reconnecting' | 'ended'
 *   client.sessionId;            // from `ready`
 *
 * Events (`ListenEvents`): `ready` (once), `speech_started`, `partial`,
 * `final`, `utterance_end`, `speaker_update`, `error` (server errors and the
 * client's own: `connection_lost`, `audio_dropped`, `aborted`), `closed`
 * (the server's summary, last), `reconnecting` (a drop was seen, a retry is scheduled),
 * `resumed` (the server took the session back; its `ready`, with a new token).
 * `client.done` resolves with the `closed` summary, or rejects with a
 * `ListenClientError` when the session ends without one (connection lost for
 * good, a refused config or resume, `abort()`); `close()` returns it.
 *
 * Sending: audio, `finalize` and `close` are queued until the session is
 * `ready` (the client sends a `config` message first and waits for `ready`),
 * and again while reconnecting; audio beyond `maxBufferedAudioBytes` is
 * dropped with an `audio_dropped` error. Resumption: when the socket drops
 * without `closed`, the client reconnects with exponential backoff and
 * jitter, presenting the session's `resume_token` and `resume_from`, the
 * number of `final`, `speech_started`, `utterance_end` and `speaker_update`
 * events it has received; the server replays the ones it missed, so no final
 * is lost or repeated (a partial may be: the next one supersedes it). Audio
 * the old socket had not delivered when it dropped is lost (milliseconds, in
 * practice). A socket the server closes with 1008 (policy: a slow consumer)
 * or 1009 (a frame too large) is not retried.
 */
import { decodeServerMessage, encodeClientMessage } from '../protocol/frames.js';
import { DEFAULT_SESSION_CONFIG, resolveSessionConfig } from '../protocol/session-config.js';
import { NUMBERED_EVENTS } from '../protocol/messages.js';
import type {
  ClientMessage,
  ClosedMessage,
  ErrorCode,
  ReadyMessage,
  ServerMessage,
  SessionConfig,
  SpeakerUpdateMessage,
  SpeechStartedMessage,
  TranscriptMessage,
  UtteranceEndMessage,
  WireFormat,
} from '../protocol/messages.js';

/**
 * The part of the WebSocket API the client uses, met by the browser's
 * WebSocket and by the `ws` package's. Handlers take `any` because the two
 * declare different event classes; the client reads only `data`, `code` and
 * `reason` from them.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ReconnectOptions {
  /** Attempts after one drop before giving up; the count restarts once a resume succeeds. */
  maxAttempts: number;
  /** Delay before the first attempt; doubles each attempt, up to maxDelayMs, then randomised down by up to half. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface ListenClientOptions {
  /** The endpoint, e.g. `ws://127.0.0.1:8080/v1/listen`. */
  url: string;
  /** Session settings, sent in the first message (so a bad one comes back as a readable `error`). */
  config?: Partial<Omit<SessionConfig, 'resume_token'>>;
  /** Credential for servers that require one, sent as the `token` query parameter. */
  token?: string;
  format?: WireFormat;
  /** Default `globalThis.WebSocket`; Node 20 has none: pass the `ws` package's. */
  WebSocket?: WebSocketConstructor;
  /** `false`: a drop ends the session with `connection_lost`. */
  reconnect?: Partial<ReconnectOptions> | false;
  /** Audio held while not connected; more is dropped. Default 1 MiB (32 s of 16 kHz 16-bit mono). */
  maxBufferedAudioBytes?: number;
}

export type ClientErrorCode = 'connection_lost' | 'audio_dropped' | 'aborted';

/** An `error` event: the server's `error` message, or one the client raises itself. */
export interface ListenError {
  type: 'error';
  code: ErrorCode | ClientErrorCode;
  message: string;
  /** True when the session is over. */
  fatal: boolean;
}

export interface ReconnectingEvent {
  /** 1 for the first attempt after a drop. */
  attempt: number;
  delayMs: number;
}

export interface ListenEvents {
  ready: ReadyMessage;
  speech_started: SpeechStartedMessage;
  partial: TranscriptMessage;
  final: TranscriptMessage;
  utterance_end: UtteranceEndMessage;
  speaker_update: SpeakerUpdateMessage;
  error: ListenError;
  closed: ClosedMessage;
  reconnecting: ReconnectingEvent;
  resumed: ReadyMessage;
}

/** How `done` rejects: the session ended without the server's `closed`. */
export class ListenClientError extends Error {
  override readonly name = 'ListenClientError';

  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULT_RECONNECT: Readonly<ReconnectOptions> = Object.freeze({ maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 5_000 });
export const DEFAULT_MAX_BUFFERED_AUDIO_BYTES = 1 << 20;

/** Close codes that mean the server cut this client off on purpose: retrying would meet the same fate. */
const NO_RETRY_CLOSE_CODES = new Set([1008, 1009]);

const OPEN = 1;

/**
 * connecting: the first socket, until `ready`. open: `ready` seen, sending.
 * reconnecting: a drop seen, waiting or connecting for the resumed `ready`.
 * ended: `closed`, a failure, or `abort()`.
 */
export type ListenState = 'connecting' | 'open' | 'reconnecting' | 'ended';

type Handler<K extends keyof ListenEvents> = (payload: ListenEvents[K]) => void;

export class ListenClient {
  /** Resolves with the server's `closed`; rejects with `ListenClientError` when the session ends without it. */
  readonly done: Promise<ClosedMessage>;
  private resolveDone!: (closed: ClosedMessage) => void;
  private rejectDone!: (err: ListenClientError) => void;

  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly format: WireFormat;
  private readonly config: Partial<SessionConfig>;
  private readonly reconnect: Readonly<ReconnectOptions> | null;
  private readonly maxBufferedAudioBytes: number;
  private readonly handlers = new Map<keyof ListenEvents, Set<(payload: never) => void>>();

  private current: ListenState = 'connecting';
  private socket: WebSocketLike | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private ready: ReadyMessage | null = null;
  /** NUMBERED_EVENTS received in this session: the `resume_from` of the next resume. */
  private numberedEvents = 0;
  /** Messages waiting for an open session, in order; audio among them counts toward the bound. */
  private outbox: ClientMessage[] = [];
  private outboxAudioBytes = 0;
  private droppingAudio = false;
  private closeRequested = false;

  constructor(private readonly options: ListenClientOptions) {
    const impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!impl) throw new TypeError('no WebSocket implementation: pass options.WebSocket (in Node: import WebSocket from "ws")');
    this.WebSocketImpl = impl;
    this.format = options.format ?? 'json';
    // Checked here so a typo fails at once, with the codec's message naming the field.
    resolveSessionConfig(options.config ?? {}, DEFAULT_SESSION_CONFIG);
    if (options.config && 'resume_token' in options.config) {
      throw new TypeError('config.resume_token is not a setting: the client resumes on its own');
    }
    this.config = { ...options.config };
    this.reconnect = options.reconnect === false ? null : { ...DEFAULT_RECONNECT, ...options.reconnect };
    this.maxBufferedAudioBytes = options.maxBufferedAudioBytes ?? DEFAULT_MAX_BUFFERED_AUDIO_BYTES;
    this.done = new Promise<ClosedMessage>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Whoever never awaits `done` has still seen the `error` event; no unhandled rejection.
    this.done.catch(() => {});
    this.connect();
  }

  /** Calls `handler` for each `event`; returns a function that stops it. */
  on<K extends keyof ListenEvents>(event: K, handler: Handler<K>): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  get state(): ListenState {
    return this.current;
  }

  /** The server's session id, once `ready`. */
  get sessionId(): string {
    return this.ready?.session_id ?? '';
  }

  /** Audio in the session's encoding. The bytes are copied when they have to wait, or live in shared memory. */
  sendAudio(audio: ArrayBufferLike | ArrayBufferView): void {
    if (this.current === 'ended' || this.closeRequested) return;
    let bytes = ArrayBuffer.isView(audio) ? new Uint8Array(audio.buffer, audio.byteOffset, audio.byteLength) : new Uint8Array(audio);
    if (bytes.byteLength === 0) return;
    // WebSocket.send refuses views of a SharedArrayBuffer (an AudioWorklet ring buffer, say).
    const copied = !(bytes.buffer instanceof ArrayBuffer);
    if (copied) bytes = bytes.slice();
    if (this.canSend()) {
      this.transmit({ type: 'audio', audio: bytes });
      return;
    }
    if (this.outboxAudioBytes + bytes.byteLength > this.maxBufferedAudioBytes) {
      if (!this.droppingAudio) {
        this.droppingAudio = true;
        this.emit('error', {
          type: 'error',
          code: 'audio_dropped',
          message: `not connected and ${this.maxBufferedAudioBytes} bytes of audio already waiting: later audio is dropped until the session is back`,
          fatal: false,
        });
      }
      return;
    }
    this.outboxAudioBytes += bytes.byteLength;
    // The caller may reuse its buffer once this returns.
    this.outbox.push({ type: 'audio', audio: copied ? bytes : bytes.slice() });
  }

  /** Finals for everything sent so far; the session goes on. */
  finalize(): void {
    if (this.current === 'ended' || this.closeRequested) return;
    this.sendOrQueue({ type: 'finalize' });
  }

  /** Finals for everything sent, then the server's `closed` summary, which this resolves with. */
  close(): Promise<ClosedMessage> {
    if (this.current !== 'ended' && !this.closeRequested) {
      this.closeRequested = true;
      this.sendOrQueue({ type: 'close' });
    }
    return this.done;
  }

  /** Ends the session now, without finals: the socket closes and `done` rejects with `aborted`. */
  abort(): void {
    this.fail('aborted', 'the session was aborted by the client');
  }

  // -------------------------------------------------------------------------

  private canSend(): boolean {
    return this.current === 'open' && this.socket !== null && this.socket.readyState === OPEN;
  }

  private sendOrQueue(msg: ClientMessage): void {
    if (this.canSend()) this.transmit(msg);
    else this.outbox.push(msg);
  }

  private transmit(msg: ClientMessage): void {
    this.socket?.send(encodeClientMessage(msg, this.format));
  }

  private url(): string {
    const url = new URL(this.options.url);
    url.searchParams.set('format', this.format);
    if (this.options.token !== undefined) url.searchParams.set('token', this.options.token);
    if (this.ready) {
      url.searchParams.set('resume_token', this.ready.resume_token);
      url.searchParams.set('resume_from', String(this.numberedEvents));
    }
    return url.toString();
  }

  private connect(): void {
    this.retryTimer = null;
    const resuming = this.ready !== null;
    let socket: WebSocketLike;
    try {
      socket = new this.WebSocketImpl(this.url());
    } catch (err) {
      // A malformed URL throws here; nothing later can fix it.
      this.fail('connection_lost', `cannot open ${this.options.url}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      // A resumed session answers with `ready` on its own; a new one starts with our config.
      if (!resuming) this.transmit({ type: 'config', config: this.config });
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (this.socket !== socket) return;
      const data = event.data;
      let msg: ServerMessage;
      try {
        msg = typeof data === 'string' ? decodeServerMessage(data, false, this.format) : decodeServerMessage(new Uint8Array(data as ArrayBuffer), true, this.format);
      } catch (err) {
        this.fail('bad_message', `the server sent a message this client cannot read: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      this.receive(msg);
    };
    socket.onclose = (event: { code: number; reason: string }) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (NO_RETRY_CLOSE_CODES.has(event.code)) {
        this.fail('connection_lost', `the server closed the connection (${event.code} ${event.reason || 'no reason given'})`);
        return;
      }
      this.dropped();
    };
    // Browsers give no reason here, and `close` always follows: handle it there.
    socket.onerror = () => {};
  }

  private receive(msg: ServerMessage): void {
    if (this.current === 'ended') return;
    if (NUMBERED_EVENTS.has(msg.type)) this.numberedEvents++;
    switch (msg.type) {
      case 'ready': {
        const first = this.ready === null;
        this.ready = msg;
        this.current = 'open';
        this.attempt = 0;
        this.droppingAudio = false;
        if (first) this.emit('ready', msg);
        else this.emit('resumed', msg);
        this.flush(!first);
        return;
      }
      case 'error':
        this.emit('error', msg);
        // Before `ready` nothing runs yet: an error here (a refused config or resume) means the
        // session will not go as asked, so the client stops instead of streaming into defaults.
        if (this.current !== 'open') this.fail(msg.code, msg.message, false);
        return;
      case 'closed':
        this.current = 'ended';
        this.emit('closed', msg);
        this.stop();
        this.resolveDone(msg);
        return;
      case 'keepalive':
        return;
      default:
        this.emit(msg.type, msg as never);
    }
  }

  /** Sends what waited for the session; after a resume, `close` again, since the old socket may have lost it. */
  private flush(resumed: boolean): void {
    const queued = this.outbox;
    this.outbox = [];
    this.outboxAudioBytes = 0;
    const closeQueued = queued.some((m) => m.type === 'close');
    for (const msg of queued) this.transmit(msg);
    // The server ignores a second `close`, so sending it twice is safe; not sending it could hang.
    if (resumed && this.closeRequested && !closeQueued) this.transmit({ type: 'close' });
  }

  private dropped(): void {
    if (this.current === 'ended') return;
    const retry = this.reconnect;
    this.attempt++;
    if (!retry || this.attempt > retry.maxAttempts) {
      const what = this.ready ? 'the connection dropped and the session could not be resumed' : `cannot connect to ${this.options.url}`;
      this.fail('connection_lost', retry ? `${what} (${retry.maxAttempts} attempts)` : what);
      return;
    }
    this.current = this.ready ? 'reconnecting' : 'connecting';
    const ceilingMs = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (this.attempt - 1));
    // Equal jitter: clients dropped together do not come back together.
    const delayMs = Math.round(ceilingMs / 2 + (Math.random() * ceilingMs) / 2);
    this.emit('reconnecting', { attempt: this.attempt, delayMs });
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
  }

  /** Ends the session without a `closed`: an `error` event (unless the server's was just emitted), then `done` rejects. */
  private fail(code: ListenError['code'], message: string, emitError = true): void {
    if (this.current === 'ended') return;
    this.current = 'ended';
    if (emitError) this.emit('error', { type: 'error', code, message, fatal: true });
    this.stop();
    this.rejectDone(new ListenClientError(code, message));
  }

  private stop(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.outbox = [];
    this.outboxAudioBytes = 0;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
  }

  private emit<K extends keyof ListenEvents>(event: K, payload: ListenEvents[K]): void {
    for (const handler of this.handlers.get(event) ?? []) {
      try {
        (handler as Handler<K>)(payload);
      } catch (err) {
        // A throwing handler is the caller's bug: report it, but keep the session's state whole.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
