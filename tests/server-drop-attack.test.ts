/**
 * The drop-and-reconnect attack on the real server (auth on, MAX_SESSIONS
 * 20, so the default per-owner cap is 5; the other limits at their
 * defaults): one owner opens a session, sends 11 s of audio as fast as it
 * can and drops the socket, 60 times in a row, while another owner streams
 * 11 s of speech in real time. A dropped session is held for resume and
 * keeps decoding, so it must keep counting against the caps and its owner's
 * audio budget: the attacker never holds more than its cap of sessions nor
 * takes more than its budget of audio, and the other owner's session takes
 * no more than 1.5x its time alone, measured first in the same run. (Before
 * the fix all 60 were accepted, 660 s of audio to decode at once.)
 *
 * The victim streams in real time, as a well-behaved client does. One that
 * sends its 11 s at once is bound by the CPU itself, so any co-tenant within
 * its share slows it: on the 2-core test machine 1.65x beside the
 * attacker's 55 s burst, 1.3-1.9x with AUDIO_BURST_MS 15 s.
 *
 * Bounded: 60 cycles (most refused at the upgrade), two 11 s real-time
 * sessions; about 35 s in all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosedMessage } from '../protocol/messages.js';
import type { RunningServer } from '../server/app.js';
import { createKey, keysFilePath } from '../server/api-keys.js';
import { DEFAULT_CONFIG } from '../server/config.js';
import { startTestServer, TestClient } from '../testkit/server.js';
import { concat, silence } from '../testkit/speech.js';
import { speechPlan, SENTENCES } from '../testkit/speech-plan.js';

const MAX_SESSIONS = 20;
/** DEFAULT_OWNER_SHARE (a quarter) of MAX_SESSIONS. */
const OWNER_CAP = 5;
const AUDIO_BURST_MS = DEFAULT_CONFIG.audioBurstMs;
const CYCLES = 60;
const ATTACK_AUDIO_MS = 11_000;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lt-drop-attack-'));
let server: RunningServer;
let attacker: Record<string, string>;
let victimAudio: Float32Array;

beforeAll(async () => {
  attacker = { authorization: `Bearer ${createKey(keysFilePath(dataDir), 'mallory').key}` };
  server = await startTestServer({ auth: 'on', dataDir, maxSessions: MAX_SESSIONS });
  // 11 s of speech, synthesised up front: espeak blocks this thread, which the in-process server shares.
  const plan = speechPlan(SENTENCES.slice(0, 3));
  victimAudio = concat(plan.audio, silence(ATTACK_AUDIO_MS)).subarray(0, ATTACK_AUDIO_MS * 16);
  console.log(`victim speech ${(plan.audio.length / 16000).toFixed(1)} s of the ${ATTACK_AUDIO_MS / 1000} s sent`);
});

afterAll(async () => {
  await server.shutdown();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function counter(name: string): Promise<number> {
  const metric = await server.metrics.registry.getSingleMetric(name)!.get();
  return metric.values.reduce((n, v) => n + v.value, 0);
}

/**
 * A session of a new owner: its speech in real time (or at once, `realTime`
 * false), then `close`. `ms`: from connecting to `closed`; `tailMs`: from
 * the last audio sent to `closed`, the wait for the last finals.
 */
async function victimSession(owner: string, realTime = true): Promise<{ ms: number; tailMs: number; closed: ClosedMessage; finals: number }> {
  const victim = { authorization: `Bearer ${createKey(keysFilePath(dataDir), owner).key}` };
  const t0 = performance.now();
  const client = await TestClient.connect(server.port, '', victim);
  await client.streamPcm(victimAudio, 20, realTime);
  const sentMs = performance.now();
  client.send({ type: 'close' });
  await client.waitClosed(120_000);
  const doneMs = performance.now();
  expect(client.messages.filter((m) => m.type === 'error')).toEqual([]);
  return { ms: doneMs - t0, tailMs: doneMs - sentMs, closed: client.messages.at(-1) as ClosedMessage, finals: client.finals().filter((f) => f.text !== '').length };
}

/** One attack cycle: open, send ATTACK_AUDIO_MS of audio at once, drop; or the upgrade's refusal. */
async function attackCycle(): Promise<'accepted' | string> {
  let client: TestClient;
  try {
    client = await TestClient.connect(server.port, '', attacker);
  } catch (err) {
    return String(err);
  }
  await client.streamPcm(victimAudio, 20, false);
  client.ws.terminate();
  return 'accepted';
}

describe('60 drop-and-reconnect cycles', () => {
  it('stay within the caps and the owner budget, and another owner keeps its latency', async () => {
    await victimSession('warm-up', false); // first calls into the models are slower
    const alone = await victimSession('alice');

    const audioBefore = await counter('lt_audio_seconds_received_total');
    const refusedBefore = await counter('lt_upgrades_refused_total');
    const attackStart = performance.now();
    const outcomes: string[] = [];
    // Sessions counted against the caps (connected, or dropped and held), the victim's one included, after every cycle.
    let maxCounted = 0;
    const attack = (async () => {
      for (let i = 0; i < CYCLES; i++) {
        outcomes.push(await attackCycle());
        maxCounted = Math.max(maxCounted, (await counter('lt_live_sessions')) + (await counter('lt_dropped_sessions')));
      }
    })();
    // The victim starts once the attacker holds its cap of sessions and their audio.
    while (outcomes.length < OWNER_CAP) await new Promise((r) => setTimeout(r, 5));
    const attacked = await victimSession('bob');
    await attack;
    const attackMs = performance.now() - attackStart;
    const attackerAudioMs = ((await counter('lt_audio_seconds_received_total')) - audioBefore) * 1000 - attacked.closed.audio_ms_received;

    const accepted = outcomes.filter((o) => o === 'accepted').length;
    console.log(
      `drop attack: ${accepted} of ${CYCLES} attacker sessions accepted in ${(attackMs / 1000).toFixed(1)} s, at most ${maxCounted} sessions counted at once, ` +
        `${(attackerAudioMs / 1000).toFixed(1)} s of attacker audio taken; victim session alone ${(alone.ms / 1000).toFixed(2)} s (last finals ${Math.round(alone.tailMs)} ms after its audio), ` +
        `under attack ${(attacked.ms / 1000).toFixed(2)} s (${Math.round(attacked.tailMs)} ms): ${(attacked.ms / alone.ms).toFixed(2)}x`,
    );
    // The caps: dropped sessions still count, so the attacker never holds more than its share.
    expect(maxCounted).toBeLessThanOrEqual(OWNER_CAP + 1);
    expect((await counter('lt_upgrades_refused_total')) - refusedBefore).toBe(CYCLES - accepted);
    expect(outcomes.filter((o) => o !== 'accepted').every((o) => /503/.test(o))).toBe(true);
    // The owner budget: one burst for all its sessions, then real time for each session it may hold.
    expect(attackerAudioMs).toBeLessThanOrEqual(AUDIO_BURST_MS + OWNER_CAP * attackMs);
    // The victim got everything, about as fast as alone.
    expect(attacked.closed.audio_ms_received).toBe(alone.closed.audio_ms_received);
    expect(attacked.finals).toBe(alone.finals);
    expect(attacked.ms).toBeLessThanOrEqual(1.5 * alone.ms);
  });
});
