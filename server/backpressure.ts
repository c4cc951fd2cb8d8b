/**
 * The slow-consumer policy for one client. The bytes still unsent to it
 * (uWS `ws.getBufferedAmount()`) decide each outgoing message: above the soft
 * limit partials are skipped (the next partial or the final supersedes each
 * one anyway), everything else is always sent; above the hard limit for
 * longer than `slowConsumerMs` the client is cut off, so a client that stops
 * reading cannot make server memory grow without bound.
 */
import type { WebSocket } from 'uWebSockets.js';
import type { ServerMessage } from '../protocol/messages.js';

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

export type Delivery = 'sent' | 'skipped' | 'cut';

/**
 * Sends one message to `ws` under `guard` (as /v1/listen does): a partial may
 * be skipped; 'cut' when the client must be cut off (stuck over the hard
 * limit, or uWS dropped the message over its own limit, so it was lost).
 */
export function sendGuarded(ws: WebSocket<unknown>, guard: SendGuard, kind: ServerMessage['type'], payload: string | Uint8Array): Delivery {
  const decision = guard.decide(kind, ws.getBufferedAmount(), performance.now());
  if (decision === 'skip') return 'skipped';
  // 2: over uWS maxBackpressure, the message was dropped.
  if (decision === 'send' && ws.send(payload, typeof payload !== 'string') !== 2) return 'sent';
  return 'cut';
}
