/**
 * One set of admission limits for every front door (the native /v1/listen,
 * the Deepgram-compatible live route, the OpenAI-compatible file route): the
 * browser-origin allow-list, the live-session caps in total and per owner
 * (a native session, a Deepgram session and a file being transcribed each
 * count as one), and the counters of refusals. `admit` checks a new client
 * in the order /v1/listen does: origin, credential, caps.
 */
import type { ErrorCode } from '../protocol/messages.js';
import type { Authenticator, Scope } from './auth.js';
import type { ServerConfig } from './config.js';
import { LimitMetrics, OriginAllowList, SessionCaps } from './limits.js';
import type { Metrics } from './metrics.js';

export type Admitted = { ok: true; owner: string } | { ok: false; status: string; code: ErrorCode; message: string };

export class Admission {
  readonly origins: OriginAllowList;
  readonly caps: SessionCaps;
  readonly limitMetrics: LimitMetrics;

  constructor(
    cfg: ServerConfig,
    metrics: Metrics,
    private readonly auth: Authenticator,
  ) {
    this.origins = new OriginAllowList(cfg.allowedOrigins);
    this.caps = new SessionCaps(cfg.maxSessions, cfg.maxSessionsPerOwner);
    this.limitMetrics = new LimitMetrics(metrics.registry);
  }

  /** Whether a client from `origin` presenting `credential` may start one more session (or file) now. */
  admit(origin: string, credential: string | null, scope: Scope): Admitted {
    if (!this.origins.allows(origin)) {
      this.limitMetrics.refused.inc({ reason: 'origin' });
      return { ok: false, status: '403 Forbidden', code: 'unauthorized', message: `origin ${JSON.stringify(origin)} may not open sessions on this server` };
    }
    const who = this.auth.check(credential, scope);
    if (!who.ok) {
      this.limitMetrics.refused.inc({ reason: 'unauthorized' });
      return { ok: false, status: '401 Unauthorized', code: 'unauthorized', message: who.message };
    }
    const full = this.caps.refusal(who.owner);
    if (full) {
      this.limitMetrics.refused.inc({ reason: 'overloaded' });
      return { ok: false, status: '503 Service Unavailable', code: 'overloaded', message: full };
    }
    return who;
  }
}
