/**
 * The slow-consumer policy for one client. The bytes still unsent to it
 * (uWS `ws.getBufferedAmount()`) decide each outgoing message: above the soft
 * limit partials are skipped (the next partial or the final supersedes each
 * one anyway), everything else is always sent; above the hard limit for
 * longer than `slowConsumerMs` the client is cut off, so a client that stops
 * reading cannot make server memory grow without bound. `sendGuarded` sends
 * under that policy for every live route.
 */
import type { WebSocket } from 'uWebSockets.js';
import type { ServerMessage } from '../protocol/messages.js';
import type { LimitMetrics } from './limits.js';

export interface BackpressurePolicy {
  softLimitBytes: number;
  hardLimitBytes: number;
  slowConsumerMs: number;
}

export type SendDecision = 'send' | 'skip' | 'cut';

export class SendGuard {
  private overHardSinceMs: number | null = null;

  constructor(private readonly policy: BackpressurePolicy) {}

  decide(type: ServerMessage['type'], bufferedBytes: number, nowMs: number): SendDecision {
    if (bufferedBytes > this.policy.hardLimitBytes) {
      this.overHardSinceMs ??= nowMs;
      if (nowMs - this.overHardSinceMs > this.policy.slowConsumerMs) return 'cut';
    } else {
      this.overHardSinceMs = null;
    }
    return type === 'partial' && bufferedBytes > this.policy.softLimitBytes ? 'skip' : 'send';
  }
}

/** A socket's side of sendGuarded: its guard, and whether it may still be sent to. */
export interface GuardedSocket {
  guard: SendGuard;
  /** No more sends: the session ended or the client is being cut off. */
  closed: boolean;
  /** The close handler ran: the socket must not be touched any more. */
  gone: boolean;
}

/**
 * Sends one message of `kind` to `ws` under its guard, for every live route:
 * a partial may be skipped (`payload` is then never encoded); a client stuck
 * over the hard limit, or one whose message uWS dropped over its own limit,
 * is cut off with 1008 `slow_consumer`.
 */
export function sendGuarded<T extends GuardedSocket>(ws: WebSocket<T>, kind: ServerMessage['type'], payload: () => string | Uint8Array, counters: Pick<LimitMetrics, 'partialsSkipped' | 'slowConsumers'>): void {
  const data = ws.getUserData();
  if (data.closed) return;
  const decision = data.guard.decide(kind, ws.getBufferedAmount(), performance.now());
  if (decision === 'skip') return void counters.partialsSkipped.inc();
  if (decision === 'send') {
    const bytes = payload();
    // 2: over uWS maxBackpressure, the message was dropped; a lost final must not pass silently.
    if (ws.send(bytes, typeof bytes !== 'string') !== 2) return;
  }
  counters.slowConsumers.inc();
  data.closed = true;
  // Not from inside the session's own send: the close handler tears the session down.
  setImmediate(() => {
    if (!data.gone) ws.end(1008, 'slow_consumer');
  });
}
