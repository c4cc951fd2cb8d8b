/**
 * Several models in one server: the offline demo model as `alpha` (the
 * default) and the streaming demo model as `beta`, one engine each (each
 * with its own path: segment re-reads and chunks). GET /v1/models lists both;
 * `model=` (in the URL or a config message, on /v1/listen and the Deepgram
 * route) routes each session to that model's engine, which the per-model
 * decode counter shows; an unknown model or a language the model does not
 * transcribe is refused at the upgrade, naming the choices.
 */
import { STREAMING_MODEL_WER } from './helpers/demo-model.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../server/app.js';
import { DEMO_MODEL_DIR, DEMO_STREAMING_MODEL_DIR } from '../engine/models/resolve.js';
import type { ReadyMessage } from '../protocol/messages.js';
import { wordErrorRate } from '../eval/wer.js';
import { refusedUpgrade, startTestServer, TestClient } from '../testkit/server.js';
import { concat, silence, synthesize, toS16le } from '../testkit/speech.js';

const TEXT = 'the quick brown fox jumps over the lazy dog';
let server: RunningServer;
let speech: Float32Array;

beforeAll(async () => {
  server = await startTestServer({ model: `alpha=${DEMO_MODEL_DIR},beta=${DEMO_STREAMING_MODEL_DIR}`, asrWorkers: 1 });
  speech = concat(silence(300), synthesize(TEXT), silence(1000));
});
afterAll(async () => {
  await server.shutdown();
});

async function segmentsDecoded(model: string): Promise<number> {
  const metric = await server.metrics.registry.getSingleMetric('lt_model_segments_decoded_total')!.get();
  return metric.values.find((v) => v.labels.model === model)?.value ?? 0;
}

/** A native session: its ready's model and final text, and how many segments each model decoded meanwhile. */
async function session(query: string, config?: object): Promise<{ model: string; demo: boolean; text: string; decoded: Record<string, number> }> {
  const before = { alpha: await segmentsDecoded('alpha'), beta: await segmentsDecoded('beta') };
  const client = await TestClient.connect(server.port, `encoding=pcm_s16le&sample_rate=16000${query}`);
  if (config) client.send({ type: 'config', config });
  await client.streamPcm(speech, 20, false);
  client.send({ type: 'close' });
  await client.waitClosed();
  const ready = client.messages.find((m) => m.type === 'ready') as ReadyMessage;
  return {
    model: ready.model,
    demo: ready.demo === true,
    text: client.finalText(),
    decoded: { alpha: (await segmentsDecoded('alpha')) - before.alpha, beta: (await segmentsDecoded('beta')) - before.beta },
  };
}

describe('two models in one server', () => {
  it('lists both models', async () => {
    const list = await (await fetch(`http://127.0.0.1:${server.port}/v1/models`)).json();
    expect(list).toEqual({
      object: 'list',
      data: [
        { id: 'alpha', object: 'model', created: 0, owned_by: 'live-transcribe', languages: ['en'], streaming: true, chunk_ms: null, sample_rate: 16000, default: true, demo: true, diarization: false },
        { id: 'beta', object: 'model', created: 0, owned_by: 'live-transcribe', languages: ['en'], streaming: true, chunk_ms: 160, sample_rate: 16000, default: false, demo: true, diarization: false },
      ],
    });
    expect(server.modelName).toBe('alpha');
  });

  it('routes each session to the model it names, the default without one', async () => {
    const beta = await session('&model=beta');
    expect(beta.model).toBe('beta');
    // Both are the shipped demo models (synthetic voices only), under other names.
    expect(beta.demo).toBe(true);
    expect(beta.decoded.beta).toBeGreaterThan(0);
    expect(beta.decoded.alpha).toBe(0);
    expect(wordErrorRate(TEXT, beta.text).wer).toBeLessThan(STREAMING_MODEL_WER.sentence.bound);

    const alpha = await session('&model=alpha&language=en-US');
    expect(alpha.model).toBe('alpha');
    expect(alpha.demo).toBe(true);
    expect(alpha.decoded.alpha).toBeGreaterThan(0);
    expect(alpha.decoded.beta).toBe(0);

    const byDefault = await session('');
    expect(byDefault.model).toBe('alpha');
    expect(byDefault.decoded.beta).toBe(0);

    // A config message may name the model too.
    const configured = await session('', { model: 'beta' });
    expect(configured.model).toBe('beta');
    expect(configured.decoded.alpha).toBe(0);
  });

  it('routes a Deepgram session by its model parameter', async () => {
    const before = await segmentsDecoded('beta');
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/deepgram/v1/listen?model=beta&encoding=linear16&sample_rate=16000`);
    const messages: { type: string; metadata?: { model_info: { name: string } } }[] = [];
    ws.on('message', (m) => messages.push(JSON.parse(m.toString())));
    await new Promise((r) => ws.once('open', r));
    ws.send(toS16le(speech));
    ws.send(JSON.stringify({ type: 'CloseStream' }));
    await new Promise((r) => ws.once('close', r));
    const result = messages.find((m) => m.type === 'Results')!;
    expect(result.metadata!.model_info.name).toBe('beta');
    expect((await segmentsDecoded('beta')) - before).toBeGreaterThan(0);
  });

  it('refuses an unknown model and a language the model lacks at the upgrade, naming the choices', async () => {
    const unknown = await refusedUpgrade(server.port, 'model=gamma');
    expect(unknown).toEqual({ status: 400, body: { code: 'bad_config', message: 'unknown model "gamma"; this server serves: alpha, beta' } });
    const language = await refusedUpgrade(server.port, 'model=beta&language=de');
    expect(language.status).toBe(400);
    expect(language.body.message).toBe('model "beta" does not transcribe language "de"; its languages: en');
    // A config message naming an unknown model ends the session with bad_config.
    const client = await TestClient.connect(server.port);
    client.send({ type: 'config', config: { model: 'gamma' } });
    await client.waitClosed();
    expect(client.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'bad_config', fatal: true, message: 'unknown model "gamma"; this server serves: alpha, beta' });
  });
});
