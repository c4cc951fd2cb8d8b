/**
 * Server limits on the real server (auth=on, several owners): session caps
 * in total and per owner (503 `overloaded` at the upgrade), which a dropped
 * session awaiting resume still counts against, and fair admission when
 * the server is full (the owner who was refused gets the next free session);
 * the browser origin allow-list (403); audio faster than 2x real time
 * (`rate_limited`, the session closes); each owner's audio budget, which a
 * new session does not refill and which an 8-channel session pays 8x; a
 * client that stops reading (cut off as `slow_consumer` while a healthy
 * session beside it still gets its final), and a frame over the size limit.
 * The policies are also checked alone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosedMessage } from '../protocol/messages.js';
import type { RunningServer } from '../server/app.js';
import { createKey, keysFilePath } from '../server/api-keys.js';
import { SendGuard } from '../server/backpressure.js';
import { AudioRateLimiter, ownerSessionCap, SessionCaps, WAITING_OWNER_MS } from '../server/limits.js';
import { refusedUpgrade, startTestServer, TestClient } from '../testkit/server.js';
import { concat, silence, synthesize, toS16le } from '../testkit/speech.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lt-limits-'));
const ALLOWED_ORIGIN = 'https://app.example';
const SOFT_BYTES = 8 << 10;
const HARD_BYTES = 32 << 10;
let server: RunningServer;
let alice: Record<string, string>;
let bob: Record<string, string>;
let carol: Record<string, string>;

beforeAll(async () => {
  alice = { authorization: `Bearer ${createKey(keysFilePath(dataDir), 'alice').key}` };
  bob = { authorization: `Bearer ${createKey(keysFilePath(dataDir), 'bob').key}` };
  carol = { authorization: `Bearer ${createKey(keysFilePath(dataDir), 'carol').key}` };
  server = await startTestServer({
    auth: 'on',
    dataDir,
    allowedOrigins: `${ALLOWED_ORIGIN}, https://other.example`,
    maxSessions: 3,
    maxSessionsPerOwner: 2,
    maxAudioRate: 2,
    audioBurstMs: 3000,
    sendSoftLimitBytes: SOFT_BYTES,
    sendHardLimitBytes: HARD_BYTES,
    slowConsumerMs: 1500,
    maxMessageBytes: 64 << 10,
  });
});

afterAll(async () => {
  await server.shutdown();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await server.metrics.registry.getSingleMetric(name)!.get();
  return metric.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
}

async function closeClient(client: TestClient): Promise<void> {
  client.send({ type: 'close' });
  await client.waitClosed();
}

describe('policies', () => {
  it('the audio rate limit allows a burst, then at most the rate', () => {
    const limiter = new AudioRateLimiter(2, 3000, 0);
    expect(limiter.take(3000, 0)).toBe(true); // the whole burst at once
    expect(limiter.take(1, 0)).toBe(false);
    const steady = new AudioRateLimiter(2, 3000, 0);
    // 1.9x real time for a minute: fine; 2.2x drains the burst within 15 s.
    let ok = true;
    for (let t = 100; t <= 60_000; t += 100) ok &&= steady.take(190, t);
    expect(ok).toBe(true);
    const fast = new AudioRateLimiter(2, 3000, 0);
    let firstRefusalMs = -1;
    for (let t = 100; t <= 60_000 && firstRefusalMs < 0; t += 100) if (!fast.take(220, t)) firstRefusalMs = t;
    expect(firstRefusalMs).toBeGreaterThan(10_000);
    expect(firstRefusalMs).toBeLessThan(16_000);
    expect(new AudioRateLimiter(0, 0, 0).take(1e9, 1)).toBe(true);
  });

  it('the default per-owner cap is a quarter of MAX_SESSIONS with auth on, none with auth off; a setting wins', () => {
    expect(ownerSessionCap(20, 0, true)).toBe(5);
    expect(ownerSessionCap(1000, 0, true)).toBe(250);
    expect(ownerSessionCap(2, 0, true)).toBe(1);
    expect(ownerSessionCap(20, 0, false)).toBe(0);
    expect(ownerSessionCap(0, 0, true)).toBe(0);
    expect(ownerSessionCap(20, 7, true)).toBe(7);
  });

  it('admission: while an owner refused for lack of room waits, owners at their fair share are refused', () => {
    const caps = new SessionCaps(4, 4, null);
    for (let i = 0; i < 3; i++) caps.add('a', 0);
    caps.add('b', 0);
    expect(caps.refusal('c', 0)).toMatch(/limit of 4/);
    caps.remove('a');
    // 4 sessions, 3 contenders: a share of 1. `a` holds 2, `b` 1: only `c` gets the free one.
    expect(caps.refusal('a', 10)).toMatch(/other owners are waiting: owner "a" already has its fair share of 1/);
    expect(caps.refusal('b', 10)).toMatch(/fair share of 1/);
    expect(caps.refusal('c', 10)).toBeNull();
    caps.add('c', 10);
    caps.remove('b');
    expect(caps.refusal('a', 20)).toBeNull();
    // A waiting owner that never comes back stops holding the others back.
    caps.add('a', 20);
    expect(caps.refusal('d', 30)).toMatch(/limit of 4/);
    caps.remove('a');
    expect(caps.refusal('a', 40)).toMatch(/fair share/);
    expect(caps.refusal('a', 40 + WAITING_OWNER_MS + 1)).toBeNull();
  });

  it("an owner's audio budget is shared by its sessions and not refilled by a new one", () => {
    const caps = new SessionCaps(0, 2, 3000);
    const first = caps.add('a', 0);
    expect(first.take(3000, 0)).toBe(true);
    caps.remove('a');
    const second = caps.add('a', 100);
    expect(second).toBe(first);
    expect(second.take(1000, 100)).toBe(false); // 200 ms earned back (real time for each of 2 sessions), not a fresh 3 s
    caps.remove('a');
    // Once refilled, an owner with no session is forgotten: a new record is the same as the old.
    expect(caps.add('b', 10_000)).not.toBe(first);
    expect(caps.add('a', 10_000)).not.toBe(first);
  });

  it('the send guard skips partials above the soft limit, never finals, and cuts a client stuck above the hard limit', () => {
    const guard = new SendGuard({ softLimitBytes: 100, hardLimitBytes: 1000, slowConsumerMs: 5000 });
    expect(guard.decide('partial', 50, 0)).toBe('send');
    expect(guard.decide('partial', 500, 0)).toBe('skip');
    expect(guard.decide('final', 500, 0)).toBe('send');
    expect(guard.decide('final', 5000, 1000)).toBe('send');
    expect(guard.decide('final', 5000, 6000)).toBe('send');
    expect(guard.decide('final', 5000, 6001)).toBe('cut');
    // Dropping below the hard limit resets the clock.
    const recovering = new SendGuard({ softLimitBytes: 100, hardLimitBytes: 1000, slowConsumerMs: 5000 });
    expect(recovering.decide('final', 5000, 0)).toBe('send');
    expect(recovering.decide('final', 900, 4000)).toBe('send');
    expect(recovering.decide('final', 5000, 8000)).toBe('send');
    expect(recovering.decide('final', 5000, 12_000)).toBe('send');
  });
});

describe('session caps', () => {
  it('refuse sessions over the per-owner and total limits with 503 overloaded, and admit again once one ends', async () => {
    const a1 = await TestClient.connect(server.port, '', alice);
    const a2 = await TestClient.connect(server.port, '', alice);
    let refused = await refusedUpgrade(server.port, '', alice);
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('overloaded');
    expect(refused.body.message).toMatch(/owner "alice" already has 2 live sessions/);

    const b1 = await TestClient.connect(server.port, '', bob);
    refused = await refusedUpgrade(server.port, '', bob);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'overloaded' });
    expect(refused.body.message).toMatch(/limit of 3 live sessions/);
    expect(await counter('lt_upgrades_refused_total', { reason: 'overloaded' })).toBe(2);

    // Bob waits for room: alice, at her fair share (3 sessions, 2 owners: 1), does not get the free one; bob does.
    await closeClient(a1);
    refused = await refusedUpgrade(server.port, '', alice);
    expect(refused.status).toBe(503);
    expect(refused.body.message).toMatch(/other owners are waiting: owner "alice" already has its fair share of 1 live sessions/);
    const b2 = await TestClient.connect(server.port, '', bob);
    for (const c of [a2, b1, b2]) await closeClient(c);
    expect(await counter('lt_live_sessions')).toBe(0);
  });

  it('a dropped session awaiting resume still counts against the caps; resuming it needs no free place', async () => {
    const a1 = await TestClient.connect(server.port, '', alice);
    a1.send({ type: 'config', config: {} });
    await a1.waitFor((m) => m.some((x) => x.type === 'ready'));
    const token = (a1.messages[0] as { resume_token: string }).resume_token;
    a1.ws.terminate();
    await a1.waitClosed();
    const a2 = await TestClient.connect(server.port, '', alice);
    const refused = await refusedUpgrade(server.port, '', alice);
    expect(refused.status).toBe(503);
    expect(refused.body.message).toMatch(/owner "alice" already has 2 live sessions/);
    expect(await counter('lt_dropped_sessions')).toBe(1);

    const resumed = await TestClient.connect(server.port, `resume_token=${token}&resume_from=0`, alice);
    await resumed.waitFor((m) => m.some((x) => x.type === 'ready'));
    expect(await counter('lt_dropped_sessions')).toBe(0);
    for (const c of [resumed, a2]) await closeClient(c);
    // Let go for good: the places are free again.
    await closeClient(await TestClient.connect(server.port, '', alice));
  });
});

describe('origin allow-list', () => {
  it('refuses browsers from other origins with 403, admits listed origins and clients that send none', async () => {
    const refused = await refusedUpgrade(server.port, '', { ...alice, origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('unauthorized');
    expect(refused.body.message).toMatch(/origin "https:\/\/evil.example" may not open sessions/);
    // The origin is checked first: a credential-less page from elsewhere learns nothing more.
    expect((await refusedUpgrade(server.port, '', { origin: 'https://evil.example' })).status).toBe(403);
    for (const headers of [{ ...alice, origin: ALLOWED_ORIGIN }, { ...alice, origin: 'https://OTHER.example' }, alice]) {
      await closeClient(await TestClient.connect(server.port, '', headers));
    }
  });
});

describe('audio rate', () => {
  it('a flood faster than 2x real time gets rate_limited and the session closes', async () => {
    const client = await TestClient.connect(server.port, '', alice);
    const sentMs = 12_000;
    await client.streamPcm(silence(sentMs), 20, false);
    await client.waitClosed();
    const error = client.messages.find((m) => m.type === 'error');
    expect(error).toMatchObject({ type: 'error', code: 'rate_limited', fatal: true });
    const closed = client.messages.at(-1) as ClosedMessage;
    expect(closed).toMatchObject({ type: 'closed', reason: 'rate_limited' });
    expect(closed.audio_ms_received).toBeGreaterThanOrEqual(3000 - 20);
    expect(closed.audio_ms_received).toBeLessThan(sentMs);
  });
});

describe("an owner's audio budget", () => {
  it('is not refilled by a new session', async () => {
    // Dave's budget: a 3 s burst for all his sessions, then real time for each of the 2 he may hold.
    const dave = { authorization: `Bearer ${createKey(keysFilePath(dataDir), 'dave').key}` };
    const first = await TestClient.connect(server.port, '', dave);
    await first.streamPcm(silence(2800), 20, false);
    await closeClient(first);
    expect(first.messages.at(-1)).toMatchObject({ type: 'closed', reason: 'client_close', audio_ms_received: 2800 });
    const second = await TestClient.connect(server.port, '', dave);
    await second.streamPcm(silence(2800), 20, false);
    await second.waitClosed();
    expect(second.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'rate_limited', fatal: true, message: expect.stringMatching(/this owner's sessions together/) });
    expect((second.messages.at(-1) as ClosedMessage).audio_ms_received).toBeLessThan(2800);
  });

  it('is not refilled by resuming a dropped session', async () => {
    const frank = { authorization: `Bearer ${createKey(keysFilePath(dataDir), 'frank').key}` };
    const first = await TestClient.connect(server.port, '', frank);
    await first.streamPcm(silence(2800), 20, false);
    await first.waitFor((m) => m.some((x) => x.type === 'ready'));
    const token = (first.messages[0] as { resume_token: string }).resume_token;
    first.ws.terminate();
    await first.waitClosed();
    const resumed = await TestClient.connect(server.port, `resume_token=${token}&resume_from=0`, frank);
    await resumed.streamPcm(silence(2800), 20, false);
    await resumed.waitClosed();
    expect(resumed.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'rate_limited', fatal: true });
    expect((resumed.messages.at(-1) as ClosedMessage).audio_ms_received).toBeLessThan(2 * 2800);
  });

  it('charges an 8-channel session 8x its audio time (and counts 8x in the metrics)', async () => {
    // Carol's fresh budget holds 3 s of audio-channel time: 8 channels spend it in 375 ms of stream time.
    const channels = 8;
    const mono = toS16le(silence(1000));
    const interleaved = new Uint8Array(mono.length * channels);
    for (let i = 0; i < mono.length / 2; i++) for (let ch = 0; ch < channels; ch++) interleaved.set(mono.subarray(2 * i, 2 * i + 2), 2 * (i * channels + ch));
    const audioBefore = await counter('lt_audio_seconds_received_total');
    const client = await TestClient.connect(server.port, `channels=${channels}&multichannel=true`, carol);
    await client.streamBytes(interleaved, [20 * 16 * 2 * channels]);
    await client.waitClosed();
    expect(client.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'rate_limited', fatal: true, message: expect.stringMatching(/this owner's sessions together/) });
    const closed = client.messages.at(-1) as ClosedMessage;
    // 375 ms, give or take a frame and what the budget earns back while the frames arrive; charged 1x it would be all 1000.
    expect(closed.audio_ms_received).toBeGreaterThanOrEqual(3000 / channels - 20);
    expect(closed.audio_ms_received).toBeLessThan(3000 / channels + 100);
    const audioSeconds = (await counter('lt_audio_seconds_received_total')) - audioBefore;
    expect(audioSeconds).toBeCloseTo((channels * closed.audio_ms_received) / 1000, 6);
    // The same second of audio in one channel fits the budget of a fresh owner.
    const eve = { authorization: `Bearer ${createKey(keysFilePath(dataDir), 'eve').key}` };
    const single = await TestClient.connect(server.port, '', eve);
    await single.streamBytes(mono, [20 * 16 * 2]);
    await closeClient(single);
    expect(single.messages.at(-1)).toMatchObject({ type: 'closed', reason: 'client_close', audio_ms_received: 1000 });
  });
});

describe('slow consumers', () => {
  it('a client that never reads is cut off as slow_consumer; a healthy session alongside still gets its final', async () => {
    // Synthesized up front: espeak blocks this thread, which the in-process server shares.
    const speech = concat(silence(300), synthesize('please call stella at four fifteen tomorrow'), silence(1000));
    const cutBefore = await counter('lt_slow_consumers_closed_total');
    const healthy = await TestClient.connect(server.port, '', bob);
    const slow = await TestClient.connect(server.port, '', alice);
    slow.send({ type: 'config', config: {} });
    await slow.waitFor((m) => m.some((x) => x.type === 'ready'));
    slow.ws.pause(); // reads nothing from here on
    const talk = (async () => {
      await healthy.streamPcm(speech);
      healthy.send({ type: 'close' });
    })();
    // The slow client asks for a stream of small answers (keepalives), so what it
    // does not read piles up fast: first in the kernel's socket buffers, then in uWS.
    const deadline = performance.now() + 60_000;
    let keepalivesSent = 0;
    while ((await counter('lt_slow_consumers_closed_total')) === cutBefore && performance.now() < deadline) {
      for (let i = 0; i < 2000; i++) slow.send({ type: 'keepalive' });
      keepalivesSent += 2000;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await counter('lt_slow_consumers_closed_total')).toBe(cutBefore + 1);
    console.log(`slow consumer cut after ${keepalivesSent} keepalives`);

    await talk;
    await healthy.waitClosed();
    expect(healthy.messages.filter((m) => m.type === 'error')).toEqual([]);
    expect(healthy.finals().length).toBeGreaterThan(0);
    expect(healthy.messages.at(-1)).toMatchObject({ type: 'closed', reason: 'client_close' });

    slow.ws.resume();
    await slow.waitClosed();
    // Cut, not closed: no `closed` message. The close frame (1008 slow_consumer) comes
    // after everything buffered, unless uWS gave up on the client first (1006).
    expect(slow.messages.some((m) => m.type === 'closed')).toBe(false);
    expect([1006, 1008]).toContain(slow.closedCode);
    if (slow.closedCode === 1008) expect(slow.closedReason).toBe('slow_consumer');
    expect(await counter('lt_live_sessions')).toBe(0);
  });
});

describe('message size', () => {
  it('a frame over max_message_bytes drops the connection (1006) and counts as message_too_large', async () => {
    const before = await counter('lt_errors_total', { code: 'message_too_large' });
    const client = await TestClient.connect(server.port, '', alice);
    client.ws.send(new Uint8Array((64 << 10) + 1));
    await client.waitClosed();
    expect(client.closedCode).toBe(1006);
    expect(await counter('lt_errors_total', { code: 'message_too_large' })).toBe(before + 1);
  });
});
