/**
 * Server limits on the real server (auth=on, two owners): live-session caps
 * in total and per owner (503 `overloaded` at the upgrade), the browser
 * origin allow-list (403), audio faster than 2x real time (`rate_limited`,
 * the session closes), a client that stops reading (cut off as
 * `slow_consumer` while a healthy session beside it still gets its final),
 * and a frame over the size limit. The two policies are also checked alone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosedMessage } from '../protocol/messages.js';
import type { RunningServer } from '../server/app.js';
import { createKey, keysFilePath } from '../server/api-keys.js';
import { SendGuard } from '../server/backpressure.js';
import { AudioRateLimiter } from '../server/limits.js';
import { refusedUpgrade, startTestServer, TestClient } from '../testkit/server.js';
import { concat, silence, synthesize } from '../testkit/speech.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lt-limits-'));
const ALLOWED_ORIGIN = 'https://app.example';
const SOFT_BYTES = 8 << 10;
const HARD_BYTES = 32 << 10;
let server: RunningServer;
let alice: Record<string, string>;
let bob: Record<string, string>;

beforeAll(async () => {
  alice = { authorization: `Bearer ${createKey(keysFilePath(dataDir), 'alice').key}` };
  bob = { authorization: `Bearer ${createKey(keysFilePath(dataDir), 'bob').key}` };
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

    await closeClient(a1);
    const a3 = await TestClient.connect(server.port, '', alice);
    for (const c of [a2, b1, a3]) await closeClient(c);
    expect(await counter('lt_live_sessions')).toBe(0);
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
