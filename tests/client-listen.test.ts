/**
 * ListenClient (client/listen-client.ts) against the real server on
 * 127.0.0.1, over the `ws` package: typed events, finalize, close with the
 * summary, and session resumption (server/resume.ts) after a socket dropped
 * mid-stream, with every final delivered exactly once; refused resumes.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListenClient, ListenClientError, type ListenClientOptions, type ListenEvents } from '../client/listen-client.js';
import { TranscriptDocument } from '../client/transcript-document.js';
import type { ReadyMessage } from '../protocol/messages.js';
import type { RunningServer } from '../server/app.js';
import { refusedUpgrade, startTestServer, TestClient } from '../testkit/server.js';
import { concat, silence, synthesize, toS16le } from '../testkit/speech.js';

const GRACE_MS = 3000;
let server: RunningServer;
let url: string;

beforeAll(async () => {
  server = await startTestServer({ resumeGraceMs: GRACE_MS });
  url = `ws://127.0.0.1:${server.port}/v1/listen`;
});
afterAll(async () => {
  await server.shutdown();
});

/** The `ws` WebSocket, remembering every socket it opens so a test can kill one. */
function trackedWebSocket(): { WebSocket: ListenClientOptions['WebSocket']; sockets: WebSocket[] } {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(address: string) {
      super(address);
      sockets.push(this);
    }
  }
  return { WebSocket: Tracked, sockets };
}

type Recorded = { [K in keyof ListenEvents]: { event: K; payload: ListenEvents[K] } }[keyof ListenEvents];

/** Records every event the client emits, in order. */
function record(client: ListenClient): Recorded[] {
  const events: Recorded[] = [];
  const names: (keyof ListenEvents)[] = ['ready', 'speech_started', 'partial', 'final', 'utterance_end', 'speaker_update', 'error', 'closed', 'reconnecting', 'resumed'];
  for (const event of names) client.on(event, (payload) => events.push({ event, payload } as Recorded));
  return events;
}

function payloads<K extends keyof ListenEvents>(events: Recorded[], event: K): ListenEvents[K][] {
  return events.filter((e) => e.event === event).map((e) => e.payload as ListenEvents[K]);
}

async function until(pred: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends 16 kHz audio as s16le in `frameMs` frames, `speed` times real time (Infinity: yield only now and then), calling `onFrame` after each. */
async function stream(client: ListenClient, samples: Float32Array, speed = 1, onFrame = () => {}, frameMs = 40): Promise<void> {
  const bytes = toS16le(samples);
  const frameBytes = frameMs * 32;
  const t0 = performance.now();
  for (let pos = 0, i = 0; pos < bytes.length; pos += frameBytes, i++) {
    client.sendAudio(bytes.subarray(pos, pos + frameBytes));
    onFrame();
    const wait = t0 + ((i + 1) * frameMs) / speed - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (i % 25 === 0) await new Promise((r) => setImmediate(r));
  }
}

function durationMs(samples: Float32Array): number {
  return (samples.length / 16_000) * 1000;
}

const SENTENCES = [
  'please call stella at four fifteen tomorrow',
  'the train leaves at seven thirty from platform nine',
  'we counted forty two people at the station',
  'send the report to martha before june third',
];

describe('ListenClient', () => {
  it('streams audio and gets typed events in protocol order; finalize flushes; close resolves with the summary', async () => {
    const speech = synthesize(SENTENCES[0]);
    const audio = concat(silence(300), speech, silence(300));
    const client = new ListenClient({ url, WebSocket, config: { encoding: 'pcm_s16le', sample_rate: 16_000, interim_results: true, endpointing_ms: 2000 } });
    const events = record(client);
    const doc = new TranscriptDocument();
    for (const e of ['partial', 'final', 'speaker_update'] as const) client.on(e, (m) => doc.apply(m));

    await stream(client, audio, Infinity);
    // endpointing_ms=2000 and only 300 ms of trailing silence: the final can only come from the finalize.
    await until(() => events.some((e) => e.event === 'speech_started'), 'speech_started');
    expect(payloads(events, 'final')).toHaveLength(0);
    client.finalize();
    await until(() => payloads(events, 'final').length > 0, 'the final after finalize');
    const summary = await client.close();

    const [ready] = payloads(events, 'ready');
    expect(ready.session_id).toBe(client.sessionId);
    expect(ready.config).toMatchObject({ endpointing_ms: 2000, interim_results: true, resume_token: '' });
    // REPLICA.RANDOM.MAC (server/replica.ts)
    expect(ready.resume_token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{22}$/);
    expect(events[0].event).toBe('ready');

    const finals = payloads(events, 'final');
    // Structure only: the demo model is still in training, so its words are not checked here.
    for (const f of finals) expect(f.text).toBe(f.words.map((w) => w.word).join(' '));
    const order = events.map((e) => e.event);
    expect(order.indexOf('speech_started')).toBeLessThan(order.indexOf('final'));
    expect(order.lastIndexOf('utterance_end')).toBeGreaterThan(order.indexOf('final'));
    expect(order.at(-1)).toBe('closed');
    expect(payloads(events, 'error')).toEqual([]);
    expect(payloads(events, 'reconnecting')).toEqual([]);

    expect(summary).toEqual(payloads(events, 'closed')[0]);
    expect(summary.reason).toBe('client_close');
    expect(summary.finals_sent).toBe(finals.length);
    expect(Math.abs(summary.audio_ms_received - durationMs(audio))).toBeLessThan(50);
    expect(doc.segments().every((s) => s.final)).toBe(true);
    expect(doc.text()).toBe(finals.map((f) => f.text).filter((t) => t !== '').join(' '));
  });

  it('holds audio sent before ready (JSON and protobuf), and refuses a bad config with the server\'s message', async () => {
    for (const format of ['json', 'protobuf'] as const) {
      const client = new ListenClient({ url, WebSocket, format, config: { sample_rate: 16_000 } });
      const events = record(client);
      client.sendAudio(toS16le(silence(500)).buffer);
      const summary = await client.close();
      expect(summary, format).toMatchObject({ reason: 'client_close', audio_ms_received: 500, finals_sent: 0 });
      expect(events.map((e) => e.event), format).toEqual(['ready', 'closed']);
    }

    // Beyond its bound, waiting audio is dropped, with one non-fatal error.
    const bounded = new ListenClient({ url, WebSocket, maxBufferedAudioBytes: 16_000 });
    const boundedEvents = record(bounded);
    for (let i = 0; i < 4; i++) bounded.sendAudio(toS16le(silence(250)));
    expect(await bounded.close()).toMatchObject({ reason: 'client_close', audio_ms_received: 500 });
    expect(payloads(boundedEvents, 'error')).toEqual([expect.objectContaining({ code: 'audio_dropped', fatal: false })]);

    expect(() => new ListenClient({ url, WebSocket, config: { endpointing_ms: 5 } })).toThrow(/endpointing_ms must be an integer from 10/);
    // A setting the codec accepts but this server (no diarization model) refuses.
    const refused = new ListenClient({ url, WebSocket, config: { diarize: true } });
    const events = record(refused);
    const err = await refused.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListenClientError);
    expect(err).toMatchObject({ code: 'bad_config', message: expect.stringMatching(/no diarization model/) });
    expect(payloads(events, 'error')).toEqual([expect.objectContaining({ code: 'bad_config', fatal: true })]);
    expect(payloads(events, 'ready')).toEqual([]);
  });

  it('resumes the session after the socket drops mid-stream: every final arrives exactly once, audio sent meanwhile is not lost', async () => {
    const parts = SENTENCES.flatMap((s) => [synthesize(s), silence(1200)]);
    const audio = concat(silence(300), ...parts);
    const { WebSocket: Tracked, sockets } = trackedWebSocket();
    const client = new ListenClient({ url, WebSocket: Tracked, config: { interim_results: true, endpointing_ms: 600 }, reconnect: { baseDelayMs: 100 } });
    const events = record(client);

    // Once a final came and the next segment is open: flush it, and kill the TCP connection
    // (no close frame) before its final can come back, so that final is made while the
    // session is detached (or written into the dead socket). Audio keeps coming meanwhile.
    let openAtDrop = -1;
    await stream(client, audio, 2, () => {
      const started = payloads(events, 'speech_started');
      if (openAtDrop >= 0 || payloads(events, 'final').length === 0 || started.length <= payloads(events, 'final').length) return;
      openAtDrop = started.at(-1)!.segment_id;
      client.finalize();
      // As soon as the finalize has left for the kernel: far sooner than any decode (a streaming model's final of a
      // short segment can come back within 20 ms).
      const dropWhenSent = () => (sockets[0].bufferedAmount === 0 ? sockets[0].terminate() : setImmediate(dropWhenSent));
      setImmediate(dropWhenSent);
    });
    const summary = await client.close();
    expect(openAtDrop).toBeGreaterThanOrEqual(0);

    const [ready] = payloads(events, 'ready');
    const resumed = payloads(events, 'resumed');
    expect(payloads(events, 'reconnecting').length).toBeGreaterThan(0);
    expect(resumed).toHaveLength(1);
    expect(resumed[0].session_id).toBe(ready.session_id);
    expect(resumed[0].resume_token).not.toBe(ready.resume_token);
    expect(sockets).toHaveLength(2);
    expect(payloads(events, 'error')).toEqual([]);

    const finals = payloads(events, 'final');
    const ids = finals.map((f) => f.segment_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // The server counted every final it made; the client got each of them once.
    expect(summary.reason).toBe('client_close');
    expect(summary.finals_sent).toBe(finals.length);
    expect(finals.length).toBeGreaterThanOrEqual(SENTENCES.length);
    // Audio sent while disconnected was held and sent after the resume; only frames in flight at the drop may be lost.
    expect(summary.audio_ms_received).toBeGreaterThan(durationMs(audio) - 300);
    expect(summary.audio_ms_received).toBeLessThanOrEqual(Math.ceil(durationMs(audio)));
    const speechStarted = payloads(events, 'speech_started').map((m) => m.segment_id);
    expect(new Set(speechStarted).size).toBe(speechStarted.length);
    // The segment open at the drop got its final once, after the resume.
    const order = events.map((e) => e.event);
    const finalAtDrop = events.findIndex((e) => e.event === 'final' && e.payload.segment_id === openAtDrop);
    expect(finalAtDrop).toBeGreaterThan(order.indexOf('resumed'));
  });

  it('a resume arriving before the server noticed the drop takes the session over from the old socket', async () => {
    const first = await TestClient.connect(server.port);
    first.send({ type: 'config', config: {} });
    await first.waitFor((m) => m.some((x) => x.type === 'ready'));
    const ready = first.messages.find((m): m is ReadyMessage => m.type === 'ready')!;
    await first.streamPcm(concat(synthesize(SENTENCES[1]), silence(1000)), 40, false);
    first.send({ type: 'finalize' });
    await first.waitFor((m) => m.some((x) => x.type === 'utterance_end'));
    const numbered = first.messages.filter((m) => ['final', 'speech_started', 'utterance_end', 'speaker_update'].includes(m.type)).length;

    // Claim one event fewer than received: exactly that one is sent again.
    const second = await TestClient.connect(server.port, `resume_token=${encodeURIComponent(ready.resume_token)}&resume_from=${numbered - 1}`);
    await second.waitFor((m) => m.length >= 2);
    await first.waitClosed();
    expect(first.closedCode).toBe(4000);
    expect(second.messages[0]).toMatchObject({ type: 'ready', session_id: ready.session_id });
    const lastNumbered = first.messages.filter((m) => ['final', 'speech_started', 'utterance_end', 'speaker_update'].includes(m.type)).at(-1);
    expect(second.messages[1]).toEqual(lastNumbered);

    second.send({ type: 'close' });
    await second.waitFor((m) => m.some((x) => x.type === 'closed'));
    const closed = second.messages.at(-1)!;
    const finals = first.finals().length + second.finals().length - (lastNumbered?.type === 'final' ? 1 : 0);
    expect(closed).toMatchObject({ type: 'closed', reason: 'client_close', finals_sent: finals });
  });

  it('refuses an unknown token, a stranger\'s count and a bare resume_from with clear errors', async () => {
    const unknown = await TestClient.connect(server.port, 'resume_token=not-a-real-token&resume_from=0');
    await unknown.waitClosed();
    expect(unknown.messages).toEqual([
      { type: 'error', code: 'bad_config', message: expect.stringMatching(/resume_token is unknown or expired \(sessions are held 3000 ms after a drop\): start a new session/), fatal: true },
    ]);

    const live = await TestClient.connect(server.port);
    live.send({ type: 'config', config: {} });
    await live.waitFor((m) => m.some((x) => x.type === 'ready'));
    const token = (live.messages[0] as ReadyMessage).resume_token;
    const ahead = await TestClient.connect(server.port, `resume_token=${token}&resume_from=5`);
    await ahead.waitClosed();
    expect(ahead.messages[0]).toMatchObject({ type: 'error', code: 'bad_config', fatal: true, message: expect.stringMatching(/resume_from=5, but this session has sent only 0/) });
    // The refused resume left the live session alone.
    live.send({ type: 'close' });
    await live.waitFor((m) => m.some((x) => x.type === 'closed'));

    const bare = await refusedUpgrade(server.port, 'resume_from=3');
    expect(bare).toEqual({ status: 400, body: { code: 'bad_config', message: 'resume_from is only allowed beside a resume_token' } });
  });

  it('after the grace period the session is gone: the client reports the refused resume and done rejects', async () => {
    const { WebSocket: Tracked, sockets } = trackedWebSocket();
    // The first retry comes after the server has let the session go.
    // Equal jitter waits at least half the delay.
    const client = new ListenClient({ url, WebSocket: Tracked, reconnect: { baseDelayMs: GRACE_MS * 2 + 1000, maxDelayMs: GRACE_MS * 2 + 1000 } });
    const events = record(client);
    await until(() => payloads(events, 'ready').length > 0, 'ready');
    sockets[0].terminate();
    const err = await client.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListenClientError);
    expect(err).toMatchObject({ code: 'bad_config', message: expect.stringMatching(/unknown or expired/) });
    const errors = payloads(events, 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'bad_config', fatal: true });
    expect(payloads(events, 'closed')).toEqual([]);
    // Later calls are harmless and report the same end.
    client.sendAudio(new Uint8Array(320));
    await expect(client.close()).rejects.toBe(err);
  }, 30_000);

  it('gives up with connection_lost after its attempts when nothing listens', async () => {
    const client = new ListenClient({ url: 'ws://127.0.0.1:9/v1/listen', WebSocket, reconnect: { maxAttempts: 2, baseDelayMs: 20 } });
    const events = record(client);
    const err = await client.done.catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ListenClientError', code: 'connection_lost', message: expect.stringMatching(/cannot connect to ws:\/\/127\.0\.0\.1:9\/v1\/listen \(2 attempts\)/) });
    expect(payloads(events, 'reconnecting').map((r) => r.attempt)).toEqual([1, 2]);
    expect(payloads(events, 'error').map((e) => e.code)).toEqual(['connection_lost']);
  });
});
