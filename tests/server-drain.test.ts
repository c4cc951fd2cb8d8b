/**
 * Graceful drain of the real server process on SIGTERM: a session cut off in
 * the middle of a sentence, and one that has just sent a long burst of
 * audio, each get the finals for everything the server received and then
 * `closed` with reason `server_shutdown` before their socket closes (1001);
 * a new connection is refused while the drain is still going on; the process
 * exits 0 within its grace period.
 */
import { expect, it } from 'vitest';
import { startServerProcess } from '../testkit/server-process.js';
import type { TranscriptMessage } from '../protocol/messages.js';
import { sharedPath } from '../testkit/paths.js';
import { TestClient } from '../testkit/server.js';
import { SENTENCES, sessionProblems, speechPlan } from '../testkit/speech-plan.js';

const GRACE_MS = 15_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('on SIGTERM delivers every final and closed(server_shutdown), refuses new connections while draining, exits 0 in time', async () => {
  const live = speechPlan(SENTENCES.slice(0, 2), 'en-us');
  const burst = speechPlan(SENTENCES.slice(2, 5), 'en-gb', 300, 900);
  const server = await startServerProcess(['--vad-model', sharedPath('models/silero-vad-v5/silero_vad.onnx'), '--shutdown-grace-ms', String(GRACE_MS)]);
  const exited = new Promise<{ code: number | null; atMs: number }>((resolve) => server.child.once('exit', (code) => resolve({ code, atMs: performance.now() })));
  try {
    const bursty = await TestClient.connect(server.port);
    // The live session: real time, cut off 60% into its second sentence.
    const speaker = await TestClient.connect(server.port);
    speaker.send({ type: 'config', config: { interim_results: true } });
    await speaker.waitFor((m) => m.some((x) => x.type === 'ready'));
    const second = live.sentences[1];
    const cutMs = second.startMs + (second.endMs - second.startMs) * 0.6;
    const streaming = speaker.streamPcm(live.audio);
    await sleep(cutMs);
    const finalsBeforeSignal = speaker.finals().length;
    // Just before the signal, the burst: several sentences at once, so the drain has work to do.
    // The keepalive's answer comes after the server took every audio frame before it.
    await bursty.streamPcm(burst.audio, 100, false);
    bursty.send({ type: 'keepalive' });
    await bursty.waitFor((m) => m.some((x) => x.type === 'keepalive'));

    const signalAtMs = performance.now();
    server.child.kill('SIGTERM');
    // Try to connect until refused: the first try may still beat the signal handler.
    let refusal: { error: string; processAlive: boolean; speakerOpen: boolean } | null = null;
    const early: TestClient[] = [];
    for (let i = 0; i < 200 && !refusal; i++) {
      try {
        early.push(await TestClient.connect(server.port));
        await sleep(5);
      } catch (err) {
        refusal = { error: String(err), processAlive: server.child.exitCode === null, speakerOpen: speaker.closedCode === null };
      }
    }
    await speaker.waitClosed(GRACE_MS);
    await bursty.waitClosed(GRACE_MS);
    const { code, atMs } = await exited;
    await streaming;
    console.log(`drain: exit ${code} after ${Math.round(atMs - signalAtMs)} ms; refused with "${refusal?.error}"; ${early.length} connection(s) accepted before the listener closed`);

    expect(refusal).toMatchObject({ processAlive: true, speakerOpen: true });
    // Refused at the TCP level (listener closed, or reset from its backlog) or by the upgrade (503 while draining).
    expect(refusal!.error).toMatch(/ECONNREFUSED|ECONNRESET|503/);
    expect(code).toBe(0);
    expect(atMs - signalAtMs).toBeLessThan(GRACE_MS);

    // The live session: its first sentence was final before the signal, the cut one became final in the drain.
    expect(finalsBeforeSignal).toBe(1);
    const finals = speaker.finals();
    expect(finals.map((f: TranscriptMessage) => f.text.trim() !== '')).toEqual([true, true]);
    expect(finals[1].start_ms).toBeLessThan(second.endMs);
    expect(finals[1].end_ms).toBeGreaterThan(second.startMs);
    const closed = speaker.messages.at(-1);
    expect(closed).toMatchObject({ type: 'closed', reason: 'server_shutdown', finals_sent: 2 });
    expect(speaker.closedCode).toBe(1001);

    // The burst: every sentence it sent got its final before `closed`.
    expect(sessionProblems(burst, bursty.messages.filter((m) => m.type !== 'keepalive'), 'server_shutdown')).toEqual([]);
    expect(bursty.closedCode).toBe(1001);
    // Sessions that slipped in before the listener closed were closed the same way.
    for (const c of early) {
      await c.waitClosed(GRACE_MS);
      expect(c.messages.at(-1)).toMatchObject({ type: 'closed', reason: 'server_shutdown' });
    }
  } finally {
    await server.stop();
  }
});
