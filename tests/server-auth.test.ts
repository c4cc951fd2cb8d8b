/**
 * Authentication on the real server (auth=on): API keys made with the real
 * `npm run keys` CLI, tokens minted over POST /v1/tokens, checked on the
 * WebSocket upgrade (refused with 401 before any audio can be sent) and on
 * every transcript route, where one owner never sees another's transcripts.
 * Revoking (or the expiry of) a key ends its tokens on every route and
 * closes the live sessions opened with either, after their finals. Tokens
 * signed elsewhere with the secret are held to `nbf`, `iat` and the maximum
 * lifetime. `/metrics` needs METRICS_TOKEN. The data folder is tightened to
 * 0700 at start. Also: auth=auto on loopback is off with a loud warning,
 * owner `local`, and the transcript database is only created when a
 * transcript route is used.
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToBase64, KDF_NAME, type EncryptedEnvelope } from '../protocol/envelope.js';
import { startServer, type RunningServer } from '../server/app.js';
import { createKey, keysFilePath, KEYS_FILE_NAME } from '../server/api-keys.js';
import { metricsGuard } from '../server/auth.js';
import type { ClosedMessage } from '../protocol/messages.js';
import { DEFAULT_CONFIG } from '../server/config.js';
import { refusedUpgrade, startTestServer, TestClient } from '../testkit/server.js';
import { concat, silence, synthesize } from '../testkit/speech.js';
import { PROJECT_ROOT, sharedPath } from '../testkit/paths.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lt-auth-'));
const SECRET = 'test-secret-that-is-long-enough-for-hmac-0123456789';
const METRICS_TOKEN = 'metrics-token-for-the-scraper-only';
let server: RunningServer;
let base: string;
let aliceKey: string;
let bobKey: string;

function keysCli(...args: string[]): string {
  return execFileSync(path.join(PROJECT_ROOT, 'node_modules/.bin/tsx'), [path.join(PROJECT_ROOT, 'server/keys-cli.ts'), ...args, '--data-dir', dataDir], { encoding: 'utf8' }).trim();
}

beforeAll(async () => {
  aliceKey = keysCli('create', 'alice');
  bobKey = keysCli('create', 'bob');
  // Left open to others, as a careless install might: the server tightens it.
  fs.chmodSync(dataDir, 0o755);
  server = await startTestServer({ auth: 'on', dataDir, tokenSecret: SECRET, metricsToken: METRICS_TOKEN });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.shutdown();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

async function mint(key: string | null, body?: object): Promise<Response> {
  return fetch(`${base}/v1/tokens`, { method: 'POST', headers: key ? bearer(key) : {}, body: body ? JSON.stringify(body) : undefined });
}

async function tokenFor(key: string, scopes: string[], ttlS = 60): Promise<{ token: string; expires_at: string; owner: string; scopes: string[] }> {
  const res = await mint(key, { scopes, ttl_s: ttlS });
  expect(res.status).toBe(201);
  return (await res.json()) as { token: string; expires_at: string; owner: string; scopes: string[] };
}

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await server.metrics.registry.getSingleMetric(name)!.get();
  return metric.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
}

/** Sends a config, waits for `ready`, closes. */
async function openSession(query: string, headers: Record<string, string> = {}): Promise<TestClient> {
  const client = await TestClient.connect(server.port, query, headers);
  client.send({ type: 'config', config: {} });
  await client.waitFor((m) => m.some((x) => x.type === 'ready'));
  client.send({ type: 'close' });
  await client.waitClosed();
  return client;
}

describe('API keys', () => {
  it('are stored only as hashes, and the CLI lists and revokes them', () => {
    const file = fs.readFileSync(path.join(dataDir, KEYS_FILE_NAME), 'utf8');
    expect(aliceKey).toMatch(/^ltk_[A-Za-z0-9_-]{43}$/);
    expect(file).not.toContain(aliceKey);
    expect(file).not.toContain(aliceKey.slice(4, 20));
    expect((fs.statSync(path.join(dataDir, KEYS_FILE_NAME)).mode & 0o777).toString(8)).toBe('600');
    const listed = keysCli('list');
    expect(listed).toMatch(/alice/);
    expect(listed).toMatch(/bob/);
    expect(listed).not.toContain(aliceKey);
  });

  it('upgrades without valid credentials are refused with 401 before the socket opens', async () => {
    const opened = await counter('lt_sessions_total');
    const refusedBefore = await counter('lt_upgrades_refused_total', { reason: 'unauthorized' });
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['', {}, /credentials required/],
      ['', bearer('ltk_not-a-real-key'), /unknown API key/],
      ['', { authorization: `Basic ${Buffer.from(`alice:${aliceKey}`).toString('base64')}` }, /credentials required/],
      [`token=${aliceKey}`, {}, /not accepted in the URL/],
      ['token=abc.def.ghi', {}, /invalid token signature/],
      ['token=garbage', {}, /malformed/],
    ];
    for (const [query, headers, message] of cases) {
      const { status, body } = await refusedUpgrade(server.port, query, headers);
      expect(status).toBe(401);
      expect(body.code).toBe('unauthorized');
      expect(body.message).toMatch(message);
    }
    expect(await counter('lt_sessions_total')).toBe(opened);
    expect(await counter('lt_upgrades_refused_total', { reason: 'unauthorized' })).toBe(refusedBefore + cases.length);
  });

  it('a valid key opens a session whose audio is transcribed', async () => {
    const client = await TestClient.connect(server.port, '', bearer(aliceKey));
    await client.streamPcm(concat(silence(300), synthesize('the train leaves at seven thirty from platform nine'), silence(1000)), 20, false);
    client.send({ type: 'close' });
    await client.waitClosed();
    expect(client.messages.filter((m) => m.type === 'error')).toEqual([]);
    expect(client.finals().length).toBeGreaterThan(0);
    expect(client.messages.at(-1)).toMatchObject({ type: 'closed', reason: 'client_close' });
  });

  it('the data folder was tightened to owner-only at start', () => {
    expect((fs.statSync(dataDir).mode & 0o777).toString(8)).toBe('700');
  });

  it('a revoked key stops working at once, with its tokens, on every route; live sessions opened with either get their finals, then unauthorized', async () => {
    const carol = createKey(keysFilePath(dataDir), 'carol');
    const { token } = await tokenFor(carol.key, ['listen', 'transcripts']);
    expect((await fetch(`${base}/v1/transcripts`, { headers: bearer(token) })).status).toBe(200);
    const speech = concat(silence(300), synthesize('we counted forty two people at the station'), silence(300));
    const byKey = await TestClient.connect(server.port, '', bearer(carol.key));
    const byToken = await TestClient.connect(server.port, `token=${token}`);
    for (const client of [byKey, byToken]) {
      await client.streamPcm(speech, 20, false);
      // Received and being transcribed, its final not sent yet: the trailing silence is shorter than the endpointing.
      await client.waitFor((m) => m.some((x) => x.type === 'partial'));
    }

    keysCli('revoke', carol.record.id);
    let refused = await refusedUpgrade(server.port, '', bearer(carol.key));
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/unknown API key/);
    refused = await refusedUpgrade(server.port, `token=${token}`);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/the API key this token was minted with was revoked/);
    const list = await fetch(`${base}/v1/transcripts`, { headers: bearer(token) });
    expect(list.status).toBe(401);
    expect((await fetch(`${base}/v1/tokens`, { method: 'POST', headers: bearer(carol.key) })).status).toBe(401);

    for (const client of [byKey, byToken]) {
      await client.waitClosed(10_000);
      const types = client.messages.map((m) => m.type);
      expect(client.finalText()).toMatch(/forty/);
      expect(types.lastIndexOf('final')).toBeLessThan(types.indexOf('error'));
      expect(client.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'unauthorized', fatal: true, message: expect.stringMatching(/revoked or has expired/) });
      expect(client.messages.at(-1)).toMatchObject({ type: 'closed', reason: 'unauthorized' } satisfies Partial<ClosedMessage>);
      expect(client.closedCode).toBe(1008);
    }
  });

  it('an expired key and its tokens are refused, and its sessions closed', async () => {
    const dave = createKey(keysFilePath(dataDir), 'dave', 2000);
    const { token } = await tokenFor(dave.key, ['listen']);
    const live = await TestClient.connect(server.port, `token=${token}`);
    live.send({ type: 'config', config: {} });
    await live.waitFor((m) => m.some((x) => x.type === 'ready'));
    await new Promise((r) => setTimeout(r, Date.parse(dave.record.expires_at!) - Date.now() + 50));
    let refused = await refusedUpgrade(server.port, '', bearer(dave.key));
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/API key [0-9a-f]{12} expired/);
    refused = await refusedUpgrade(server.port, `token=${token}`);
    expect(refused.body.message).toMatch(/revoked or has expired/);
    await live.waitClosed(5000);
    expect(live.messages.at(-1)).toMatchObject({ type: 'closed', reason: 'unauthorized' });
  });
});

describe('/metrics', () => {
  it('answers only METRICS_TOKEN while auth is on: no credential, a wrong one or an API key get 401', async () => {
    for (const headers of [{}, bearer('wrong'), bearer(aliceKey), { authorization: METRICS_TOKEN }]) {
      const res = await fetch(`${base}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe('unauthorized');
    }
    const res = await fetch(`${base}/metrics`, { headers: bearer(METRICS_TOKEN) });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^lt_sessions_total /m);
  });

  it('without METRICS_TOKEN is open with auth off (loopback, the benches) and closed to everyone with auth on', () => {
    expect(metricsGuard('', false)('')).toBeNull();
    expect(metricsGuard('', true)(`Bearer ${aliceKey}`)).toMatch(/METRICS_TOKEN is not set/);
    expect(metricsGuard('t', false)('')).toMatch(/METRICS_TOKEN/);
    expect(metricsGuard('t', false)('Bearer t')).toBeNull();
  });
});

describe('tokens', () => {
  it('are minted only with an API key', async () => {
    expect((await mint(null)).status).toBe(401);
    expect((await mint('ltk_wrong')).status).toBe(401);
    const { token } = await tokenFor(aliceKey, ['listen']);
    const res = await mint(token);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toMatch(/only an API key/);
  });

  it('refuse bad requests with a clear message', async () => {
    for (const [body, message] of [
      [{ scopes: ['admin'] }, /scopes must be/],
      [{ scopes: [] }, /scopes must be/],
      [{ ttl_s: 0 }, /ttl_s must be/],
      [{ ttl_s: 999_999 }, /ttl_s must be an integer from 1 to 3600/],
      [{ owner: 'bob' }, /unknown field "owner"/],
    ] as Array<[object, RegExp]>) {
      const res = await mint(aliceKey, body);
      expect(res.status).toBe(400);
      const json = (await res.json()) as { code: string; message: string };
      expect(json.code).toBe('bad_request');
      expect(json.message).toMatch(message);
    }
 
    const big = await mint(aliceKey, { scopes: ['listen'], padding: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { code: string }).code).toBe('payload_too_large');
  });

  it('carry the owner and scopes; a listen token opens a session from the query, as a browser would', async () => {
    const minted = await tokenFor(aliceKey, ['listen']);
    expect(minted).toMatchObject({ owner: 'alice', scopes: ['listen'] });
    expect(Date.parse(minted.expires_at) - Date.now()).toBeGreaterThan(58_000);
    const client = await openSession(`token=${minted.token}`);
    expect(client.messages.map((m) => m.type)).toEqual(['ready', 'closed']);
    // ... and from the Authorization header too.
    await openSession('', bearer(minted.token));
  });

  it('with the wrong scope are refused', async () => {
    const transcriptsOnly = await tokenFor(aliceKey, ['transcripts']);
    const { status, body } = await refusedUpgrade(server.port, `token=${transcriptsOnly.token}`);
    expect(status).toBe(401);
    expect(body.message).toMatch(/lacks the "listen" scope/);
    const listenOnly = await tokenFor(aliceKey, ['listen']);
    expect((await fetch(`${base}/v1/transcripts`, { headers: bearer(listenOnly.token) })).status).toBe(401);
    expect((await fetch(`${base}/v1/transcripts`, { headers: bearer(transcriptsOnly.token) })).status).toBe(200);
  });

  it('that were tampered with are refused', async () => {
    const { token } = await tokenFor(aliceKey, ['listen']);
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'bob' })).toString('base64url');
    const { status, body } = await refusedUpgrade(server.port, `token=${header}.${forged}.${signature}`);
    expect(status).toBe(401);
    expect(body.message).toMatch(/invalid token signature/);
  });

  it('signed with the secret elsewhere are held to nbf, iat and the maximum lifetime', async () => {
    const sign = (claims: object) => {
      const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
      const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return `${head}.${body}.${createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url')}`;
    };
    const now = Math.floor(Date.now() / 1000);
    const claimsBase = { sub: 'alice', scope: 'listen' };
    for (const [claims, message] of [
      [{ ...claimsBase, iat: now, nbf: now + 600, exp: now + 900 }, /not valid yet \(nbf\)/],
      [{ ...claimsBase, iat: now + 600, exp: now + 900 }, /issued in the future \(iat\)/],
      [{ ...claimsBase, iat: now, exp: now + 3600 * 24 * 365 }, /lives longer than the maximum of 3600 s/],
      [{ ...claimsBase, exp: now + 3600 * 24 }, /lives longer than the maximum/],
      [{ ...claimsBase, iat: now - 7200, exp: now + 60 }, /lives longer than the maximum/],
      [{ ...claimsBase, iat: 'yesterday', exp: now + 60 }, /iat must be a number/],
      [{ ...claimsBase, iat: now, exp: now + 60, kid: 'feedfeedfeed' }, /the API key this token was minted with was revoked/],
    ] as Array<[object, RegExp]>) {
      const { status, body } = await refusedUpgrade(server.port, `token=${sign(claims)}`);
      expect(status, JSON.stringify(claims)).toBe(401);
      expect(body.message).toMatch(message);
    }
    // Within the rules, with or without iat and nbf (and no kid: only a new secret revokes it).
    await openSession(`token=${sign({ ...claimsBase, iat: now, nbf: now, exp: now + 3600 })}`);
    await openSession(`token=${sign({ ...claimsBase, exp: now + 60 })}`);
  });

  it('expire', async () => {
    const { token, expires_at } = await tokenFor(aliceKey, ['listen'], 1);
    await openSession(`token=${token}`);
    await new Promise((r) => setTimeout(r, Date.parse(expires_at) - Date.now() + 50));
    const { status, body } = await refusedUpgrade(server.port, `token=${token}`);
    expect(status).toBe(401);
    expect(body.message).toMatch(/token expired/);
  });
});

describe('transcripts are visible only to their owner', () => {
  function envelope(id: string): EncryptedEnvelope {
    const random = (n: number) => bytesToBase64(globalThis.crypto.getRandomValues(new Uint8Array(n)));
    return { v: 1, kdf: { name: KDF_NAME, iterations: 600_000, salt: random(16) }, iv: random(12), ciphertext: random(64), transcript_id: id, transcript_version: 1 };
  }

  const call = (method: string, url: string, credential: string | null, body?: object) =>
    fetch(`${base}${url}`, { method, headers: { 'content-type': 'application/json', ...(credential ? bearer(credential) : {}) }, body: body ? JSON.stringify(body) : undefined });

  it('another owner can never read, list or delete them', async () => {
    const aliceEnvelope = envelope('meeting-1');
    expect((await call('PUT', '/v1/transcripts/meeting-1', aliceKey, aliceEnvelope)).status).toBe(201);

    expect((await call('GET', '/v1/transcripts/meeting-1', bobKey)).status).toBe(404);
    expect(await (await call('GET', '/v1/transcripts', bobKey)).json()).toEqual({ transcripts: [] });
    expect((await call('DELETE', '/v1/transcripts/meeting-1', bobKey)).status).toBe(404);
    expect(await (await call('DELETE', '/v1/transcripts', bobKey)).json()).toEqual({ deleted: 0 });
    // Bob's transcript of the same id is his own and leaves Alice's alone.
    const bobEnvelope = envelope('meeting-1');
    expect((await call('PUT', '/v1/transcripts/meeting-1', bobKey, bobEnvelope)).status).toBe(201);

    const aliceToken = (await tokenFor(aliceKey, ['transcripts'])).token;
    for (const credential of [aliceKey, aliceToken]) {
      const got = await call('GET', '/v1/transcripts/meeting-1', credential);
      expect(got.status).toBe(200);
      expect(((await got.json()) as EncryptedEnvelope).ciphertext).toBe(aliceEnvelope.ciphertext);
    }
    const bobGot = (await (await call('GET', '/v1/transcripts/meeting-1', bobKey)).json()) as EncryptedEnvelope;
    expect(bobGot.ciphertext).toBe(bobEnvelope.ciphertext);

    expect((await call('DELETE', '/v1/transcripts/meeting-1', bobKey)).status).toBe(204);
    expect((await call('GET', '/v1/transcripts/meeting-1', aliceKey)).status).toBe(200);
  });

  it('every transcript route refuses a caller without valid credentials', async () => {
    for (const credential of [null, 'ltk_wrong', 'a.b.c']) {
      for (const [method, url, body] of [
        ['GET', '/v1/transcripts', undefined],
        ['GET', '/v1/transcripts/meeting-1', undefined],
        ['PUT', '/v1/transcripts/meeting-2', envelope('meeting-2')],
        ['DELETE', '/v1/transcripts/meeting-1', undefined],
        ['DELETE', '/v1/transcripts', undefined],
      ] as Array<[string, string, object | undefined]>) {
        const res = await call(method, url, credential, body);
        expect(res.status, `${method} ${url} with ${credential}`).toBe(401);
        expect(((await res.json()) as { code: string }).code).toBe('unauthorized');
      }
    }
    expect((await call('GET', '/v1/transcripts/meeting-1', aliceKey)).status).toBe(200);
  });
});

describe('auth=auto on a loopback host', () => {
  it('is off with a loud warning, everyone is owner "local", and no file is written until a transcript route is used', async () => {
    const localDir = path.join(dataDir, 'local-data');
    const lines: string[] = [];
    const local = await startServer(
      { ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0, vadModel: sharedPath('models/silero-vad-v5/silero_vad.onnx'), asrThreads: 1, dataDir: localDir },
      (line) => lines.push(line),
    );
    try {
      expect(lines.some((l) => l.startsWith('AUTH DISABLED') && l.includes('127.0.0.1'))).toBe(true);
      const client = await TestClient.connect(local.port);
      client.send({ type: 'config', config: {} });
      await client.waitFor((m) => m.some((x) => x.type === 'ready'));
      client.send({ type: 'close' });
      await client.waitClosed();
      expect(fs.existsSync(localDir)).toBe(false);

      const minted = await fetch(`http://127.0.0.1:${local.port}/v1/tokens`, { method: 'POST' });
      expect(minted.status).toBe(201);
      expect(await minted.json()).toMatchObject({ owner: 'local', scopes: ['listen'] });
      const list = await fetch(`http://127.0.0.1:${local.port}/v1/transcripts`);
      expect(list.status).toBe(200);
      expect(fs.existsSync(path.join(localDir, 'transcripts.sqlite'))).toBe(true);
    } finally {
      await local.shutdown();
    }
  });
});
