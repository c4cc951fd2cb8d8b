/**
 * Decoding runs beside the event loop (engine/asr/recognizer.ts): while one
 * session's finals take a long beam search, another session's keepalives
 * are still answered at once. The server here searches with a beam far
 * wider than the default and no pruning, so a final costs seconds of search;
 * on the event loop, every keepalive would wait for all of it. The server is
 * a process of its own, so the test's clock is not stopped by its work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../testkit/paths.js';
import { startServerProcess, type ServerProcess } from '../testkit/server-process.js';
import { TestClient } from '../testkit/server.js';
import { concat, silence, synthesize } from '../testkit/speech.js';

const KEEPALIVE_EVERY_MS = 20;

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess(['--vad-model', sharedPath('models/silero-vad-v5/silero_vad.onnx'), '--beam-size', '384', '--token-floor-nats', '1000', '--score-window-nats', '1000']);
});
afterAll(async () => {
  await server.stop();
});

describe('decoding off the event loop', () => {
  it("answers one session's keepalives promptly while another session's finals are searched", async () => {
    const speech = concat(synthesize('the meeting moved to the second floor of the old building near the river'), silence(800));
    const talker = await TestClient.connect(server.port);
    const pinger = await TestClient.connect(server.port);
    pinger.send({ type: 'keepalive' });
    await pinger.waitFor((m) => m.some((x) => x.type === 'keepalive'));

    // The whole sentence at once: its final is decoded while the pinger pings.
    await talker.streamPcm(speech, 20, false);
    talker.send({ type: 'finalize' });
    const sentAt = performance.now();
    const roundTripsMs: number[] = [];
    let finalMs = -1;
    while (finalMs < 0 && performance.now() - sentAt < 60_000) {
      const before = pinger.messages.length;
      const t0 = performance.now();
      pinger.send({ type: 'keepalive' });
      await pinger.waitFor((m) => m.length > before);
      roundTripsMs.push(performance.now() - t0);
      if (talker.finals().some((f) => f.text !== '')) finalMs = performance.now() - sentAt;
      await new Promise((r) => setTimeout(r, KEEPALIVE_EVERY_MS));
    }
    roundTripsMs.sort((a, b) => a - b);
    const worst = roundTripsMs.at(-1)!;
    console.log(`final after ${finalMs.toFixed(0)} ms of wide beam search; ${roundTripsMs.length} keepalive round trips meanwhile, median ${roundTripsMs[roundTripsMs.length >> 1].toFixed(1)} ms, worst ${worst.toFixed(1)} ms`);
    expect(finalMs).toBeGreaterThan(1000);
    expect(roundTripsMs.length).toBeGreaterThan(5);
    expect(worst).toBeLessThan(250);
    talker.ws.close();
    pinger.ws.close();
  });
});
