/**
 * The Deepgram-compatible live endpoint (/deepgram/v1/listen) on the real
 * server: the official @deepgram/sdk, pointed at it by its baseUrl and
 * otherwise unmodified, transcribes synthesized speech live (interim results,
 * finals with words and times, SpeechStarted, UtteranceEnd, Finalize,
 * KeepAlive past the idle timeout, CloseStream ending with Metadata, speaker
 * labels with diarize). A raw WebSocket client checks the exact message
 * shapes against Deepgram's documented schema, the browser's `token`
 * subprotocol with our API keys and tokens, container audio sent without an
 * encoding, and Deepgram-style refusals of what this server does not do.
 */
import { liveWerBound } from './helpers/demo-model.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeepgramClient } from '@deepgram/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../server/app.js';
import { wordErrorRate } from '../eval/wer.js';
import { PROJECT_ROOT, sharedPath } from '../testkit/paths.js';
import { parseDeepgramQuery } from '../server/deepgram/options.js';
import { startTestServer, TEST_MODEL_NAME } from '../testkit/server.js';
import { concat, silence, synthesize, toS16le } from '../testkit/speech.js';

const MODEL = TEST_MODEL_NAME;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lt-deepgram-'));
const SECRET = 'test-secret-that-is-long-enough-for-hmac-0123456789';
const IDLE_TIMEOUT_MS = 2000;
let server: RunningServer;
let apiKey: string;

beforeAll(async () => {
  apiKey = execFileSync(path.join(PROJECT_ROOT, 'node_modules/.bin/tsx'), [path.join(PROJECT_ROOT, 'server/keys-cli.ts'), 'create', 'dana', '--data-dir', dataDir], { encoding: 'utf8' }).trim();
  // A short idle timeout, so the KeepAlive test shows KeepAlive holding a session open past it.
  server = await startTestServer({ auth: 'on', dataDir, tokenSecret: SECRET, idleTimeoutMs: IDLE_TIMEOUT_MS, diarizationModel: sharedPath('models/pyannote-segmentation-3.0/model.int8.onnx') });
});
afterAll(async () => {
  await server.shutdown();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends 16 kHz mono audio as linear16 in 100 ms frames, at `speed` times real time. */
async function streamAudio(send: (bytes: Uint8Array) => void, samples: Float32Array, speed = 2): Promise<void> {
  const bytes = toS16le(samples);
  const frameBytes = 3200;
  const t0 = performance.now();
  for (let pos = 0, i = 0; pos < bytes.length; pos += frameBytes, i++) {
    send(bytes.subarray(pos, pos + frameBytes));
    const wait = t0 + ((i + 1) * 100) / speed - performance.now();
    if (wait > 0) await sleep(wait);
  }
}

async function until<T>(what: string, get: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

type Json = Record<string, any>;

describe('the official @deepgram/sdk', () => {
  let keepAlive: NodeJS.Timeout | undefined;
  afterEach(() => clearInterval(keepAlive));

  it('transcribes live: interim results, finals with words and times, Finalize, KeepAlive, CloseStream, speaker labels', async () => {
    const client = new DeepgramClient({ apiKey, baseUrl: `ws://127.0.0.1:${server.port}/deepgram` });
    const connection = await client.listen.v1.connect({
      model: MODEL,
      language: 'en-US',
      encoding: 'linear16',
      sample_rate: 16000,
      interim_results: 'true',
      punctuate: 'true',
      vad_events: 'true',
      utterance_end_ms: '1000',
      endpointing: 400,
      diarize: 'true',
      reconnectAttempts: 0,
      Authorization: `Token ${apiKey}`,
    });
    const messages: Json[] = [];
    let closeCode: number | null = null;
    connection.on('message', (m) => messages.push(m as Json));
    connection.on('close', (e) => (closeCode ??= (e as { code: number }).code));
    connection.connect();
    await connection.waitForOpen();

    // A sentence and a pause: interim results while it is spoken, then a final that ends the speech.
    const first = 'the quick brown fox jumps over the lazy dog near the river bank';
    const firstAudio = concat(silence(300), synthesize(first), silence(1500));
    await streamAudio((b) => connection.sendMedia(b), firstAudio);
    // KeepAlive from here on: the waits below are longer than the idle timeout.
    keepAlive = setInterval(() => connection.sendKeepAlive({ type: 'KeepAlive' }), 500);
    const speechFinal = await until('a speech_final result', () => messages.find((m) => m.type === 'Results' && m.speech_final));
    const interim = messages.filter((m) => m.type === 'Results' && !m.is_final);
    expect(interim.length).toBeGreaterThan(0);
    expect(messages.indexOf(interim[0])).toBeLessThan(messages.indexOf(speechFinal));
    expect(messages.some((m) => m.type === 'SpeechStarted')).toBe(true);
    const alt = speechFinal.channel.alternatives[0];
    expect(wordErrorRate(first, alt.transcript).wer).toBeLessThan(liveWerBound(0.2));
    expect(alt.words.length).toBeGreaterThan(5);
    for (const w of alt.words) {
      expect(w.start).toBeGreaterThanOrEqual(speechFinal.start - 0.001);
      expect(w.end).toBeGreaterThan(w.start);
      expect(w.end).toBeLessThanOrEqual(speechFinal.start + speechFinal.duration + 0.001);
      expect(typeof w.punctuated_word).toBe('string');
      expect(Number.isInteger(w.speaker) && w.speaker >= 0).toBe(true);
    }
    await until('UtteranceEnd', () => messages.find((m) => m.type === 'UtteranceEnd'));

    // Nothing but KeepAlive for twice the idle timeout: the session stays open.
    await sleep(2 * IDLE_TIMEOUT_MS);
    expect(closeCode).toBeNull();

    // Speech with no pause after it, then Finalize: its final comes from the flush.
    const second = 'please call me back tomorrow morning';
    const secondAudio = concat(synthesize(second), silence(100));
    await streamAudio((b) => connection.sendMedia(b), secondAudio);
    connection.sendFinalize({ type: 'Finalize' });
    const flushed = await until('a from_finalize result', () => messages.find((m) => m.type === 'Results' && m.from_finalize));
    expect(flushed.is_final).toBe(true);
    expect(wordErrorRate(second, flushed.channel.alternatives[0].transcript).wer).toBeLessThan(liveWerBound(0.35));

    // CloseStream: Metadata, then the socket closes normally.
    clearInterval(keepAlive);
    connection.sendCloseStream({ type: 'CloseStream' });
    await until('the close', () => closeCode ?? undefined);
    expect(closeCode).toBe(1000);
    const metadata = messages.at(-1)!;
    expect(metadata.type).toBe('Metadata');
    expect(metadata.duration).toBeCloseTo((firstAudio.length + secondAudio.length) / 16000, 2);
    expect(metadata.models).toEqual([MODEL]);
  });
});

/** Opens the Deepgram route with `ws`; resolves with the socket once open, or the refusal. */
function openRaw(query: string, opts: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<{ ws: WebSocket; messages: Json[]; closed: Promise<{ code: number; reason: string }> } | { status: number; headers: Record<string, unknown>; body: Json }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/deepgram/v1/listen?${query}`, opts.protocols ?? [], { headers: opts.headers });
  const messages: Json[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  ws.on('error', () => {});
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) });
      });
    });
  });
}

async function openOk(query: string, opts: Parameters<typeof openRaw>[1] = {}) {
  const r = await openRaw(query, opts);
  if ('status' in r) throw new Error(`refused: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

const keys = (o: object) => Object.keys(o).sort();

describe('raw WebSocket against the documented schema', () => {
  it('sends Results, SpeechStarted, UtteranceEnd and Metadata in exactly their documented shapes', async () => {
    const { token } = await (await fetch(`http://127.0.0.1:${server.port}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: '{"scopes":["listen"]}' })).json();
    // As a browser does it: the token in the `token` subprotocol.
    const { ws, messages, closed } = await openOk('encoding=linear16&sample_rate=16000&interim_results=true&vad_events=true&utterance_end_ms=1000&smart_format=true', { protocols: ['token', token] });
    expect(ws.protocol).toBe('token');
    await streamAudio((b) => ws.send(b), concat(silence(300), synthesize('good morning everyone and welcome'), silence(1500)), 4);
    ws.send(JSON.stringify({ type: 'CloseStream' }));
    expect((await closed).code).toBe(1000);

    const results = messages.filter((m) => m.type === 'Results');
    const final = results.find((m) => m.is_final && m.channel.alternatives[0].words.length > 0)!;
    expect(keys(final)).toEqual(['channel', 'channel_index', 'duration', 'from_finalize', 'is_final', 'metadata', 'speech_final', 'start', 'type']);
    expect(final).toMatchObject({ type: 'Results', channel_index: [0, 1], is_final: true, speech_final: true, from_finalize: false });
    expect(typeof final.start).toBe('number');
    expect(typeof final.duration).toBe('number');
    expect(keys(final.channel)).toEqual(['alternatives']);
    expect(keys(final.channel.alternatives[0])).toEqual(['confidence', 'transcript', 'words']);
    expect(final.channel.alternatives[0].confidence).toBeGreaterThan(0);
    expect(final.channel.alternatives[0].confidence).toBeLessThanOrEqual(1);
    for (const w of final.channel.alternatives[0].words) {
      expect(keys(w)).toEqual(['confidence', 'end', 'punctuated_word', 'start', 'word']);
      expect(w.word).toMatch(/^[\p{Ll}\p{N}']+$/u);
    }
    expect(keys(final.metadata)).toEqual(['model_info', 'model_uuid', 'request_id']);
    expect(keys(final.metadata.model_info)).toEqual(['arch', 'name', 'version']);
    expect(results.some((m) => !m.is_final)).toBe(true);

    const started = messages.find((m) => m.type === 'SpeechStarted')!;
    expect(keys(started)).toEqual(['channel', 'timestamp', 'type']);
    expect(started.channel).toEqual([0, 1]);
    const utteranceEnd = messages.find((m) => m.type === 'UtteranceEnd')!;
    expect(keys(utteranceEnd)).toEqual(['channel', 'last_word_end', 'type']);
    const lastWords = final.channel.alternatives[0].words;
    expect(utteranceEnd.last_word_end).toBe(lastWords[lastWords.length - 1].end);
    expect(messages.indexOf(utteranceEnd)).toBeGreaterThan(messages.indexOf(final));

    const metadata = messages.at(-1)!;
    expect(keys(metadata)).toEqual(['channels', 'created', 'duration', 'model_info', 'models', 'request_id', 'sha256', 'transaction_key', 'type']);
    expect(metadata.request_id).toBe(final.metadata.request_id);
    expect(metadata.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(new Date(metadata.created).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('transcribes Ogg Opus sent without an encoding, and closes 1008 DATA-0000 on raw audio without one', async () => {
    const ogg = await openOk('', { headers: { authorization: `Token ${apiKey}` } });
    const bytes = fs.readFileSync(path.join(PROJECT_ROOT, 'tests/fixtures/audio/speech.ogg'));
    for (let pos = 0; pos < bytes.length; pos += 4000) ogg.ws.send(bytes.subarray(pos, pos + 4000));
    ogg.ws.send(JSON.stringify({ type: 'CloseStream' }));
    expect((await ogg.closed).code).toBe(1000);
    expect(ogg.messages.some((m) => m.type === 'Results' && m.is_final && m.channel.alternatives[0].transcript !== '')).toBe(true);

    const raw = await openOk('', { headers: { authorization: `Token ${apiKey}` } });
    raw.ws.send(toS16le(synthesize('hello there')));
    const closed = await raw.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^DATA-0000/);
  });

  it('refuses bad credentials, unknown models and unsupported options before the upgrade, as Deepgram does', async () => {
    const badKey = await openRaw('encoding=linear16&sample_rate=16000', { headers: { authorization: 'Token lt_not_a_key' } });
    expect(badKey).toMatchObject({ status: 401, body: { err_code: 'INVALID_AUTH' } });

    const auth = { headers: { authorization: `Token ${apiKey}` } };
    const cases: [string, RegExp][] = [
      ['model=nova-3', new RegExp(`unknown model "nova-3"; this server serves: ${MODEL}`)],
      ['language=fr', /does not transcribe language "fr"/],
      ['encoding=flac', /encoding "flac" is not supported/],
      ['encoding=linear16', /sample_rate is required/],
      ['redact=pci', /redact=pci is not supported/],
      ['callback=https://example.com', /query parameter "callback" is not supported/],
      ['utterance_end_ms=500', /utterance_end_ms must be at least 1000/],
      [Array.from({ length: 101 }, () => 'keyterm=fox').join('&'), /keyterms must be a list of at most 100 strings/],
      ['keyterm=C%2B%2B', /keyterm "C\+\+": the model has no token for "\+"/],
    ];
    for (const [query, message] of cases) {
      const refused = await openRaw(query, auth);
      if (!('status' in refused)) throw new Error(`${query} was accepted`);
      expect(refused.status).toBe(400);
      expect(keys(refused.body)).toEqual(['err_code', 'err_msg', 'request_id']);
      expect(refused.body.err_code).toBe('Bad Request');
      expect(refused.body.err_msg).toMatch(message);
      expect(refused.headers['dg-error']).toBe(refused.body.err_msg);
    }
    expect(parseDeepgramQuery('keyterm=fox&keyterm=river', 'r').config.keyterms).toEqual(['fox', 'river']);
    // Options this server cannot do are accepted when off.
    const off = await openOk('encoding=linear16&sample_rate=8000&filler_words=false&numerals=false&keyterm=fox&keyterm=river&tag=t&mip_opt_out=true', auth);
    off.ws.send(JSON.stringify({ type: 'CloseStream' }));
    expect((await off.closed).code).toBe(1000);
  });

  it('a revoked key ends its sessions as on /v1/listen: the finals, then close 1008 unauthorized; new ones are refused', async () => {
    const cli = (...args: string[]) => execFileSync(path.join(PROJECT_ROOT, 'node_modules/.bin/tsx'), [path.join(PROJECT_ROOT, 'server/keys-cli.ts'), ...args, '--data-dir', dataDir], { encoding: 'utf8' }).trim();
    const key = cli('create', 'erin');
    const keyId = cli('list').split('\n').find((line) => line.includes('erin'))!.split(/\s+/)[0];
    const auth = { headers: { authorization: `Token ${key}` } };
    const { ws, messages, closed } = await openOk('encoding=linear16&sample_rate=16000&interim_results=true', auth);
    // Received and being transcribed, its final not sent yet: the trailing silence is shorter than the endpointing.
    await streamAudio((b) => ws.send(b), concat(silence(300), synthesize('we counted forty two people at the station'), silence(300)), 4);
    await until('a partial', () => messages.find((m) => m.type === 'Results' && !m.is_final));

    cli('revoke', keyId);
    const { code, reason } = await closed;
    expect(code).toBe(1008);
    expect(reason).toMatch(/^unauthorized: .*revoked or has expired/);
    const finals = messages.filter((m) => m.type === 'Results' && m.is_final).map((m) => m.channel.alternatives[0].transcript);
    expect(finals.join(' ')).toMatch(/forty/);
    expect(await openRaw('encoding=linear16&sample_rate=16000', auth)).toMatchObject({ status: 401, body: { err_code: 'INVALID_AUTH' } });
  });
});
