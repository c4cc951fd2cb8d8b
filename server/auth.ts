/**
 * Who is calling, and may they. Two credentials, both sent as
 * `Authorization: Bearer <credential>`:
 *
 *  - API keys (api-keys.ts), for servers and bots: every scope, and the right
 *    to mint tokens (POST /v1/tokens, routes/tokens.ts);
 *  - tokens, for browsers, so a key never reaches a page: short-lived JWTs
 *    (HS256, signed with the server secret) carrying the owner (`sub`), the
 *    scopes (`scope`: `listen` and/or `transcripts`, space-separated), the
 *    id of the key that minted them (`kid`: a token dies with its key), the
 *    issue time (`iat`) and the expiry (`exp`, at most the maximum token
 *    lifetime after `iat`; `nbf` is honoured too). A browser's WebSocket
 *    cannot set headers, so a token may also come as the `token` query
 *    parameter; a key never may (URLs end up in logs).
 *
 * Auth mode `auto` is off when the server listens on a loopback host (every
 * caller is owner `local`, and a loud warning is logged) and on otherwise.
 * `/metrics` has a credential of its own (metricsGuard).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { FileKeyRing, KEY_PREFIX, keysFilePath, OWNER_PATTERN, type KeyRing } from './api-keys.js';
import type { ServerConfig } from './config.js';
import { ResumeTokens } from './replica.js';

export type Scope = 'listen' | 'transcripts';
export const SCOPES: readonly Scope[] = ['listen', 'transcripts'];
/** The owner of everything when auth is off. */
export const LOCAL_OWNER = 'local';
export const MIN_SECRET_BYTES = 32;
/** How far ahead of ours a token signer's clock may be (`iat`, `nbf`). */
export const CLOCK_SKEW_S = 30;

/**
 * `keyId`: the API key the credential is (or was minted with), whose
 * revocation or expiry ends it; null when auth is off or for a token a
 * backend signed itself with the secret (no `kid`).
 */
export type AuthResult = { ok: true; owner: string; keyId: string | null } | { ok: false; message: string };

export interface MintedToken {
  token: string;
  owner: string;
  scopes: Scope[];
  /** milliseconds since the Unix epoch */
  expiresAtMs: number;
}

export class Authenticator {
  /**
   * @param keys the API keys, or null for auth off
   * @param secret the HMAC-SHA256 key tokens are signed with
   */
  constructor(
    private readonly keys: KeyRing | null,
    private readonly secret: Buffer,
    readonly maxTokenTtlS: number,
  ) {}

  get enabled(): boolean {
    return this.keys !== null;
  }

  /** Resume tokens of replica `replicaId`, under the token secret (replicas that share TOKEN_SECRET can check each other's). */
  resumeTokens(replicaId: string): ResumeTokens {
    return new ResumeTokens(replicaId, this.secret);
  }

  /** Whether `credential` (null when none was sent) may act for some owner with `scope`. */
  check(credential: string | null, scope: Scope, from: 'header' | 'query' = 'header'): AuthResult {
    if (!this.keys) return { ok: true, owner: LOCAL_OWNER, keyId: null };
    if (!credential) return fail('credentials required: send "Authorization: Bearer <API key or token>" (browsers: the token query parameter)');
    if (credential.startsWith(KEY_PREFIX)) {
      if (from === 'query') return fail('API keys are not accepted in the URL, where they would leak into logs: send the key in the Authorization header, or mint a token');
      return this.checkKey(credential);
    }
    const claims = this.verifyToken(credential);
    if (typeof claims === 'string') return fail(claims);
    if (!claims.scopes.includes(scope)) return fail(`this token lacks the "${scope}" scope`);
    return { ok: true, owner: claims.owner, keyId: claims.keyId };
  }

  /** Only an API key may mint tokens: a leaked token must not be able to extend itself. */
  checkKey(credential: string | null): AuthResult {
    if (!this.keys) return { ok: true, owner: LOCAL_OWNER, keyId: null };
    if (!credential) return fail('an API key is required: send "Authorization: Bearer <API key>"');
    if (!credential.startsWith(KEY_PREFIX)) return fail('only an API key can do this, not a token');
    const key = this.keys.find(credential);
    if (key === null) return fail('unknown API key');
    if (Date.now() >= key.expiresAtMs) return fail(`API key ${key.id} expired`);
    return { ok: true, owner: key.owner, keyId: key.id };
  }

  /** Whether the API key `keyId` still exists and has not expired (a session opened with it, or with its tokens, may go on). */
  keyIsValid(keyId: string): boolean {
    if (!this.keys) return true;
    const key = this.keys.findId(keyId);
    return key !== null && Date.now() < key.expiresAtMs;
  }

  /** A token for `owner` minted with the key `keyId` (null when auth is off), living `ttlS`. */
  mint(owner: string, scopes: Scope[], ttlS: number, keyId: string | null, nowMs = Date.now()): MintedToken {
    // Rounded up to a whole second (JWT `exp` is in seconds): the token lives at least ttlS.
    const exp = Math.ceil(nowMs / 1000 + ttlS);
    const header = base64urlJson({ alg: 'HS256', typ: 'JWT' });
    const claims = { sub: owner, scope: scopes.join(' '), iat: Math.floor(nowMs / 1000), exp };
    const payload = base64urlJson(keyId === null ? claims : { ...claims, kid: keyId });
    return { token: `${header}.${payload}.${this.sign(`${header}.${payload}`)}`, owner, scopes, expiresAtMs: exp * 1000 };
  }

  /** The token's owner, scopes and key, or why it is refused. */
  private verifyToken(token: string): { owner: string; scopes: Scope[]; keyId: string | null } | string {
    const parts = token.split('.');
    if (parts.length !== 3) return 'malformed credential: neither an API key nor a token';
    const expected = Buffer.from(this.sign(`${parts[0]}.${parts[1]}`));
    const given = Buffer.from(parts[2]);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid token signature';
    // Signed by us (or by a backend holding the secret): the contents can be trusted, but are still checked.
    let header: { alg?: unknown };
    let claims: { sub?: unknown; scope?: unknown; exp?: unknown; iat?: unknown; nbf?: unknown; kid?: unknown };
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return 'malformed token';
    }
    if (header.alg !== 'HS256') return 'token algorithm must be HS256';
    if (typeof claims.sub !== 'string' || !OWNER_PATTERN.test(claims.sub)) return 'token has no valid owner (sub)';
    if (typeof claims.exp !== 'number') return 'token has no expiry (exp)';
    for (const name of ['iat', 'nbf'] as const) {
      if (claims[name] !== undefined && typeof claims[name] !== 'number') return `token claim ${name} must be a number of seconds`;
    }
    const nowS = Date.now() / 1000;
    const iat = claims.iat as number | undefined;
    const nbf = claims.nbf as number | undefined;
    if (nowS >= claims.exp) return 'token expired';
    if (iat !== undefined && iat > nowS + CLOCK_SKEW_S) return 'token issued in the future (iat)';
    if (nbf !== undefined && nbf > nowS + CLOCK_SKEW_S) return 'token not valid yet (nbf)';
    // One second more than the maximum: mint() rounds iat down and exp up.
    if (claims.exp - (iat ?? nowS) > this.maxTokenTtlS + 1) return `token lives longer than the maximum of ${this.maxTokenTtlS} s (exp - iat)`;
    if (claims.kid !== undefined && (typeof claims.kid !== 'string' || !this.keyIsValid(claims.kid))) return 'the API key this token was minted with was revoked or has expired';
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter((s): s is Scope => (SCOPES as string[]).includes(s)) : [];
    return { owner: claims.sub, scopes, keyId: (claims.kid as string | undefined) ?? null };
  }

  private sign(data: string): string {
    return createHmac('sha256', this.secret).update(data).digest('base64url');
  }
}

function fail(message: string): AuthResult {
  return { ok: false, message };
}

function base64urlJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The credential of an `Authorization: Bearer ...` header, or null. */
export function bearerCredential(authorization: string): string | null {
  const m = /^Bearer[ \t]+(\S+)\s*$/i.exec(authorization);
  return m ? m[1] : null;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Resolves the auth mode and the token secret from the configuration, logging
 * what it decided. `sharedKeys`: the keys in PostgreSQL (store/pg-keys.ts)
 * when the server has a database; otherwise the file in the data folder.
 */
export function createAuthenticator(cfg: ServerConfig, log: (line: string) => void, sharedKeys?: KeyRing): Authenticator {
  const loopback = isLoopbackHost(cfg.host);
  const on = cfg.auth === 'on' || (cfg.auth === 'auto' && !loopback);
  let secret: Buffer;
  if (cfg.tokenSecret !== '') {
    secret = Buffer.from(cfg.tokenSecret, 'utf8');
    if (secret.length < MIN_SECRET_BYTES) throw new Error(`config tokenSecret: at least ${MIN_SECRET_BYTES} bytes needed (for example: openssl rand -base64 48)`);
  } else {
    secret = randomBytes(MIN_SECRET_BYTES);
  }
  if (!on) {
    log(
      loopback
        ? `AUTH DISABLED: listening on loopback host ${cfg.host}, every client is trusted as owner "${LOCAL_OWNER}" (--auth on to require API keys)`
        : `AUTH DISABLED (--auth off) on ${cfg.host}: anyone who can reach this port can transcribe and use the transcript store as owner "${LOCAL_OWNER}"`,
    );
    return new Authenticator(null, secret, cfg.tokenMaxTtlS);
  }
  const keys = sharedKeys ?? new FileKeyRing(keysFilePath(cfg.dataDir), log);
  log(`auth on: ${keys.size} API key(s) in ${keys.where}${keys.size === 0 ? ' (none yet: create one with `npm run keys -- create OWNER`)' : ''}`);
  if (cfg.tokenSecret === '') log('TOKEN_SECRET not set: tokens are signed with a random per-process secret and stop working when the server restarts');
  return new Authenticator(keys, secret, cfg.tokenMaxTtlS);
}

/**
 * Who may read `/metrics`: `METRICS_TOKEN` as a bearer token when it is set;
 * otherwise anyone while auth is off (a loopback server, the benches) and
 * nobody while it is on, since counts, latencies, memory and versions are
 * not for every tenant. Returns why a request is refused, or null.
 */
export function metricsGuard(metricsToken: string, authOn: boolean): (authorization: string) => string | null {
  if (metricsToken === '') {
    const refusal = authOn ? 'auth is on and METRICS_TOKEN is not set: /metrics answers nobody' : null;
    return () => refusal;
  }
  // Compared as hashes: equal lengths for timingSafeEqual, whatever was sent.
  const expected = createHash('sha256').update(metricsToken).digest();
  return (authorization) => {
    const given = createHash('sha256').update(bearerCredential(authorization) ?? '').digest();
    return timingSafeEqual(given, expected) ? null : 'send "Authorization: Bearer <METRICS_TOKEN>"';
  };
}
