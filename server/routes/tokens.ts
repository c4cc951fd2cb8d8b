/**
 * POST /v1/tokens: a backend that holds an API key mints a short-lived token
 * for a browser (auth.ts), so the key itself never reaches the page. The
 * token names the key (`kid`) and stops working when the key is revoked.
 *
 *   Authorization: Bearer <API key>
 *   body (optional JSON): {"scopes": ["listen", "transcripts"], "ttl_s": 300}
 *   201 {"token", "owner", "scopes", "expires_at"}
 *
 * Defaults: scope `listen`, 300 s. Errors are JSON `{code, message}`: 401
 * `unauthorized` (no key, an unknown key, or a token), 400 `bad_request`,
 * 413 `payload_too_large`.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { bearerCredential, SCOPES, type Authenticator, type MintedToken, type Scope } from '../auth.js';

export const DEFAULT_TOKEN_TTL_S = 300;
const MAX_BODY_BYTES = 4096;

interface TokenRequest {
  scopes: Scope[];
  ttlS: number;
}

export function registerTokenRoute(app: TemplatedApp, auth: Authenticator): void {
  app.post('/v1/tokens', (res, req) => {
    const who = auth.checkKey(bearerCredential(req.getHeader('authorization')));
    let done = false;
    res.onAborted(() => (done = true));
    const reply = (status: string, body: object, closeConnection = false) => {
      if (done) return;
      done = true;
      res.cork(() => res.writeStatus(status).writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store').end(JSON.stringify(body), closeConnection));
    };
    // The body is left unread: close the connection rather than parse it.
    if (!who.ok) return reply('401 Unauthorized', { code: 'unauthorized', message: who.message }, true);

    let body = Buffer.alloc(0);
    res.onData((chunk, isLast) => {
      if (done) return;
      // uWS neuters the chunk when this callback returns: copy it.
      body = Buffer.concat([body, Buffer.from(new Uint8Array(chunk))]);
      if (body.length > MAX_BODY_BYTES) return reply('413 Payload Too Large', { code: 'payload_too_large', message: `the body is over the ${MAX_BODY_BYTES}-byte limit` }, true);
      if (!isLast) return;
      const request = parseTokenRequest(body, auth.maxTokenTtlS);
      if (typeof request === 'string') return reply('400 Bad Request', { code: 'bad_request', message: request });
      reply('201 Created', toWire(auth.mint(who.owner, request.scopes, request.ttlS, who.keyId)));
    });
  });
}

function toWire(t: MintedToken): object {
  return { token: t.token, owner: t.owner, scopes: t.scopes, expires_at: new Date(t.expiresAtMs).toISOString() };
}

/** The request, or what is wrong with it. */
function parseTokenRequest(body: Buffer, maxTtlS: number): TokenRequest | string {
  if (body.length === 0) return { scopes: ['listen'], ttlS: DEFAULT_TOKEN_TTL_S };
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return 'the body must be a JSON object';
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'the body must be a JSON object';
  const { scopes = ['listen'], ttl_s: ttlS = DEFAULT_TOKEN_TTL_S, ...rest } = json as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `unknown field "${unknown[0]}" (allowed: scopes, ttl_s)`;
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => (SCOPES as unknown[]).includes(s))) {
    return `scopes must be a non-empty list of ${SCOPES.map((s) => `"${s}"`).join(', ')}`;
  }
  if (typeof ttlS !== 'number' || !Number.isInteger(ttlS) || ttlS < 1 || ttlS > maxTtlS) return `ttl_s must be an integer from 1 to ${maxTtlS}`;
  return { scopes: [...new Set(scopes as Scope[])], ttlS };
}
