/**
 * One set of admission limits for every front door (the native /v1/listen,
 * the Deepgram-compatible live route, the OpenAI-compatible file route): the
 * browser-origin allow-list, the session caps in total and per owner with
 * fair admission and each owner's audio budget (limits.ts SessionCaps; a
 * native session, a Deepgram session and a file being transcribed each count
 * as one), the counters of refusals, and the revocation check. A client is
 * checked in the order /v1/listen does: origin, credential (`identify`),
 * then room (`room`; `admit` does all three). An admitted session or file
 * holds a `Place` from its start until it is let go (`take`, `release`);
 * every KEY_CHECK_INTERVAL_MS, places whose API key (or the key their token
 * was minted with) was revoked or expired are ended through their
 * `onRevoked`.
 */
import type { ErrorCode } from '../protocol/messages.js';
import type { Authenticator, Scope } from './auth.js';
import type { ServerConfig } from './config.js';
import { AudioRateLimiter, LimitMetrics, OriginAllowList, ownerSessionCap, SessionCaps } from './limits.js';
import type { Metrics } from './metrics.js';
import { SessionError } from './session.js';

/** How often live sessions' keys are checked: a revoked key's sessions end within this (plus their finals). */
export const KEY_CHECK_INTERVAL_MS = 1000;

/** Who a client is: the owner it counts against, and the API key that lets it go on (auth.ts AuthResult). */
export interface Identity {
  owner: string;
  keyId: string | null;
}

export interface Refusal {
  status: string;
  code: ErrorCode;
  message: string;
}

export type Admitted = ({ ok: true } & Identity) | ({ ok: false } & Refusal);

/** A session or file counted against the caps, from `take` until `release`. */
export interface Place {
  readonly owner: string;
  /** The API key that lets it go on; a resumed session goes on under the credential it was resumed with. */
  keyId: string | null;
  /** The owner's audio budget, shared with its other places, for the Session to charge (limits.ts). */
  readonly ownerBudget: AudioRateLimiter;
}

export class Admission {
  readonly origins: OriginAllowList;
  readonly caps: SessionCaps;
  readonly limitMetrics: LimitMetrics;
  /** Each held place and how to end it when its key is revoked. */
  private readonly places = new Map<Place, (error: SessionError) => void>();
  private readonly keyCheck: NodeJS.Timeout;

  /** `droppedSessions`: how many sessions are dropped and held for resume (routes/listen.ts), for the metrics. */
  constructor(
    cfg: ServerConfig,
    metrics: Metrics,
    private readonly auth: Authenticator,
    droppedSessions: () => number,
  ) {
    this.origins = new OriginAllowList(cfg.allowedOrigins);
    this.caps = new SessionCaps(cfg.maxSessions, ownerSessionCap(cfg.maxSessions, cfg.maxSessionsPerOwner, auth.enabled), cfg.maxAudioRate > 0 ? cfg.audioBurstMs : null);
    this.limitMetrics = new LimitMetrics(metrics.registry, droppedSessions);
    this.keyCheck = setInterval(() => this.checkKeys(), KEY_CHECK_INTERVAL_MS).unref();
  }

  /** Origin, then credential: who a new client from `origin` presenting `credential` (sent in a header or the URL) is, or why it is refused. */
  identify(origin: string, credential: string | null, scope: Scope, from: 'header' | 'query' = 'header'): Admitted {
    if (!this.origins.allows(origin)) {
      this.limitMetrics.refused.inc({ reason: 'origin' });
      return { ok: false, status: '403 Forbidden', code: 'unauthorized', message: `origin ${JSON.stringify(origin)} may not open sessions on this server` };
    }
    const who = this.auth.check(credential, scope, from);
    if (!who.ok) {
      this.limitMetrics.refused.inc({ reason: 'unauthorized' });
      return { ok: false, status: '401 Unauthorized', code: 'unauthorized', message: who.message };
    }
    return { ok: true, owner: who.owner, keyId: who.keyId };
  }

  /** Why one more session (or file) of `owner` does not fit now, or null. */
  room(owner: string): Refusal | null {
    const full = this.caps.refusal(owner, performance.now());
    if (!full) return null;
    this.limitMetrics.refused.inc({ reason: 'overloaded' });
    return { status: '503 Service Unavailable', code: 'overloaded', message: full };
  }

  /** `identify`, then `room`: whether a client may start one more session (or file) now. */
  admit(origin: string, credential: string | null, scope: Scope): Admitted {
    const who = this.identify(origin, credential, scope);
    if (!who.ok) return who;
    const full = this.room(who.owner);
    return full ? { ok: false, ...full } : who;
  }

  /** Counts a session (or file) of `who` from now; `onRevoked` ends it when its key is revoked or expires (called again each check until it is released). */
  take(who: Identity, onRevoked: (error: SessionError) => void): Place {
    const place: Place = { owner: who.owner, keyId: who.keyId, ownerBudget: this.caps.add(who.owner, performance.now()) };
    this.places.set(place, onRevoked);
    return place;
  }

  /** Lets `place` go: it no longer counts, and is no longer checked. */
  release(place: Place): void {
    if (!this.places.delete(place)) return;
    this.caps.remove(place.owner);
  }

  /** Stops the revocation check (shutdown). */
  close(): void {
    clearInterval(this.keyCheck);
  }

  private checkKeys(): void {
    for (const [place, onRevoked] of this.places) {
      if (place.keyId === null || this.auth.keyIsValid(place.keyId)) continue;
      onRevoked(new SessionError('unauthorized', `the API key ${place.keyId} this session was opened with was revoked or has expired`, true));
    }
  }
}
