/**
 * The real server on 127.0.0.1 with real WebSocket clients: live partials and
 * finals in real time, 8 concurrent sessions batched without cross-talk,
 * finalize / close semantics, health and metrics routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../server/app.js';
import { corpusWer, wordErrorRate } from '../eval/wer.js';
import type { ReadyMessage } from '../protocol/messages.js';
import { startTestServer, TestClient } from '../testkit/server.js';
import { concat, silence, synthesize } from '../testkit/speech.js';
import { SENTENCES } from '../testkit/speech-plan.js';
import { TEST_MODEL_WER, describeWer } from './helpers/demo-model.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.shutdown();
});


describe('one live session', () => {
  it('streams partials while speaking and a matching final after, with word times inside the segment', async () => {
    const text = 'the quick brown fox jumps over the lazy dog near the river bank';
    const speech = synthesize(text);
    const client = await TestClient.connect(server.port, 'encoding=pcm_s16le&sample_rate=16000');
    client.send({ type: 'config', config: { interim_results: true } });
    await client.waitFor((m) => m.some((x) => x.type === 'ready'));
    const speechEndMs = 500 + (speech.length / 16000) * 1000;
    const usedBefore = await finalsAhead(server, 'used');
    await client.streamPcm(concat(silence(500), speech, silence(1200)));
    await client.waitFor((m) => m.some((x) => x.type === 'final' && x.text !== ''));
    // Its speech paused for good: the final was decoded ahead of the endpoint and taken.
    expect((await finalsAhead(server, 'used')) - usedBefore).toBe(1);

    const ready = client.messages.find((m) => m.type === 'ready') as ReadyMessage;
    expect(ready.model).toBe(server.modelName);
    const partials = client.partials();
    const firstFinalIndex = client.messages.findIndex((m) => m.type === 'final');
    expect(partials.length).toBeGreaterThan(0);
    // At least one partial covered audio that ended before the speech did: it arrived while speaking.
    expect(partials.some((p) => p.end_ms < speechEndMs)).toBe(true);
    expect(client.messages.findIndex((m) => m.type === 'partial')).toBeLessThan(firstFinalIndex);
    expect(client.messages.some((m) => m.type === 'speech_started')).toBe(true);

    const [final] = client.finals();
    const wer = wordErrorRate(text, final.text);
    console.log(`${describeWer('live final', wer.wer, TEST_MODEL_WER.sentence)}: "${final.text}"`);
    expect(wer.wer).toBeLessThan(TEST_MODEL_WER.sentence.bound);
    for (const w of final.words) {
      expect(w.start_ms).toBeGreaterThanOrEqual(final.start_ms);
      expect(w.end_ms).toBeLessThanOrEqual(final.end_ms);
    }
    expect(final.start_ms).toBeLessThanOrEqual(600);
    expect(final.end_ms).toBeGreaterThan(speechEndMs - 300);
    client.send({ type: 'close' });
    await client.waitClosed();
    expect(client.messages[client.messages.length - 1].type).toBe('closed');
  });
});

describe('concurrency', () => {
  it('serves 8 concurrent sessions, each with its own correct final, in batched model calls', async () => {
    const sentences = SENTENCES.slice(0, 8);
    const before = await batchSizeStats(server);
    const clients = await Promise.all(sentences.map(() => TestClient.connect(server.port)));
    await Promise.all(
      clients.map(async (c, i) => {
        c.send({ type: 'config', config: { encoding: 'pcm_s16le', sample_rate: 16000 } });
        await c.streamPcm(concat(silence(300 + i * 37), synthesize(sentences[i]), silence(1000)));
        await c.waitFor((m) => m.some((x) => x.type === 'final' && x.text !== ''));
      }),
    );
    const pairs = clients.map((c, i) => ({ reference: sentences[i], hypothesis: c.finalText() }));
    for (const p of pairs) console.log(`  ${p.reference} -> ${p.hypothesis}`);
    // No cross-talk: each final matches its own sentence far better than any other.
    pairs.forEach((p, i) => {
      const own = wordErrorRate(p.reference, p.hypothesis).wer;
      sentences.forEach((other, j) => {
        if (j !== i) expect(wordErrorRate(other, p.hypothesis).wer).toBeGreaterThan(own);
      });
    });
    const all = corpusWer(pairs).wer;
    console.log(describeWer('8 concurrent sessions', all, TEST_MODEL_WER.sentences));
    expect(all).toBeLessThan(TEST_MODEL_WER.sentences.bound);
    const after = await batchSizeStats(server);
    const vadMean = (after.vadSum - before.vadSum) / (after.vadCount - before.vadCount);
    const asrMax = after.asrMaxBucketSeen;
    console.log(`mean VAD batch ${vadMean.toFixed(2)}, ASR batches with >1 segment: ${after.asrMultiCount - before.asrMultiCount}`);
    expect(vadMean).toBeGreaterThan(1);
    expect(after.asrMultiCount - before.asrMultiCount).toBeGreaterThan(0);
    expect(asrMax).toBeGreaterThan(1);
    for (const c of clients) c.ws.close();
  });
});

describe('finalize and close', () => {
  it('finalize returns the final for audio still inside an open segment', async () => {
    const client = await TestClient.connect(server.port);
    const speech = synthesize('please call stella at four fifteen tomorrow');
    await client.streamPcm(concat(silence(300), speech), 20, false);
    client.send({ type: 'finalize' });
    await client.waitFor((m) => m.some((x) => x.type === 'final'));
    expect(wordErrorRate('please call stella at four fifteen tomorrow', client.finalText()).wer).toBeLessThan(TEST_MODEL_WER.sentence.bound);
    client.ws.close();
  });

  it('close mid-speech still delivers the final before closed', async () => {
    const client = await TestClient.connect(server.port);
    const speech = synthesize('the covers of this book are too far apart');
    await client.streamPcm(concat(silence(300), speech.subarray(0, Math.round(speech.length * 0.8))), 20, false);
    client.send({ type: 'close' });
    await client.waitClosed();
    const types = client.messages.map((m) => m.type);
    expect(types).toContain('final');
    expect(types.lastIndexOf('final')).toBeLessThan(types.indexOf('closed'));
    expect(client.finalText().split(' ').length).toBeGreaterThan(2);
    const closed = client.messages.find((m) => m.type === 'closed');
    expect(closed).toMatchObject({ type: 'closed', finals_sent: client.finals().length });
  });

  it('rejects a bad config at the upgrade with a clear error, and bad messages without closing', async () => {
    await expect(TestClient.connect(server.port, 'encoding=mp3')).rejects.toThrow(/400/);
    const client = await TestClient.connect(server.port);
    client.ws.send('{"type": "nonsense"}');
    await client.waitFor((m) => m.some((x) => x.type === 'error'));
    expect(client.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'bad_message', fatal: false });
    client.send({ type: 'keepalive' });
    await client.waitFor((m) => m.some((x) => x.type === 'keepalive'));
    client.send({ type: 'close' });
    await client.waitClosed();
    expect(client.messages.at(-1)).toMatchObject({ type: 'closed', reason: 'client_close' });
  });

  it('closes an idle session with its finals and reason idle_timeout; keepalive holds it open', async () => {
    const idle = await startTestServer({ idleTimeoutMs: 1500 });
    try {
      const quiet = await TestClient.connect(idle.port);
      const talker = await TestClient.connect(idle.port);
      await talker.streamPcm(concat(silence(300), synthesize('never give a sucker an even break')), 20, false);
      const t0 = performance.now();
      const keepalives = setInterval(() => quiet.send({ type: 'keepalive' }), 500);
      await talker.waitClosed();
      clearInterval(keepalives);
      expect(performance.now() - t0).toBeGreaterThan(1000);
      expect(talker.messages.at(-1)).toMatchObject({ type: 'closed', reason: 'idle_timeout', finals_sent: 1 });
      expect(talker.finalText()).toContain('even');
      expect(quiet.closedCode).toBeNull();
      quiet.send({ type: 'close' });
      await quiet.waitClosed();
    } finally {
      await idle.shutdown();
    }
  });
});

describe('http routes', () => {
  it('answers healthz, readyz and metrics', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of ['lt_live_sessions', 'lt_audio_seconds_received_total', 'lt_vad_batch_size', 'lt_asr_batch_size', 'lt_model_call_seconds', 'lt_final_latency_seconds', 'lt_first_partial_latency_seconds', 'lt_partials_dropped_total', 'lt_finals_ahead_total', 'lt_errors_total']) {
      expect(metrics).toContain(name);
    }
  });
});

async function finalsAhead(s: RunningServer, outcome: string): Promise<number> {
  return (await s.metrics.finalsAhead.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

async function batchSizeStats(s: RunningServer) {
  const vad = await s.metrics.vadBatchSize.get();
  const asr = await s.metrics.asrBatchSize.get();
  const val = (m: typeof vad, name: string, le?: number) =>
    m.values.find((v) => v.metricName === name && (le === undefined || v.labels.le === le))?.value ?? 0;
  const asrCount = val(asr, 'lt_asr_batch_size_count');
  const asrOnes = val(asr, 'lt_asr_batch_size_bucket', 1);
  const maxBucket = asr.values
    .filter((v) => v.metricName === 'lt_asr_batch_size_bucket' && v.value > asrOnes)
    .map((v) => Number(v.labels.le))
    .filter((n) => Number.isFinite(n))[0];
  return {
    vadSum: val(vad, 'lt_vad_batch_size_sum'),
    vadCount: val(vad, 'lt_vad_batch_size_count'),
    asrMultiCount: asrCount - asrOnes,
    asrMaxBucketSeen: maxBucket ?? 1,
  };
}
