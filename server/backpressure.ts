/**
 * The slow-consumer policy for one client. The bytes still unsent to it
 * (uWS `ws.getBufferedAmount()`) decide each outgoing message: above the soft
 * limit partials are skipped (the next partial or the final supersedes each
 * one anyway), everything else is always sent; above the hard limit for
 * longer than `slowConsumerMs` the client is cut off, so a client that stops
 * reading cannot make server memory grow without bound.
 */
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
