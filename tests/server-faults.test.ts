/**
 * Fault injection against the real server on 127.0.0.1. While healthy
 * sessions stream known sentences in real time, other clients misbehave:
 * abrupt disconnects mid-segment, half-open sockets (TCP only, an unfinished
 * HTTP request, a WebSocket that never sends, one that stops reading),
 * malformed JSON and protobuf frames, wrong message types, text frames in
 * protobuf mode, oversized frames, invalid UTF-8, garbage audio in every
 * encoding, a corrupt Ogg stream (the decoder fails mid-stream) and floods of
 * tiny frames. Every healthy session must still get all its finals intact,
 * each bad client gets the answer the protocol promises, the server keeps
 * serving, and /metrics counts the errors by code.
 *
 * A model call that throws is injected (no real input makes the demo model
 * throw: its graph accepts any length and the audio is sanitised before it):
 * CtcRecognizer.prototype.recognizeBatch is wrapped to throw whenever one of
 * the utterances in the call holds a "poison" marker, eight samples in a row
 * at -1.0 or below (on the wire int16 -32768, which toS16le never makes from
 * synthetic speech in [-1, 1)). Everything else is the real model. Only the
 * poisoned job may fail, including when it shares a model call with healthy
 * ones (the scheduler then retries each job alone).
 *
 * Bounded: a fixed number of clients and frames; about 40 s in all.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { CtcRecognizer } from '../engine/asr/recognizer.js';
import { StreamingRecognizer, type ChunkWindow } from '../engine/asr/streaming-recognizer.js';
import { resolveModel } from '../engine/models/resolve.js';
import { RecognitionScheduler } from '../engine/scheduler.js';
import { decodeServerMessage, encodeClientMessage } from '../protocol/frames.js';
import { AUDIO_ENCODINGS } from '../protocol/session-config.js';
import type { ClientMessage, ServerMessage } from '../protocol/messages.js';
import type { RunningServer } from '../server/app.js';
import { DEFAULT_CONFIG } from '../server/config.js';
import { promValue } from '../testkit/server-process.js';
import { ffmpegEncode } from '../testkit/encode.js';
import { startTestServer, TestClient } from '../testkit/server.js';
import { concat, silence, synthesize, toS16le } from '../testkit/speech.js';
import { runPlan, SENTENCES, sessionProblems, speechPlan, VOICES, type SpeechPlan } from '../testkit/speech-plan.js';

const MAX_MESSAGE_BYTES = 64 << 10;
const IDLE_TIMEOUT_MS = 3000;

let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer({ maxMessageBytes: MAX_MESSAGE_BYTES, idleTimeoutMs: IDLE_TIMEOUT_MS });
});
afterAll(async () => {
  await server?.shutdown();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function healthyPlans(count: number): SpeechPlan[] {
  return Array.from({ length: count }, (_, i) => speechPlan([0, 1, 2].map((k) => SENTENCES[(i * 3 + k) % SENTENCES.length]), VOICES[i % VOICES.length]));
}

/** A protobuf-format session on a raw `ws` socket (TestClient speaks JSON only). */
class ProtobufClient {
  readonly messages: ServerMessage[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => this.messages.push(decodeServerMessage(new Uint8Array(data), isBinary, 'protobuf')));
  }

  static async connect(port: number, query = ''): Promise<ProtobufClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/listen?format=protobuf${query ? `&${query}` : ''}`);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    return new ProtobufClient(ws);
  }

  send(msg: ClientMessage): void {
    this.ws.send(encodeClientMessage(msg, 'protobuf'));
  }

  async waitFor(pred: (m: ServerMessage[]) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!pred(this.messages)) {
      if (performance.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(this.messages).slice(0, 1000)}`);
      await sleep(20);
    }
  }
}

/** Waits for the socket to close, whoever closes it. */
async function closedCode(ws: WebSocket, timeoutMs = 30_000): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return -1;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
    ws.once('close', (code) => (clearTimeout(t), resolve(code)));
  });
}

// ---------------------------------------------------------------------------
// The misbehaving clients. Each returns what it saw, checked by the test.

/** Streams speech in real time and vanishes (TCP reset, no close frame) in the middle of the segment; with `finalize`, right after asking for its final. */
async function abruptDisconnect(speech: Float32Array, cutAtMs: number, finalize: boolean): Promise<void> {
  const client = await TestClient.connect(server.port);
  await client.streamPcm(concat(silence(300), speech.subarray(0, cutAtMs * 16)));
  if (finalize) client.send({ type: 'finalize' });
  client.ws.terminate();
}

/** Sends everything and `close`, then vanishes while its finals are still being decoded. */
async function closeThenVanish(speech: Float32Array): Promise<void> {
  const client = await TestClient.connect(server.port);
  await client.streamPcm(concat(silence(300), speech, silence(300)), 20, false);
  client.send({ type: 'close' });
  await sleep(5);
  client.ws.terminate();
}

/** A TCP connection that sends `bytes` (maybe nothing, maybe half an HTTP request) and then nothing more. */
async function rawTcp(bytes: string): Promise<net.Socket> {
  const socket = net.connect(server.port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  if (bytes) socket.write(bytes);
  return socket;
}

/** A WebSocket that opens and never sends: the server's idle timeout must end it. */
async function silentSocket(): Promise<ServerMessage[]> {
  const client = await TestClient.connect(server.port);
  await client.waitClosed(IDLE_TIMEOUT_MS + 10_000);
  return client.messages;
}

/** Streams speech with partials on but never reads what the server sends. */
async function notReading(speech: Float32Array): Promise<WebSocket> {
  const client = await TestClient.connect(server.port);
  client.ws.pause();
  await client.streamPcm(concat(silence(300), speech, speech), 20, true);
  return client.ws;
}

const BAD_JSON_FRAMES: Array<[frame: string, code: string]> = [
  ['{', 'bad_message'],
  ['null', 'bad_message'],
  ['[]', 'bad_message'],
  ['"close"', 'bad_message'],
  ['{"type": 5}', 'bad_message'],
  ['{"type": "nonsense"}', 'bad_message'],
  ['{"type": "audio", "audio": "AAAA"}', 'bad_message'],
  ['{"type": "final", "text": "injected"}', 'bad_message'],
  ['{"type": "close", "now": true}', 'bad_message'],
  ['{"type": "config", "config": {"sample_rate": "fast"}}', 'bad_config'],
  ['{"type": "config", "config": {"encoding": "mp3"}}', 'bad_config'],
];

/** Malformed and misplaced JSON messages, each answered by a non-fatal error; the session goes on and closes normally. */
async function malformedJson(): Promise<ServerMessage[]> {
  const client = await TestClient.connect(server.port);
  for (const [frame] of BAD_JSON_FRAMES) client.ws.send(frame);
  await client.streamPcm(silence(200), 20, false);
  // A config after audio has started the session is misplaced.
  client.send({ type: 'config', config: {} });
  client.send({ type: 'keepalive' });
  await client.waitFor((m) => m.some((x) => x.type === 'keepalive'));
  client.send({ type: 'close' });
  await client.waitClosed();
  return client.messages;
}

/** A text frame that is not UTF-8: uWebSockets.js drops the connection (1006). */
async function invalidUtf8(): Promise<number> {
  const client = await TestClient.connect(server.port);
  client.ws.on('error', () => {});
  client.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  await client.waitClosed();
  return client.closedCode!;
}

const BAD_PROTOBUF_FRAMES: Uint8Array[] = [
  Uint8Array.of(0xff), // a field header with no field
  Uint8Array.of(0x0a, 0x80), // truncated length varint
  Uint8Array.of(0x0a, 0x10, 0x01), // length runs past the end
  Uint8Array.of(0x0f, 0x00), // wire type 7 does not exist
  new Uint8Array(0), // no type set
];

/** Malformed protobuf frames and text frames in protobuf mode, each a non-fatal bad_message; the session goes on. */
async function malformedProtobuf(): Promise<ServerMessage[]> {
  const client = await ProtobufClient.connect(server.port);
  for (const frame of BAD_PROTOBUF_FRAMES) client.ws.send(frame);
  client.ws.send('{"type": "keepalive"}');
  client.ws.send('keepalive');
  client.send({ type: 'audio', audio: toS16le(silence(200)) });
  client.send({ type: 'keepalive' });
  await client.waitFor((m) => m.some((x) => x.type === 'keepalive'));
  client.send({ type: 'close' });
  await client.waitFor((m) => m.some((x) => x.type === 'closed'));
  return client.messages;
}

/** One frame just over the limit: the server drops the connection (uWebSockets.js: 1006, no error message). */
async function oversized(format: 'json' | 'protobuf'): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/listen?format=${format}`);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ws.on('error', () => {});
  ws.send(new Uint8Array(MAX_MESSAGE_BYTES + 1));
  return closedCode(ws);
}

/** Random bytes declared as `encoding`, sent fast in 320-byte frames, then `close`. */
async function garbageAudio(encoding: string): Promise<ServerMessage[]> {
  const client = await TestClient.connect(server.port, `encoding=${encoding}`);
  for (let i = 0; i < 50; i++) client.ws.send(randomBytes(320));
  client.send({ type: 'close' });
  await client.waitClosed();
  return client.messages;
}

/** A real Ogg/Opus stream of speech whose bytes are overwritten after its first 3 kB: the demuxer fails mid-stream (CRC). */
async function corruptOgg(speech: Float32Array): Promise<ServerMessage[]> {
  const ogg = Uint8Array.from(ffmpegEncode(concat(silence(300), speech, silence(300)), ['-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg']));
  for (let i = 3000; i < ogg.length; i += 97) ogg[i] ^= 0x5a;
  const client = await TestClient.connect(server.port, 'encoding=ogg_opus');
  await client.streamBytes(ogg, [1000]);
  client.send({ type: 'close' });
  await client.waitClosed();
  return client.messages;
}

/** 20 000 one-byte audio frames as fast as the socket takes them (10 000 s16le samples = 625 ms), then `close`. */
async function floodTinyFrames(): Promise<ServerMessage[]> {
  const client = await TestClient.connect(server.port);
  const byte = new Uint8Array(1);
  for (let i = 0; i < 20_000; i++) {
    client.ws.send(byte);
    if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
  }
  client.send({ type: 'close' });
  await client.waitClosed(60_000);
  return client.messages;
}

/** 3000 keepalives at once, each to be answered. */
async function floodKeepalives(): Promise<ServerMessage[]> {
  const client = await TestClient.connect(server.port);
  for (let i = 0; i < 3000; i++) client.send({ type: 'keepalive' });
  client.send({ type: 'close' });
  await client.waitClosed(60_000);
  return client.messages;
}

const errorsOf = (messages: ServerMessage[]) => messages.filter((m) => m.type === 'error');

async function metricsText(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
}

describe('faults beside healthy sessions', () => {
  it('keeps every healthy final while other clients misbehave, answers each fault as documented, and keeps serving', async () => {
    const plans = healthyPlans(3);
    const speech = synthesize(SENTENCES[7], { engine: 'espeak', voice: 'en-gb' });
    const speechMs = speech.length / 16;
    const metrics0 = await metricsText();

    const healthy = Promise.all(plans.map((p) => runPlan(server.port, p)));
    const later = <T>(ms: number, f: () => Promise<T>) => sleep(ms).then(f);
    const tcpOnly = rawTcp('');
    const halfHttp = rawTcp(`GET /v1/listen HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\n`);
    const faults = Promise.all([
      later(400, () => abruptDisconnect(speech, speechMs * 0.5, false)),
      later(1500, () => abruptDisconnect(speech, speechMs * 0.7, true)),
      later(3300, () => abruptDisconnect(speech, speechMs * 0.3, false)),
      later(2000, () => closeThenVanish(speech)),
      later(300, () => silentSocket()),
      later(600, () => notReading(speech)),
      later(800, () => malformedJson()),
      later(900, () => invalidUtf8()),
      later(1000, () => malformedProtobuf()),
      later(1200, () => oversized('json')),
      later(4000, () => oversized('protobuf')),
      later(1400, () => Promise.all(AUDIO_ENCODINGS.map((e) => garbageAudio(e)))),
      later(2500, () => corruptOgg(speech)),
      later(3000, () => floodTinyFrames()),
      later(5000, () => floodKeepalives()),
    ]);
    const [results, [, , , , silent, stalled, badJson, utf8Code, badProtobuf, bigJsonCode, bigProtobufCode, garbage, corrupt, flood, keepalives]] = await Promise.all([healthy, faults]);

    // Healthy sessions: every final intact.
    results.forEach((messages, i) => expect(sessionProblems(plans[i], messages), `healthy session ${i}`).toEqual([]));

    // Half-open: the silent WebSocket is closed by the idle timeout, with `closed`.
    expect(silent.at(-1)).toMatchObject({ type: 'closed', reason: 'idle_timeout', finals_sent: 0 });

    // Malformed JSON: one non-fatal error per bad frame, with its code, then the misplaced config; the session lived on.
    expect(errorsOf(badJson).map((e) => (e.type === 'error' ? [e.code, e.fatal] : []))).toEqual([...BAD_JSON_FRAMES.map(([, code]) => [code, false]), ['bad_message', false]]);
    expect(badJson.at(-1)).toMatchObject({ type: 'closed', reason: 'client_close' });
    expect(utf8Code).toBe(1006);

    // Malformed protobuf and text frames in protobuf mode: one non-fatal bad_message each; then a normal close.
    expect(errorsOf(badProtobuf)).toHaveLength(BAD_PROTOBUF_FRAMES.length + 2);
    expect(errorsOf(badProtobuf).every((e) => e.type === 'error' && e.code === 'bad_message' && !e.fatal)).toBe(true);
    expect(badProtobuf.at(-1)).toMatchObject({ type: 'closed', reason: 'client_close', audio_ms_received: 200 });

    // Oversized frames: the connection is dropped.
    expect(bigJsonCode).toBe(1006);
    expect(bigProtobufCode).toBe(1006);

    // Garbage audio: raw PCM / G.711 is just noise; bad Opus packets are skipped with non-fatal errors;
    // a container that is not one is a fatal bad_audio. Every session still ends with `closed`.
    AUDIO_ENCODINGS.forEach((encoding, i) => {
      const messages = garbage[i];
      const errors = errorsOf(messages);
      expect(messages.at(-1)?.type, encoding).toBe('closed');
      if (encoding === 'ogg_opus' || encoding === 'webm_opus') {
        expect(errors, encoding).toMatchObject([{ code: 'bad_audio', fatal: true }]);
        expect(messages.at(-1), encoding).toMatchObject({ reason: 'bad_audio' });
      } else if (encoding === 'opus') {
        // Most random packets are refused one by one; libopus failing outright would end the stream.
        expect(errors.every((e) => e.type === 'error' && e.code === 'bad_audio'), encoding).toBe(true);
        const fatal = errors.some((e) => e.type === 'error' && e.fatal);
        expect(messages.at(-1), encoding).toMatchObject({ reason: fatal ? 'bad_audio' : 'client_close' });
      } else {
        expect(errors, encoding).toEqual([]);
        expect(messages.at(-1), encoding).toMatchObject({ reason: 'client_close' });
      }
    });

    // A decoder failing mid-stream ends its own session only, with a fatal bad_audio.
    expect(errorsOf(corrupt)).toMatchObject([{ code: 'bad_audio', fatal: true }]);
    expect(corrupt.at(-1)).toMatchObject({ type: 'closed', reason: 'bad_audio' });

    // Floods: every byte and every keepalive accounted for.
    expect(flood.at(-1)).toMatchObject({ type: 'closed', reason: 'client_close', audio_ms_received: 625 });
    expect(keepalives.filter((m) => m.type === 'keepalive')).toHaveLength(3000);
    expect(keepalives.at(-1)).toMatchObject({ type: 'closed', reason: 'client_close' });

    // Clean up the half-open sockets; the server still serves, and no session is left behind.
    stalled.terminate();
    for (const s of await Promise.all([tcpOnly, halfHttp])) s.destroy();
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    const after = await TestClient.connect(server.port);
    after.send({ type: 'keepalive' });
    await after.waitFor((m) => m.some((x) => x.type === 'keepalive'));
    after.ws.close();
    let metrics1 = await metricsText();
    for (let tries = 0; promValue(metrics1, 'lt_live_sessions') > 0 && tries < 50; tries++) {
      await sleep(100);
      metrics1 = await metricsText();
    }
    expect(promValue(metrics1, 'lt_live_sessions')).toBe(0);

    // The errors, by code.
    const errors = (code: string) => promValue(metrics1, 'lt_errors_total', `code="${code}"`) - promValue(metrics0, 'lt_errors_total', `code="${code}"`);
    console.log(`errors by code: ${['bad_message', 'bad_config', 'bad_audio', 'message_too_large', 'internal'].map((c) => `${c}=${errors(c)}`).join(' ')}`);
    expect(errors('bad_message')).toBe(BAD_JSON_FRAMES.filter(([, c]) => c === 'bad_message').length + 1 + BAD_PROTOBUF_FRAMES.length + 2);
    expect(errors('bad_config')).toBe(BAD_JSON_FRAMES.filter(([, c]) => c === 'bad_config').length);
    expect(errors('bad_audio')).toBeGreaterThanOrEqual(3);
    expect(errors('message_too_large')).toBe(2);
    expect(errors('internal')).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// A model call that throws

const POISON_RUN = 8;
/** Speech with the poison marker written at three places inside it. */
function poison(speech: Float32Array): Float32Array {
  const out = Float32Array.from(speech);
  // Just below -1: toS16le clamps it to int16 -32768, which the server decodes to exactly -1.0.
  for (const at of [0.2, 0.5, 0.8]) out.fill(-1.001, Math.floor(out.length * at), Math.floor(out.length * at) + POISON_RUN);
  return out;
}

function isPoisoned(utterance: Float32Array): boolean {
  for (let i = 0, run = 0; i < utterance.length; i++) {
    run = utterance[i] <= -1 ? run + 1 : 0;
    if (run >= POISON_RUN) return true;
  }
  return false;
}

describe('a model call that throws', () => {
  /** Sizes of the calls that threw. */
  const failedCalls: number[] = [];

  beforeAll(() => {
    const real = CtcRecognizer.prototype.recognizeBatch;
    vi.spyOn(CtcRecognizer.prototype, 'recognizeBatch').mockImplementation(async function (this: CtcRecognizer, utterances: Float32Array[]) {
      if (utterances.some(isPoisoned)) {
        failedCalls.push(utterances.length);
        throw new Error('injected model failure (poisoned input)');
      }
      return real.call(this, utterances);
    });
    // The same failure on the streaming path (the streaming project): a window whose samples hold the marker.
    const realChunks = StreamingRecognizer.prototype.decodeChunks;
    vi.spyOn(StreamingRecognizer.prototype, 'decodeChunks').mockImplementation(async function (this: StreamingRecognizer, windows: ChunkWindow[]) {
      if (windows.some((w) => isPoisoned(w.samples))) {
        failedCalls.push(windows.length);
        throw new Error('injected model failure (poisoned input)');
      }
      return realChunks.call(this, windows);
    });
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it('fails only the poisoned job of a batch; its batch mates get the results they get alone', async () => {
    const model = resolveModel(DEFAULT_CONFIG.model || undefined, { log: () => {} });
    const recognizer = await CtcRecognizer.load({ modelPath: model.modelPath, tokensPath: model.tokensPath, numThreads: 1 });
    try {
      const [a, b, c] = SENTENCES.slice(0, 3).map((s) => synthesize(s));
      const [aloneA] = await recognizer.recognizeBatch([a]);
      const [aloneC] = await recognizer.recognizeBatch([c]);
      failedCalls.length = 0;
      // Room for all three in one call, whatever their length.
      const scheduler = new RecognitionScheduler(recognizer, { maxBatch: 8, maxBatchAudioMs: 60_000 });
      // Queued in one tick, so they share one model call.
      const settled = await Promise.allSettled([scheduler.final('a', a), scheduler.final('b', poison(b)), scheduler.final('c', c)]);
      expect(failedCalls).toEqual([3, 1]);
      expect(settled[0]).toMatchObject({ status: 'fulfilled', value: { text: aloneA.text } });
      expect(settled[1]).toMatchObject({ status: 'rejected', reason: { message: expect.stringContaining('injected') } });
      expect(settled[2]).toMatchObject({ status: 'fulfilled', value: { text: aloneC.text } });
    } finally {
      await recognizer.close();
    }
  });

  it('ends only the session whose audio makes the model throw, with a fatal internal error', async () => {
    const plans = healthyPlans(2);
    const metrics0 = await metricsText();
    failedCalls.length = 0;
    const healthy = Promise.all(plans.map((p) => runPlan(server.port, p)));
    const victim = await TestClient.connect(server.port);
    victim.send({ type: 'config', config: { interim_results: true } });
    await victim.streamPcm(concat(silence(300), poison(synthesize(SENTENCES[9])), silence(1200)));
    await victim.waitClosed(30_000);
    const results = await healthy;

    results.forEach((messages, i) => expect(sessionProblems(plans[i], messages), `healthy session ${i}`).toEqual([]));
    expect(errorsOf(victim.messages)).toMatchObject([{ code: 'internal', fatal: true }]);
    expect(victim.messages.at(-1)).toMatchObject({ type: 'closed', reason: 'internal' });
    expect(victim.closedCode).toBe(1011);
    expect(failedCalls.length).toBeGreaterThan(0);
    console.log(`model calls that threw: sizes ${JSON.stringify(failedCalls)} (a size over 1: healthy jobs shared the failed call and were retried alone)`);
    const metrics1 = await metricsText();
    expect(promValue(metrics1, 'lt_errors_total', 'code="internal"') - promValue(metrics0, 'lt_errors_total', 'code="internal"')).toBe(1);
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
  });
});
