/**
 * This process's identity among several replicas behind a load balancer
 * (deploy/haproxy.cfg), and the resume tokens that name it.
 *
 * A replica id comes from `--replica-id`, or else from the host name (a
 * container's or pod's), cut to the characters a URL and an HAProxy server
 * name take. A resume token is `REPLICA.RANDOM.MAC`: the load balancer reads
 * REPLICA (the part before the first dot) to send a reconnect to the replica
 * that holds the session, and MAC, an HMAC-SHA256 of the first two parts under
 * the token secret, lets every replica that shares TOKEN_SECRET tell a token
 * it did not issue from a forged one, so a resume that lands elsewhere
 * (its replica is gone) gets an honest answer instead of "unknown".
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import os from 'node:os';

export const REPLICA_ID_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;
const RANDOM_BYTES = 18;
const MAC_BYTES = 16;

/** `configured`, checked, or the host name made into one. */
export function replicaIdFrom(configured: string, hostname = os.hostname()): string {
  if (configured !== '') {
    if (!REPLICA_ID_PATTERN.test(configured)) throw new Error(`config replicaId: "${configured}" must match ${REPLICA_ID_PATTERN.source}`);
    return configured;
  }
  return hostname.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 63) || 'replica';
}

/** What a resume token says about where its session lives. */
export type TokenCheck = { ok: true; replicaId: string } | { ok: false };

export class ResumeTokens {
  constructor(
    readonly replicaId: string,
    private readonly secret: Buffer,
  ) {}

  mint(): string {
    const body = `${this.replicaId}.${randomBytes(RANDOM_BYTES).toString('base64url')}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The replica a token was issued by, if its MAC holds. */
  check(token: string): TokenCheck {
    const cut = token.lastIndexOf('.');
    const body = token.slice(0, cut);
    const dot = body.indexOf('.');
    const replicaId = body.slice(0, dot);
    if (cut < 0 || dot < 0 || !REPLICA_ID_PATTERN.test(replicaId)) return { ok: false };
    const given = Buffer.from(token.slice(cut + 1), 'base64url');
    const expected = Buffer.from(this.mac(body), 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected) ? { ok: true, replicaId } : { ok: false };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(`resume:${body}`).digest().subarray(0, MAC_BYTES).toString('base64url');
  }
}
