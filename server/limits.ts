/**
 * Admission and rate limits: which WebSocket upgrades are let in (the browser
 * origin allow-list, live-session caps in total and per owner), how fast one
 * session may send audio, and the counters that show these limits at work.
 */
import client from 'prom-client';

/**
 * A token bucket of audio milliseconds: a session starts with `burstMs` of
 * credit and earns `maxRate` ms of audio per wall-clock ms, up to `burstMs`.
 * A client may send a backlog at once (a reconnect, a file's first minute),
 * but not sustain more than maxRate times real time.
 */
export class AudioRateLimiter {
  private creditMs: number;
  private lastMs: number;

  /** maxRate 0 = no limit. */
  constructor(
    readonly maxRate: number,
    private readonly burstMs: number,
    nowMs: number,
  ) {
    this.creditMs = burstMs;
    this.lastMs = nowMs;
  }

  /** Spends `audioMs` of decoded audio that arrived at `nowMs`; false once the session is over its allowance. */
  take(audioMs: number, nowMs: number): boolean {
    if (this.maxRate <= 0) return true;
    this.creditMs = Math.min(this.burstMs, this.creditMs + (nowMs - this.lastMs) * this.maxRate);
    this.lastMs = nowMs;
    this.creditMs -= audioMs;
    return this.creditMs >= 0;
  }
}

/** Live sessions in total and per owner; a limit of 0 means none. */
export class SessionCaps {
  private total = 0;
  private readonly perOwner = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerOwner: number,
  ) {}

  /** Why one more session for `owner` is refused now, or null. */
  refusal(owner: string): string | null {
    if (this.maxTotal > 0 && this.total >= this.maxTotal) return `the server is at its limit of ${this.maxTotal} live sessions; retry later`;
    if (this.maxPerOwner > 0 && (this.perOwner.get(owner) ?? 0) >= this.maxPerOwner) return `owner "${owner}" already has ${this.maxPerOwner} live sessions, the most allowed`;
    return null;
  }

  add(owner: string): void {
    this.total++;
    this.perOwner.set(owner, (this.perOwner.get(owner) ?? 0) + 1);
  }

  remove(owner: string): void {
    this.total--;
    const n = (this.perOwner.get(owner) ?? 1) - 1;
    if (n > 0) this.perOwner.set(owner, n);
    else this.perOwner.delete(owner);
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

  constructor(registry: client.Registry) {
    this.refused = new client.Counter({ name: 'lt_upgrades_refused_total', help: 'WebSocket upgrades refused, by reason', labelNames: ['reason'], registers: [registry] });
    this.partialsSkipped = new client.Counter({ name: 'lt_partials_skipped_slow_client_total', help: 'Partials not sent because the client was not reading fast enough', registers: [registry] });
    this.slowConsumers = new client.Counter({ name: 'lt_slow_consumers_closed_total', help: 'Sessions closed because the client stopped reading', registers: [registry] });
  }
}
