/**
 * Several replicas, with real parts on loopback: a throwaway PostgreSQL
 * cluster (testkit/postgres.ts), two server processes with auth on sharing
 * it (transcripts and API keys) and a token secret, and HAProxy running
 * deploy/haproxy.cfg in front of them (testkit/haproxy.ts). An API key made
 * in the database works on both, and a token minted by one replica on the
 * other. New sessions spread over both replicas; a dropped
 * session resumes through HAProxy on the replica that holds it, even when
 * least-connections would pick the other, with every final once; a
 * transcript saved through one replica is read, listed and deleted through
 * the other; a replica sent SIGTERM answers /readyz 503 at once, gets no new
 * session, and gives its live session its finals; a resume of a session
 * whose replica is gone gets an honest resume_failed. Everything stops in
 * afterAll.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ListenClient, type ListenClientOptions } from '../client/listen-client.js';
import { decryptTranscript, deriveKey, encryptTranscript, newSalt } from '../client/crypto.js';
import type { ReadyMessage, ServerMessage, TranscriptMessage } from '../protocol/messages.js';
import { createPgKey } from '../server/store/pg-keys.js';
import { PgDatabase } from '../server/store/pg-store.js';
import { startHaproxy, type Haproxy } from '../testkit/haproxy.js';
import { sharedPath } from '../testkit/paths.js';
import { startPostgres, type Postgres } from '../testkit/postgres.js';
import { startServerProcess, type ServerProcess } from '../testkit/server-process.js';
import { TestClient } from '../testkit/server.js';
import { concat, silence, synthesize, toS16le } from '../testkit/speech.js';
import { SENTENCES, speechPlan } from '../testkit/speech-plan.js';

const TOKEN_SECRET = 'scale-out test secret, shared by both replicas';
const GRACE_MS = 15_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let db: Postgres;
const replicas: Record<string, ServerProcess> = {};
let proxy: Haproxy;
/** alice's API key, made in the shared database before the replicas start. */
let key = '';
const withKey = () => ({ authorization: `Bearer ${key}` });

/** A token minted by replica `by`, for `scopes`. */
async function mintToken(by: string, scopes: string[]): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${replicas[by].port}/v1/tokens`, { method: 'POST', headers: { ...withKey(), 'content-type': 'application/json' }, body: JSON.stringify({ scopes, ttl_s: 600 }) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

beforeAll(async () => {
  db = await startPostgres();
  const database = await PgDatabase.open(db.url, { log: () => {} });
  key = (await createPgKey(database, 'alice')).key;
  await database.close();
  for (const id of ['replica1', 'replica2']) {
    replicas[id] = await startServerProcess(
      ['--vad-model', sharedPath('models/silero-vad-v5/silero_vad.onnx'), '--asr-threads', '1', '--auth', 'on', '--replica-id', id, '--shutdown-grace-ms', String(GRACE_MS)],
      { DATABASE_URL: db.url, TOKEN_SECRET, DATA_DIR: `${db.dataDir}-${id}` },
    );
  }
  proxy = await startHaproxy(`127.0.0.1:${replicas.replica1.port}`, `127.0.0.1:${replicas.replica2.port}`);
}, 180_000);

afterAll(async () => {
  await proxy?.stop();
  for (const r of Object.values(replicas)) await r.stop();
  await db?.stop();
});

/** The replica a session runs on: its resume token names it. */
function replicaOf(messages: ServerMessage[]): string {
  const ready = messages.find((m): m is ReadyMessage => m.type === 'ready');
  if (!ready) throw new Error(`no ready among ${JSON.stringify(messages).slice(0, 300)}`);
  return ready.resume_token.split('.')[0];
}

/** A session through HAProxy, once its `ready` came. */
async function session(): Promise<TestClient> {
  const c = await TestClient.connect(proxy.port, '', withKey()).catch(async (err: unknown) => {
    throw new Error(`${String(err)}; HAProxy sees ${JSON.stringify(await proxy.serverStates())}`);
  });
  c.send({ type: 'config', config: { interim_results: false } });
  await c.waitFor((m) => m.some((x) => x.type === 'ready'));
  return c;
}

async function closeAll(clients: TestClient[]): Promise<void> {
  for (const c of clients) c.send({ type: 'close' });
  await Promise.all(clients.map((c) => c.waitClosed()));
}

it('spreads new sessions over both replicas', async () => {
  const clients: TestClient[] = [];
  for (let i = 0; i < 6; i++) clients.push(await session());
  const counts: Record<string, number> = {};
  for (const c of clients) counts[replicaOf(c.messages)] = (counts[replicaOf(c.messages)] ?? 0) + 1;
  await closeAll(clients);
  // Least connections with every session still open: they alternate.
  expect(counts).toEqual({ replica1: 3, replica2: 3 });
});

it('resumes a dropped session through HAProxy on the replica that holds it, every final once', async () => {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(address: string) {
      super(address);
      sockets.push(this);

    }
  }
  const url = `ws://127.0.0.1:${proxy.port}/v1/listen`;
  // A browser's way in: a token minted by one replica, good on both.
  const token = await mintToken('replica1', ['listen']);
  const client = new ListenClient({ url, token, WebSocket: Tracked as ListenClientOptions['WebSocket'], config: { endpointing_ms: 600 }, reconnect: { baseDelayMs: 100 } });
  const finals: TranscriptMessage[] = [];
  const readies: ReadyMessage[] = [];
  client.on('final', (f) => finals.push(f));
  client.on('ready', (r) => readies.push(r));
  const resumedTokens: string[] = [];
  client.on('resumed', (r) => resumedTokens.push(r.resume_token));
  const audio = concat(silence(300), ...SENTENCES.slice(0, 4).flatMap((s) => [synthesize(s), silence(1200)]));
  const pcm = toS16le(audio);
  const frameBytes = 640;
  const ballast: TestClient[] = [];
  let dropped = false;
  const t0 = performance.now();
  for (let pos = 0, i = 0; pos < pcm.length; pos += frameBytes, i++) {
    client.sendAudio(pcm.subarray(pos, pos + frameBytes));
    if (!dropped && finals.length >= 1 && readies.length > 0) {
      dropped = true;
      const home = readies[0].resume_token.split('.')[0];
      // Load the session's replica with two more sessions than the other, so least
      // connections alone would send the resume elsewhere: only the token routes it home.
      while (ballast.filter((b) => replicaOf(b.messages) === home).length < 2) ballast.push(await session());
      for (const b of ballast.filter((b) => replicaOf(b.messages) !== home)) b.send({ type: 'close' });
      sockets[0].terminate();
    }
    const wait = t0 + (i + 1) * 20 - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const summary = await client.close();
  await closeAll(ballast.filter((b) => b.closedCode === null));

  expect(dropped).toBe(true);
  expect(sockets).toHaveLength(2);
  expect(resumedTokens).toHaveLength(1);
  const home = readies[0].resume_token.split('.')[0];
  expect(resumedTokens[0].split('.')[0]).toBe(home);
  const ids = finals.map((f) => f.segment_id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(summary.finals_sent).toBe(finals.length);
  expect(finals.length).toBeGreaterThanOrEqual(4);
});

it('a transcript saved through one replica is read, listed and deleted through the other', async () => {
  const base = (id: string) => `http://127.0.0.1:${replicas[id].port}/v1/transcripts`;
  const secret = await deriveKey('scale-out password', newSalt());
  const envelope = await encryptTranscript(secret, 'shared-1', 1, 'Alice: saved on one replica');
  const put = await fetch(`${base('replica1')}/shared-1`, { method: 'PUT', headers: { ...withKey(), 'content-type': 'application/json' }, body: JSON.stringify(envelope) });
  expect(put.status).toBe(201);
  // Read on replica2 with a token replica1 minted.
  const token = { authorization: `Bearer ${await mintToken('replica1', ['transcripts'])}` };
  const got = await fetch(`${base('replica2')}/shared-1`, { headers: token });
  expect(got.status).toBe(200);
  expect((await decryptTranscript(secret, await got.json(), 'shared-1')).text).toBe('Alice: saved on one replica');
  const listed = (await (await fetch(base('replica2'), { headers: token })).json()) as { transcripts: Array<{ id: string }> };
  expect(listed.transcripts.map((t) => t.id)).toContain('shared-1');
  expect((await fetch(`${base('replica2')}/shared-1`, { method: 'DELETE', headers: withKey() })).status).toBe(204);
  expect((await fetch(`${base('replica1')}/shared-1`, { headers: withKey() })).status).toBe(404);
});

it("a replica sent SIGTERM gets no new session and gives its live one its finals; a resume of its sessions fails honestly", async () => {
  const plan = speechPlan(SENTENCES.slice(0, 2), 'en-us');
  // A live session on replica1 (least connections alternates: at most two tries).
  const spare: TestClient[] = [];
  let live = await session();
  while (replicaOf(live.messages) !== 'replica1') {
    spare.push(live);
    live = await session();
  }
  const streaming = live.streamPcm(plan.audio);
  const second = plan.sentences[1];
  await sleep(second.startMs + (second.endMs - second.startMs) * 0.6);
  const finalsBefore = live.finals().length;
  const victim = replicas.replica1;
  const exited = new Promise<number | null>((resolve) => victim.child.once('exit', (code) => resolve(code)));
  victim.child.kill('SIGTERM');

  // /readyz says 503 at once, while the process is still there.
  let readyz = 0;
  for (let i = 0; i < 100 && readyz !== 503; i++) {
    readyz = (await fetch(`http://127.0.0.1:${victim.port}/readyz`).catch(() => null))?.status ?? 0;
    if (readyz !== 503) await sleep(10);
  }
  expect(readyz).toBe(503);
  // HAProxy takes it out after two failed checks (or once it is gone); the retries cover a session that comes sooner.
  for (let i = 0; i < 100 && (await proxy.serverStates()).replica1 === 'UP'; i++) await sleep(50);
  // New sessions, while it drains: all on replica2.
  const fresh: TestClient[] = [];
  for (let i = 0; i < 4; i++) fresh.push(await session());
  expect(fresh.map((c) => replicaOf(c.messages))).toEqual(['replica2', 'replica2', 'replica2', 'replica2']);

  await live.waitClosed(GRACE_MS);
  await streaming.catch(() => {});
  expect(await exited).toBe(0);
  expect(finalsBefore).toBe(1);
  expect(live.finals().map((f) => f.text.trim() !== '')).toEqual([true, true]);
  expect(live.messages.at(-1)).toMatchObject({ type: 'closed', reason: 'server_shutdown', finals_sent: 2 });
  expect(live.closedCode).toBe(1001);

  // Its token now reaches replica2, which says where the session was and that it is gone.
  const token = (live.messages.find((m) => m.type === 'ready') as ReadyMessage).resume_token;
  const orphan = await TestClient.connect(proxy.port, `resume_token=${encodeURIComponent(token)}&resume_from=2`, withKey());
  await orphan.waitClosed();
  expect(orphan.messages).toEqual([
    { type: 'error', code: 'bad_config', fatal: true, message: 'this session was held by replica replica1, which is gone or unreachable; this is replica2: start a new session' },
  ]);
  expect({ code: orphan.closedCode, reason: orphan.closedReason }).toEqual({ code: 1011, reason: 'resume_failed' });
  await closeAll([...spare, ...fresh]);
});
