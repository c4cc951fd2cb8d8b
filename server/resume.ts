/**
 * Session resumption: a session outlives a dropped socket for a grace period
 * and continues on a new socket that presents its resume token.
 *
 * Every session sends through a ResumableStream, its outgoing side, which
 * outlives sockets. The stream stamps the session's current token on `ready`
 * and numbers the events it sends that a client must not miss (`final`,
 * `speech_started`, `utterance_end`, `speaker_update`; not `partial`, which the
 * next one supersedes and which app.ts skips for a lagging client). While a
 * socket is attached it keeps the last REPLAY_WINDOW of them, since the ones
 * just written may have died with the connection; while none is, it keeps
 * everything the session sends (bounded). A resuming client says how many
 * numbered events it got (`resume_from`); the stream sends a fresh `ready`,
 * then exactly the numbered events after those, with whatever else was held
 * (partials, an error, `closed`) in their places, then live messages. So no
 * final is lost or repeated, whichever side noticed the drop first.
 *
 * The ResumeRegistry finds sessions by token: attached ones in a map, dropped
 * ones in an LRU cache whose entries expire after the grace period, which
 * aborts the session and frees it. Tokens carry 144 random bits and the id of
 * the replica that holds the session, under a MAC (replica.ts), and change at
 * every resume, so a token seen in an old URL is worthless. A token of
 * another replica means the load balancer could not reach that one: its
 * session is gone with it, and the refusal says so.
 */
import { LRUCache } from 'lru-cache';
import { NUMBERED_EVENTS, type ReadyMessage, type ServerMessage } from '../protocol/messages.js';
import type { ResumeTokens } from './replica.js';
import type { Session, SessionIo } from './session.js';

/** Numbered events kept after sending, for a client whose socket died with them in flight. */
export const REPLAY_WINDOW = 128;
/** Messages held for a dropped session; more, and it is given up (its results could not all be delivered). */
export const MAX_HELD_MESSAGES = 4096;
/** Dropped sessions held at once; beyond this the oldest is given up. */
export const MAX_DROPPED_SESSIONS = 10_000;


/** A resume the server cannot grant; the message is for the client. */
export class ResumeError extends Error {
  override readonly name = 'ResumeError';
}

/** A held message: `seq` numbers the NUMBERED_EVENTS from 1; 0 for other messages (held only while dropped). */
interface Held {
  seq: number;
  msg: ServerMessage;
}

/** A session's outgoing side: sends to the attached socket, or holds messages while there is none. */
export class ResumableStream implements SessionIo {
  session!: Session;
  private ready: ReadyMessage | null = null;
  private sent = 0;
  private held: Held[] = [];
  private ending: { code: number; reason: string } | null = null;
  private overflowed = false;

  constructor(
    public token: string,
    /** Who opened the session (auth.ts); only they may resume it. */
    readonly owner: string,
    private socket: SessionIo | null,
    private readonly onOverflow: (stream: ResumableStream) => void,
  ) {}

  send(msg: ServerMessage): void {
    if (msg.type === 'ready') msg = this.ready = { ...msg, resume_token: this.token };
    const seq = NUMBERED_EVENTS.has(msg.type) ? ++this.sent : 0;
    if (this.socket) {
      this.socket.send(msg);
      if (seq === 0) return;
      this.held.push({ seq, msg });
      if (this.held.length > REPLAY_WINDOW) this.held.shift();
      return;
    }
    if (this.overflowed) return;
    this.held.push({ seq, msg });
    if (this.held.length > REPLAY_WINDOW + MAX_HELD_MESSAGES) {
      this.overflowed = true;
      // Not from inside the session's own send: the registry aborts it.
      queueMicrotask(() => this.onOverflow(this));
    }
  }

  end(code: number, reason: string): void {
    this.ending = { code, reason };
    this.socket?.end(code, reason);
  }

  /** Worth holding after a drop: the client has a token (`ready` went out) and the session has not ended. */
  get resumable(): boolean {
    return this.ready !== null && this.ending === null && !this.overflowed;
  }

  get attachedSocket(): SessionIo | null {
    return this.socket;
  }

  /** Lets go of `socket` if it is the attached one; false when the stream has already moved on. */
  detach(socket: SessionIo): boolean {
    if (this.socket !== socket) return false;
    this.socket = null;
    return true;
  }

  /** Why a client that received `from` numbered events cannot continue, or undefined when it can. */
  replayProblem(from: number): string | undefined {
    if (this.overflowed) return 'the session produced more results than the server holds for a dropped connection; start a new session';
    if (from > this.sent) return `resume_from=${from}, but this session has sent only ${this.sent} of the events it counts`;
    const oldest = this.held.find((h) => h.seq !== 0)?.seq ?? this.sent + 1;
    if (from + 1 < oldest) {
      return `resume_from=${from}, but the server keeps only the last ${REPLAY_WINDOW} events it counts (from ${oldest}): results would be lost; start a new session`;
    }
    return undefined;
  }

  /** Continues on `socket` under `token`: `ready`, the numbered events after `from` and what else was held, then live messages. */
  attach(socket: SessionIo, from: number, token: string): void {
    this.token = token;
    this.socket = socket;
    if (this.ready) socket.send((this.ready = { ...this.ready, resume_token: token }));
    for (const h of this.held) if (h.seq === 0 || h.seq > from) socket.send(h.msg);
    this.held = this.held.filter((h) => h.seq !== 0).slice(-REPLAY_WINDOW);
    const ending = this.ending;
    // Not synchronously: the caller has not yet recorded this stream for the socket it is opening.
    if (ending) setImmediate(() => socket.end(ending.code, ending.reason));
  }
}

export class ResumeRegistry {
  private readonly attached = new Map<string, ResumableStream>();
  private readonly dropped: LRUCache<string, ResumableStream>;

  /**
   * `graceMs` 0 turns resumption off (`ready` carries an empty token).
   * `onRelease` runs once per session when it is finally let go (after abort).
   */
  constructor(
    readonly graceMs: number,
    private readonly tokens: ResumeTokens,
    private readonly onRelease: (session: Session) => void,
  ) {
    this.dropped = new LRUCache<string, ResumableStream>({
      max: MAX_DROPPED_SESSIONS,
      ttl: Math.max(1, graceMs),
      // A timer per entry, so an expired session is freed on time, not at the next lookup.
      ttlAutopurge: true,
      disposeAfter: (stream, _token, reason) => {
        // 'delete' is a resume (or `clear`, which releases on its own).
        if (reason === 'expire' || reason === 'evict') this.release(stream);
      },
    });
  }

  private get enabled(): boolean {
    return this.graceMs > 0;
  }

  /** Sessions whose socket dropped, held for their client to resume. */
  get droppedCount(): number {
    return this.dropped.size;
  }

  /** A new session of `owner` on `socket`; `makeSession` builds it around its stream. */
  start(socket: SessionIo, owner: string, makeSession: (out: SessionIo) => Session): ResumableStream {
    const stream = new ResumableStream(this.enabled ? this.tokens.mint() : '', owner, socket, (s) => this.overflow(s));
    stream.session = makeSession(stream);
    if (this.enabled) this.attached.set(stream.token, stream);
    return stream;
  }

  /**
   * `socket` closed: hold its session for the grace period if it can be
   * resumed, else let it go. `holdable` false: the server cut the client off
   * on purpose (a slow consumer), so it gets no second chance.
   */
  socketClosed(stream: ResumableStream, socket: SessionIo, holdable: boolean): void {
    // Already resumed on another socket, or already let go.
    if (!stream.detach(socket)) return;
    this.attached.delete(stream.token);
    if (this.enabled && holdable && stream.resumable) this.dropped.set(stream.token, stream);
    else this.release(stream);
  }

  /**
   * The session of `token` continued on `socket` by `owner`, after the
   * client's `from` numbered events. Takes it from a live socket too (the
   * client saw a drop the server has not noticed yet): that socket is
   * closed. Throws ResumeError.
   */
  resume(token: string, from: number, owner: string, socket: SessionIo): ResumableStream {
    const issuer = this.tokens.check(token);
    if (this.enabled && issuer.ok && issuer.replicaId !== this.tokens.replicaId) {
      throw new ResumeError(`this session was held by replica ${issuer.replicaId}, which is gone or unreachable; this is ${this.tokens.replicaId}: start a new session`);
    }
    const stream = this.dropped.get(token) ?? this.attached.get(token);
    // Someone else's token reads as unknown: it tells them nothing.
    if (!stream || stream.owner !== owner) {
      throw new ResumeError(
        this.enabled
          ? `resume_token is unknown or expired (sessions are held ${this.graceMs} ms after a drop): start a new session`
          : 'this server does not resume sessions: start a new session',
      );
    }
    const problem = stream.replayProblem(from);
    if (problem !== undefined) throw new ResumeError(problem);
    const previous = stream.attachedSocket;
    if (previous) {
      stream.detach(previous);
      this.attached.delete(token);
      previous.end(4000, 'session resumed on another connection');
    } else {
      this.dropped.delete(token);
    }
    const fresh = this.tokens.mint();
    this.attached.set(fresh, stream);
    stream.attach(socket, from, fresh);
    return stream;
  }

  /** Lets every dropped session go (server shutdown). */
  clear(): void {
    const streams = [...this.dropped.values()];
    this.dropped.clear();
    for (const s of streams) this.release(s);
  }

  private overflow(stream: ResumableStream): void {
    if (this.dropped.get(stream.token) !== stream) return;
    this.dropped.delete(stream.token);
    this.release(stream);
  }

  private release(stream: ResumableStream): void {
    stream.session.abort();
    this.onRelease(stream.session);
  }
}
