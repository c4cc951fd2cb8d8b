/**
 * The transcript HTTP API (server/routes/transcripts.ts) on a real uWS app
 * listening on 127.0.0.1, backed by a real SQLite store in a temporary
 * folder, driven with fetch. The owner comes from an `x-test-owner` header
 * (real authentication comes later). Covers every route, 401/404/400/413/500,
 * owner isolation, bodies streamed in chunks, and clients that hang up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import uWS from 'uWebSockets.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptTranscript, deriveKey, encryptTranscript, newSalt, type TranscriptKey } from '../client/crypto.js';
import { bytesToBase64, type EncryptedEnvelope } from '../protocol/envelope.js';
import { DEFAULT_MAX_BODY_BYTES, registerTranscriptRoutes, type GetOwner } from '../server/routes/transcripts.js';
import { SqliteTranscriptStore } from '../server/store/sqlite-store.js';
import type { TranscriptStore } from '../server/store/transcript-store.js';

const getOwner: GetOwner = (req) => req.getHeader('x-test-owner') || null;

interface Listening {
  base: string;
  socket: uWS.us_listen_socket;
}

async function listen(app: uWS.TemplatedApp): Promise<Listening> {
  const socket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('cannot listen'))));
  });
  return { socket, base: `http://127.0.0.1:${uWS.us_socket_local_port(socket)}` };
}

let dir: string;
let store: SqliteTranscriptStore;
let server: Listening;
let key: TranscriptKey;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transcript-routes-'));
  store = new SqliteTranscriptStore(dir);
  const app = uWS.App();
  registerTranscriptRoutes(app, store, getOwner);
  server = await listen(app);
  key = await deriveKey('route test password', newSalt());
});

afterAll(async () => {
  uWS.us_listen_socket_close(server.socket);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function call(method: string, urlPath: string, owner: string | null, body?: BodyInit, base = server.base): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (owner !== null) headers['x-test-owner'] = owner;
  return fetch(`${base}${urlPath}`, { method, headers, body });
}

async function expectError(res: Response, status: number, code: string, message?: RegExp): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/json');
  const body = (await res.json()) as { code: string; message: string };
  expect(body.code).toBe(code);
  if (message) expect(body.message).toMatch(message);
}

/** A syntactically valid envelope with `n` random bytes of "ciphertext" (the server cannot tell). */
function randomEnvelope(id: string, n: number): EncryptedEnvelope {
  const random = new Uint8Array(n);
  for (let off = 0; off < n; off += 65_536) globalThis.crypto.getRandomValues(random.subarray(off, Math.min(n, off + 65_536)));
  return {
    v: 1,
    kdf: key.kdf,
    iv: bytesToBase64(globalThis.crypto.getRandomValues(new Uint8Array(12))),
    ciphertext: bytesToBase64(random),
    transcript_id: id,
    transcript_version: 1,
  };
}

/** A body streamed with chunked transfer encoding (no content-length up front). */
function chunkedBody(chunks: number, chunkBytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ === chunks) controller.close();
      else controller.enqueue(new Uint8Array(chunkBytes).fill(0x61));
    },
  });
}

describe('authentication', () => {
  it('answers 401 on every route when getOwner finds nobody', async () => {
    const env = JSON.stringify(await encryptTranscript(key, 'abc', 1, 'x'));
    for (const [method, urlPath, body] of [
      ['PUT', '/v1/transcripts/abc', env],
      ['GET', '/v1/transcripts/abc', undefined],
      ['DELETE', '/v1/transcripts/abc', undefined],
      ['GET', '/v1/transcripts', undefined],
      ['DELETE', '/v1/transcripts', undefined],
    ] as const) {
      await expectError(await call(method, urlPath, null, body), 401, 'unauthorized');
    }
  });
});

describe('a transcript’s life', () => {
  it('is stored, replaced, read back, decrypted, listed and deleted', async () => {
    const v1 = await encryptTranscript(key, 'meeting-1', 1, 'Alice: first draft');
    const created = await call('PUT', '/v1/transcripts/meeting-1', 'alice', JSON.stringify(v1));
    expect(created.status).toBe(201);
    const createdInfo = (await created.json()) as { id: string; size_bytes: number; created_at: string; updated_at: string };
    expect(createdInfo).toEqual({
      id: 'meeting-1',
      size_bytes: Buffer.byteLength(JSON.stringify(v1)),
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updated_at: createdInfo.created_at,
    });

    const v2 = await encryptTranscript(key, 'meeting-1', 2, 'Alice: second draft, longer than the first');
    const replaced = await call('PUT', '/v1/transcripts/meeting-1', 'alice', JSON.stringify(v2));
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toMatchObject({ id: 'meeting-1', created_at: createdInfo.created_at, size_bytes: Buffer.byteLength(JSON.stringify(v2)) });

    const got = await call('GET', '/v1/transcripts/meeting-1', 'alice');
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/json');
    expect(got.headers.get('cache-control')).toBe('no-store');
    const envelope = (await got.json()) as unknown;
    expect(envelope).toEqual(v2);
    expect(await decryptTranscript(key, envelope, 'meeting-1')).toEqual({
      transcriptId: 'meeting-1',
      version: 2,
      text: 'Alice: second draft, longer than the first',
    });

    const listed = await call('GET', '/v1/transcripts', 'alice');
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({
      transcripts: [{ id: 'meeting-1', size_bytes: Buffer.byteLength(JSON.stringify(v2)), created_at: createdInfo.created_at, updated_at: expect.any(String) }],
    });

    const deleted = await call('DELETE', '/v1/transcripts/meeting-1', 'alice');
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    await expectError(await call('GET', '/v1/transcripts/meeting-1', 'alice'), 404, 'not_found');
    await expectError(await call('DELETE', '/v1/transcripts/meeting-1', 'alice'), 404, 'not_found');
    expect(await (await call('GET', '/v1/transcripts', 'alice')).json()).toEqual({ transcripts: [] });
  });

  it('deletes all of one owner’s transcripts and nobody else’s', async () => {
    for (const id of ['all-1', 'all-2', 'all-3']) {
      expect((await call('PUT', `/v1/transcripts/${id}`, 'carol', JSON.stringify(await encryptTranscript(key, id, 1, id)))).status).toBe(201);
    }
    expect((await call('PUT', '/v1/transcripts/all-1', 'dave', JSON.stringify(await encryptTranscript(key, 'all-1', 1, 'dave')))).status).toBe(201);

    const res = await call('DELETE', '/v1/transcripts', 'carol');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: 3 });
    expect(await (await call('GET', '/v1/transcripts', 'carol')).json()).toEqual({ transcripts: [] });
    expect(await (await call('DELETE', '/v1/transcripts', 'carol')).json()).toEqual({ deleted: 0 });
    expect((await call('GET', '/v1/transcripts/all-1', 'dave')).status).toBe(200);
  });
});

describe('owners', () => {
  it('cannot see, list, delete or overwrite another owner’s transcript: it answers 404 like a missing one', async () => {
    const secret = await encryptTranscript(key, 'private-1', 1, 'erin only');
    expect((await call('PUT', '/v1/transcripts/private-1', 'erin', JSON.stringify(secret))).status).toBe(201);

    const missing = await call('GET', '/v1/transcripts/never-existed', 'frank');
    const foreign = await call('GET', '/v1/transcripts/private-1', 'frank');
    expect(foreign.status).toBe(404);
    expect(await foreign.text()).toBe(await missing.text()); // indistinguishable
    await expectError(await call('DELETE', '/v1/transcripts/private-1', 'frank'), 404, 'not_found');
    expect(await (await call('GET', '/v1/transcripts', 'frank')).json()).toEqual({ transcripts: [] });

    // Frank writing the same id makes his own transcript; Erin's is untouched.
    const franks = await encryptTranscript(key, 'private-1', 1, 'frank');
    expect((await call('PUT', '/v1/transcripts/private-1', 'frank', JSON.stringify(franks))).status).toBe(201);
    expect(await (await call('GET', '/v1/transcripts/private-1', 'erin')).json()).toEqual(secret);
    expect(await (await call('GET', '/v1/transcripts/private-1', 'frank')).json()).toEqual(franks);
  });
});

describe('bad requests', () => {
  it('refuses malformed ids with 400 on every id route', async () => {
    const env = JSON.stringify(await encryptTranscript(key, 'abc', 1, 'x'));
    for (const id of ['a.b', 'a'.repeat(65), 'a%2Fb', '%C3%A4']) {
      await expectError(await call('PUT', `/v1/transcripts/${id}`, 'alice', env), 400, 'bad_id', /transcript id must match/);
      await expectError(await call('GET', `/v1/transcripts/${id}`, 'alice'), 400, 'bad_id');
      await expectError(await call('DELETE', `/v1/transcripts/${id}`, 'alice'), 400, 'bad_id');
    }
  });

  it('refuses bodies that are not well-formed envelopes, plaintext above all, and stores nothing', async () => {
    const good = await encryptTranscript(key, 'bad-1', 1, 'fine');
    const plaintext = 'Alice: this is the whole transcript, unencrypted, which the server must refuse.';
    const cases: Array<[BodyInit, RegExp]> = [
      ['', /must be a JSON envelope/],
      ['not json', /must be a JSON envelope/],
      [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), /must be a JSON envelope/],
      [JSON.stringify({ transcript_id: 'bad-1', text: plaintext }), /unknown field\(s\): text/],
      [JSON.stringify({ ...good, text: plaintext }), /unknown field\(s\): text/],
      [JSON.stringify({ ...good, ciphertext: Buffer.from(plaintext).toString('base64') }), /readable text/],
      [JSON.stringify({ ...good, ciphertext: plaintext }), /ciphertext is not valid base64/],
      [JSON.stringify({ ...good, v: 2 }), /unsupported envelope version 2/],
      [JSON.stringify({ ...good, iv: bytesToBase64(new Uint8Array(16)) }), /iv must be 12 bytes/],
      [JSON.stringify({ ...good, transcript_id: 'bad-2' }), /for transcript bad-2, not bad-1/],
      [JSON.stringify([good]), /must be a JSON object/],
    ];
    for (const [body, message] of cases) {
      await expectError(await call('PUT', '/v1/transcripts/bad-1', 'alice', body), 400, 'bad_envelope', message);
    }
    await expectError(await call('GET', '/v1/transcripts/bad-1', 'alice'), 404, 'not_found');
  });
});

describe('body size', () => {
  it(`accepts a body just under the ${DEFAULT_MAX_BODY_BYTES}-byte limit, arriving in many chunks`, async () => {
    const env = randomEnvelope('big-1', 3_900_000);
    const body = JSON.stringify(env);
    expect(body.length).toBeGreaterThan(DEFAULT_MAX_BODY_BYTES - 200_000);
    expect(body.length).toBeLessThanOrEqual(DEFAULT_MAX_BODY_BYTES);
    expect((await call('PUT', '/v1/transcripts/big-1', 'gina', body)).status).toBe(201);
    expect(await (await call('GET', '/v1/transcripts/big-1', 'gina')).text()).toBe(body);
  });

  it('answers 413 to a declared content-length over the limit, before reading the body', async () => {
    const body = 'x'.repeat(DEFAULT_MAX_BODY_BYTES + 1);
    await expectError(await call('PUT', '/v1/transcripts/big-2', 'gina', body), 413, 'payload_too_large', /5242880-byte limit/);
    await expectError(await call('GET', '/v1/transcripts/big-2', 'gina'), 404, 'not_found');
  });

  it('answers 413 once a chunked body (no content-length) streams past the limit', async () => {
    const res = await fetch(`${server.base}/v1/transcripts/big-3`, {
      method: 'PUT',
      headers: { 'x-test-owner': 'gina' },
      body: chunkedBody(200, 64 * 1024), // 12.5 MiB: read and dropped past the limit, then answered
      duplex: 'half',
    } as RequestInit);
    await expectError(res, 413, 'payload_too_large');
    // A small chunked body goes through the same path and is judged on its content.
    const small = await fetch(`${server.base}/v1/transcripts/big-3`, {
      method: 'PUT',
      headers: { 'x-test-owner': 'gina' },
      body: chunkedBody(3, 100),
      duplex: 'half',
    } as RequestInit);
    await expectError(small, 400, 'bad_envelope');
    // The server is fine afterwards.
    expect((await call('GET', '/v1/transcripts', 'gina')).status).toBe(200);
  });
});

describe('failures', () => {
  let broken: Listening;
  let releaseGet: (value: string | null) => void = () => {};
  let getStarted: () => void = () => {};
  const logged: string[] = [];

  beforeAll(async () => {
    const fail = (): Promise<never> => Promise.reject(new Error('disk on fire'));
    // A store that fails on list and holds every get until the test lets it go.
    const brokenStore: TranscriptStore = {
      put: fail,
      get: () =>
        new Promise((resolve) => {
          releaseGet = resolve;
          getStarted();
        }),
      list: fail,
      delete: fail,
      deleteAll: fail,
      close: async () => {},
    };
    const app = uWS.App();
    registerTranscriptRoutes(app, brokenStore, getOwner, { log: (line) => logged.push(line) });
    broken = await listen(app);
  });

  afterAll(() => {
    uWS.us_listen_socket_close(broken.socket);
  });

  it('answers 500 without details when the store fails, and logs the cause', async () => {
    await expectError(await call('GET', '/v1/transcripts', 'alice', undefined, broken.base), 500, 'internal', /^internal error$/);
    await expectError(await call('DELETE', '/v1/transcripts', 'alice', undefined, broken.base), 500, 'internal');
    expect(logged.some((line) => line.includes('disk on fire'))).toBe(true);
  });

  it('survives a client that hangs up while the store is still working', async () => {
    const started = new Promise<void>((resolve) => (getStarted = resolve));
    const controller = new AbortController();
    const pending = fetch(`${broken.base}/v1/transcripts/slow`, { headers: { 'x-test-owner': 'alice' }, signal: controller.signal });
    await started;
    controller.abort();
    await expect(pending).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50)); // let uWS see the closed socket
    releaseGet('{"late":true}'); // answering now would be writing to an aborted response
    await expectError(await call('GET', '/v1/transcripts', 'alice', undefined, broken.base), 500, 'internal');
  });

  it('survives a client that hangs up mid-upload', async () => {
    const controller = new AbortController();
    let chunks = 0;
    const pending = fetch(`${server.base}/v1/transcripts/hangup`, {
      method: 'PUT',
      headers: { 'x-test-owner': 'alice' },
      body: new ReadableStream<Uint8Array>({
        pull(c) {
          if (chunks++ < 3) c.enqueue(new Uint8Array(1000).fill(0x61));
          else controller.abort(); // never finish the body
        },
      }),
      duplex: 'half',
      signal: controller.signal,
    } as RequestInit);
    await expect(pending).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    await expectError(await call('GET', '/v1/transcripts/hangup', 'alice'), 404, 'not_found');
  });
});
