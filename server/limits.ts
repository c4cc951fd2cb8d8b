/**
 * Admission and rate limits: which WebSocket upgrades are let in (the browser
 * origin allow-list, live-session caps in total and per owner, fair admission
 * when the server is full), how fast a session and an owner may send audio,
 * and the counters that show these limits at work.
 */
import client from 'prom-client';

/**
 * A token bucket of audio milliseconds: it starts with `burstMs` of credit and
 * earns `maxRate` ms of audio per wall-clock ms, up to `burstMs`. A client may
 * send a backlog at once (a reconnect, a file's first minute), but not
 * sustain more than maxRate times real time.
 */
export class AudioRateLimiter {
  private creditMs: number;
  private lastMs: number;

  /** maxRate 0 = no limit. */
  constructor(
    readonly maxRate: number,
    readonly burstMs: number,
    nowMs: number,
  ) {
    this.creditMs = burstMs;
    this.lastMs = nowMs;
  }

  /** Spends `audioMs` of audio that arrived at `nowMs`; false once the allowance is spent. */
  take(audioMs: number, nowMs: number): boolean {
    if (this.maxRate <= 0) return true;
    this.creditMs = this.creditAt(nowMs);
    this.lastMs = nowMs;
    this.creditMs -= audioMs;
    return this.creditMs >= 0;
  }

  /** Whether the bucket has earned back its whole burst by `nowMs`: it then holds nothing a fresh one would not. */
  isFull(nowMs: number): boolean {
    return this.maxRate <= 0 || this.creditAt(nowMs) >= this.burstMs;
  }

  private creditAt(nowMs: number): number {
    return Math.min(this.burstMs, this.creditMs + (nowMs - this.lastMs) * this.maxRate);
  }
}

/** With auth on and no MAX_SESSIONS_PER_OWNER, an owner may hold this share of MAX_SESSIONS. */
export const DEFAULT_OWNER_SHARE = 0.25;
/**
 * An owner refused for lack of room counts as waiting for this long: while
 * one waits, owners holding their fair share or more are refused, so the
 * next free session goes to the waiting owner, not to whoever retries first.
 */
export const WAITING_OWNER_MS = 10_000;

/** The per-owner session cap in force: the setting, else (auth on) DEFAULT_OWNER_SHARE of `maxSessions`; 0 = none. */
export function ownerSessionCap(maxSessions: number, maxSessionsPerOwner: number, authOn: boolean): number {
  if (maxSessionsPerOwner > 0) return maxSessionsPerOwner;
  if (!authOn || maxSessions === 0) return 0;
  return Math.max(1, Math.floor(maxSessions * DEFAULT_OWNER_SHARE));
}

interface OwnerUse {
  sessions: number;
  /** The owner's audio budget, shared by its sessions; kept after they end until it has refilled, so a new session gets no fresh burst. */
  budget: AudioRateLimiter;
}

/**
 * Sessions in total and per owner (a session counts from its start until it
 * is let go, including while its socket is dropped and it waits to be
 * resumed), fair admission, and each owner's audio budget, charged in
 * channel-milliseconds: a burst, then real time for each session the owner
 * may hold. That is the owner's share of what MAX_SESSIONS sizes the server
 * for; one session may go faster (MAX_AUDIO_RATE) to catch up, within it.
 * A limit of 0 means none.
 */
export class SessionCaps {
  private total = 0;
  private readonly owners = new Map<string, OwnerUse>();
  /** Owners refused for lack of room, and when. */
  private readonly waiting = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerOwner: number,
    /** the owner budget's burst; null: owners' audio is not limited */
    private readonly ownerBurstMs: number | null,
  ) {}

  /** Why one more session for `owner` is refused at `nowMs`, or null. */
  refusal(owner: string, nowMs: number): string | null {
    for (const [o, sinceMs] of this.waiting) if (nowMs - sinceMs > WAITING_OWNER_MS) this.waiting.delete(o);
    const held = this.owners.get(owner)?.sessions ?? 0;
    if (this.maxPerOwner > 0 && held >= this.maxPerOwner) return `owner "${owner}" already has ${this.maxPerOwner} live sessions, the most allowed`;
    if (this.maxTotal > 0 && this.total >= this.maxTotal) {
      this.waiting.set(owner, nowMs);
      return `the server is at its limit of ${this.maxTotal} live sessions; retry later`;
    }
    const othersWaiting = [...this.waiting.keys()].some((o) => o !== owner);
    if (othersWaiting && held >= this.fairShare(owner)) {
      return `the server is nearly full and other owners are waiting: owner "${owner}" already has its fair share of ${this.fairShare(owner)} live sessions; retry later`;
    }
    return null;
  }

  /** Counts a new session of `owner`; returns the owner's audio budget for it to charge. */
  add(owner: string, nowMs: number): AudioRateLimiter {
    this.total++;
    this.waiting.delete(owner);
    let use = this.owners.get(owner);
    if (!use) {
      this.forgetIdleOwners(nowMs);
      const rate = this.ownerBurstMs !== null ? this.maxPerOwner : 0;
      use = { sessions: 0, budget: new AudioRateLimiter(rate, this.ownerBurstMs ?? 0, nowMs) };
      this.owners.set(owner, use);
    }
    use.sessions++;
    return use.budget;
  }

  remove(owner: string): void {
    this.total--;
    const use = this.owners.get(owner);
    if (use) use.sessions--;
  }

  /** An equal split of the server between the owners holding sessions, the waiting ones and `owner`. */
  private fairShare(owner: string): number {
    const contenders = new Set([owner, ...this.waiting.keys()]);
    for (const [o, use] of this.owners) if (use.sessions > 0) contenders.add(o);
    return Math.max(1, Math.floor(this.maxTotal / contenders.size));
  }

  /** Drops owners with no session and a refilled budget: a fresh record is the same. */
  private forgetIdleOwners(nowMs: number): void {
    for (const [o, use] of this.owners) if (use.sessions === 0 && use.budget.isFull(nowMs)) this.owners.delete(o);
  }
}

/**
 * The browser-origin allow-list (config `allowedOrigins`, comma-separated).
 * Empty allows every origin. Requests without an Origin header (servers and
 * bots, not browsers: browsers always send it) are not affected; they are
 * held back by authentication instead.
 */
export class OriginAllowList {
  private readonly origins: Set<string>;

  constructor(list: string) {
    this.origins = new Set(
      list
        .split(',')
        .map((o) => normalizeOrigin(o))
        .filter((o) => o !== ''),
    );
  }

  allows(origin: string): boolean {
    return this.origins.size === 0 || origin === '' || this.origins.has(normalizeOrigin(origin));
  }
}

function normalizeOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, '');
}

export type RefusalReason = 'origin' | 'unauthorized' | 'overloaded';

/** Counters for the limits, on the server's registry. */
export class LimitMetrics {
  readonly refused: client.Counter<'reason'>;
  readonly partialsSkipped: client.Counter;
  readonly slowConsumers: client.Counter;

  constructor(registry: client.Registry, droppedSessions: () => number) {
    new client.Gauge({
      name: 'lt_dropped_sessions',
      help: 'Sessions whose socket dropped, held for their client to resume (they count against the session caps)',
      registers: [registry],
      collect() {
        this.set(droppedSessions());
      },
    });
    this.refused = new client.Counter({ name: 'lt_upgrades_refused_total', help: 'WebSocket upgrades refused, by reason', labelNames: ['reason'], registers: [registry] });
    this.partialsSkipped = new client.Counter({ name: 'lt_partials_skipped_slow_client_total', help: 'Partials not sent because the client was not reading fast enough', registers: [registry] });
    this.slowConsumers = new client.Counter({ name: 'lt_slow_consumers_closed_total', help: 'Sessions closed because the client stopped reading', registers: [registry] });
  }
}
