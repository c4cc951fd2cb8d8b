/**
 * Protocol v1 wire formats (protocol/frames.ts, query.ts, session-config.ts, server-shapes.ts, listen.proto, schema.ts):
 * round trips of every message in both formats, schema drift, config and
 * query validation, and a seeded fuzz loop over hostile frames.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage } from '../protocol/frames.js';
import { ProtocolError } from '../protocol/protocol-error.js';
import { DEFAULT_KEYTERM_BOOST_NATS } from '../engine/index.js';
import { configFromQuery, wireFormatFromQuery } from '../protocol/query.js';
import { AUDIO_ENCODINGS, DEFAULT_SESSION_CONFIG, resolveSessionConfig } from '../protocol/session-config.js';
import type { ClientMessage, ReadyMessage, ServerMessage, SessionConfig, WireFormat } from '../protocol/messages.js';
import { LISTEN_PROTO } from '../protocol/schema.js';
import { PROJECT_ROOT } from '../testkit/paths.js';

const FORMATS: WireFormat[] = ['json', 'protobuf'];

const FULL_CONFIG: SessionConfig = {
  encoding: 'ogg_opus',
  sample_rate: 48_000,
  channels: 2,
  multichannel: true,
  language: 'de-DE',
  model: 'demo-ctc',
  interim_results: false,
  endpointing_ms: 300,
  diarize: true,
  session_id: 'call-42',
  resume_token: 'tok-1',
  keyterms: ['Kubernetes', 'Grafana Loki'],
  keyterm_boost: 2.25,
};

// Zeros, empty strings and empty lists on purpose: proto3 leaves them off the wire.
const SERVER_MESSAGES: ServerMessage[] = [
  {
    type: 'ready',
    session_id: 'call-42',
    model: 'demo-ctc',
    protocol_version: 'v1',
    config: { ...DEFAULT_SESSION_CONFIG },
    limits: { max_message_bytes: 1 << 20, max_session_ms: 0, idle_timeout_ms: 10_000 },
    resume_token: '',
  },
  { type: 'ready', session_id: 's', model: '', protocol_version: 'v1', config: FULL_CONFIG, limits: { max_message_bytes: 1, max_session_ms: 2, idle_timeout_ms: 3 }, resume_token: 'r' },
  { type: 'partial', segment_id: 0, channel: 0, start_ms: 0, end_ms: 640, text: '', words: [], speaker: '' },
  {
    type: 'final',
    segment_id: 7,
    channel: 1,
    start_ms: 1_200,
    end_ms: 2_380,
    text: 'hello wörld',
    words: [
      { word: 'hello', start_ms: 1_200, end_ms: 1_560, confidence: 0.913, speaker: 'S1' },
      { word: 'wörld', start_ms: 1_600, end_ms: 2_380, confidence: 0, speaker: '' },
    ],
    speaker: 'S1',
  },
  { type: 'final', segment_id: 4_294_967_295, channel: 7, start_ms: 4_294_967_295, end_ms: 4_294_967_295, text: 'x', words: [], speaker: '' },
  { type: 'speech_started', channel: 0, segment_id: 3, at_ms: 1_180 },
  { type: 'utterance_end', channel: 1, segment_id: 3, at_ms: 2_880 },
  { type: 'speaker_update', channel: 0, segment_id: 7, speaker: 'S2', word_speakers: ['S2', 'S1'] },
  { type: 'error', code: 'bad_audio', message: 'frame 12 is not valid Opus', fatal: false },
  { type: 'error', code: 'idle_timeout', message: 'no audio for 10 s', fatal: true },
  { type: 'closed', reason: 'client_close', audio_ms_received: 61_440, finals_sent: 9 },
  { type: 'closed', reason: '', audio_ms_received: 0, finals_sent: 0 },
  { type: 'keepalive' },
  // A shipped demo model serves: the flag is there only when true.
  { type: 'ready', session_id: 'd', model: 'demo-en-ctc', protocol_version: 'v1', config: { ...DEFAULT_SESSION_CONFIG }, limits: { max_message_bytes: 1, max_session_ms: 2, idle_timeout_ms: 3 }, resume_token: '', demo: true },
];

const CLIENT_MESSAGES: ClientMessage[] = [
  { type: 'config', config: {} },
  { type: 'config', config: FULL_CONFIG },
  // Falsy values must survive protobuf (SessionConfig fields have presence).
  { type: 'config', config: { interim_results: false, model: '', diarize: false } },
  { type: 'audio', audio: new Uint8Array([0, 1, 2, 250, 255]) },
  { type: 'audio', audio: new Uint8Array(0) },
  { type: 'finalize' },
  { type: 'keepalive' },
  { type: 'close' },
];

function isBinary(frame: string | Uint8Array): boolean {
  return typeof frame !== 'string';
}

/** Runs `fn` and returns the ProtocolError it must throw. */
function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw new Error(`expected a ProtocolError, got ${String(err)}`);
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

function expectProtocolError(fn: () => unknown, code: 'bad_message' | 'bad_config', message: RegExp): void {
  const err = protocolError(fn);
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
}

const utf8 = new TextEncoder();

describe('schema', () => {
  it('schema.ts carries listen.proto byte for byte', () => {
    const file = readFileSync(path.join(PROJECT_ROOT, 'protocol/listen.proto'));
    expect(Buffer.from(LISTEN_PROTO, 'utf8').equals(file)).toBe(true);
  });

  const root = protobuf.parse(LISTEN_PROTO, { keepCase: true }).root;

  it('ServerMessage has one oneof member per server message type, named after it', () => {
    const members = root.lookupType('livetranscribe.v1.ServerMessage').oneofs.type.oneof;
    expect([...members].sort()).toEqual([...new Set(SERVER_MESSAGES.map((m) => m.type))].sort());
  });

  it('ClientMessage has one oneof member per client message type, named after it', () => {
    const members = root.lookupType('livetranscribe.v1.ClientMessage').oneofs.type.oneof;
    expect([...members].sort()).toEqual([...new Set(CLIENT_MESSAGES.map((m) => m.type))].sort());
  });

  it('SessionConfig has exactly the config fields, each with presence but the keyterm list (repeated: none sent = unchanged)', () => {
    const type = root.lookupType('livetranscribe.v1.SessionConfig');
    expect(type.fieldsArray.map((f) => f.name).sort()).toEqual(Object.keys(DEFAULT_SESSION_CONFIG).sort());
    expect(type.fieldsArray.filter((f) => f.repeated).map((f) => f.name)).toEqual(['keyterms']);
    for (const field of type.fieldsArray) expect(field.options?.proto3_optional, field.name).toBe(field.repeated ? undefined : true);
  });
});

describe('round trips', () => {
  for (const format of FORMATS) {
    it(`every server message survives ${format}`, () => {
      for (const msg of SERVER_MESSAGES) {
        const frame = encodeServerMessage(msg, format);
        expect(typeof frame).toBe(format === 'json' ? 'string' : 'object');
        expect(decodeServerMessage(frame, isBinary(frame), format)).toEqual(msg);
      }
    });

    it(`every client message survives ${format}`, () => {
      for (const msg of CLIENT_MESSAGES) {
        const frame = encodeClientMessage(msg, format);
        expect(decodeClientMessage(frame, isBinary(frame), format)).toEqual(msg);
      }
    });
  }

  it('JSON: control messages are text frames, audio is a bare binary frame passed through without a copy', () => {
    expect(encodeClientMessage({ type: 'finalize' }, 'json')).toBe('{"type":"finalize"}');
    const audio = new Uint8Array([1, 2, 3]);
    expect(encodeClientMessage({ type: 'audio', audio }, 'json')).toBe(audio);
    const decoded = decodeClientMessage(audio, true, 'json');
    expect(decoded.type === 'audio' && decoded.audio).toBe(audio);
  });

  it("ready's demo flag: kept when true, absent when false or missing, refused when not a boolean", () => {
    const demo = SERVER_MESSAGES.at(-1) as ReadyMessage;
    expect(demo.demo).toBe(true);
    const { demo: _, ...plain } = demo;
    for (const format of FORMATS) {
      const frame = encodeServerMessage({ ...plain, demo: false } as unknown as ServerMessage, format);
      const decoded = decodeServerMessage(frame, isBinary(frame), format);
      expect(decoded).toEqual(plain);
      expect(Object.hasOwn(decoded, 'demo')).toBe(false);
    }
    expect(JSON.parse(encodeServerMessage(demo, 'json') as string).demo).toBe(true);
    expectProtocolError(() => decodeServerMessage(JSON.stringify({ ...demo, demo: 'yes' }), false, 'json'), 'bad_message', /ready\.demo must be true or false/);
  });

  it('JSON: server messages are plain JSON objects with a type', () => {
    const msg = SERVER_MESSAGES[3];
    expect(JSON.parse(encodeServerMessage(msg, 'json') as string)).toEqual(msg);
  });

  it('JSON: text frames may arrive as UTF-8 bytes', () => {
    const bytes = utf8.encode('{"type":"config","config":{"language":"fr"}}');
    expect(decodeClientMessage(bytes, false, 'json')).toEqual({ type: 'config', config: { language: 'fr' } });
    expect(decodeServerMessage(utf8.encode('{"type":"keepalive"}'), false, 'json')).toEqual({ type: 'keepalive' });
  });

  it('protobuf: decoded audio is a view of the frame, not a copy', () => {
    const frame = encodeClientMessage({ type: 'audio', audio: new Uint8Array([9, 8, 7]) }, 'protobuf') as Uint8Array;
    const view = new Uint8Array(frame); // a plain Uint8Array, as a browser or uWS hands it over
    const decoded = decodeClientMessage(view, true, 'protobuf');
    if (decoded.type !== 'audio') throw new Error('not audio');
    expect([...decoded.audio]).toEqual([9, 8, 7]);
    expect(decoded.audio.buffer).toBe(view.buffer);
  });

  it('server decoding drops unknown fields, so a server may add fields within v1', () => {
    const frame = JSON.stringify({ type: 'utterance_end', channel: 0, segment_id: 1, at_ms: 5, extra: true });
    expect(decodeServerMessage(frame, false, 'json')).toEqual({ type: 'utterance_end', channel: 0, segment_id: 1, at_ms: 5 });
  });
});

describe('decoding bad client frames', () => {
  it('rejects bad JSON, bad UTF-8 and non-objects', () => {
    expectProtocolError(() => decodeClientMessage('{"type":', false, 'json'), 'bad_message', /not valid JSON/);
    expectProtocolError(() => decodeClientMessage('', false, 'json'), 'bad_message', /not valid JSON/);
    expectProtocolError(() => decodeClientMessage(new Uint8Array([0x7b, 0xff, 0x7d]), false, 'json'), 'bad_message', /UTF-8/);
    expectProtocolError(() => decodeClientMessage('[1,2]', false, 'json'), 'bad_message', /must be an object/);
    expectProtocolError(() => decodeClientMessage('null', false, 'json'), 'bad_message', /must be an object/);
  });

  it('rejects a missing, unknown or misplaced type', () => {
    expectProtocolError(() => decodeClientMessage('{"config":{}}', false, 'json'), 'bad_message', /needs a string "type"/);
    expectProtocolError(() => decodeClientMessage('{"type":5}', false, 'json'), 'bad_message', /needs a string "type" \(got 5\)/);
    expectProtocolError(() => decodeClientMessage('{"type":"KeepAlive"}', false, 'json'), 'bad_message', /unknown message type "KeepAlive"/);
    expectProtocolError(() => decodeClientMessage('{"type":"__proto__"}', false, 'json'), 'bad_message', /unknown message type/);
    expectProtocolError(() => decodeClientMessage('{"type":"audio","audio":"AAE="}', false, 'json'), 'bad_message', /binary frames/);
  });

  it('rejects unknown fields, naming them', () => {
    expectProtocolError(() => decodeClientMessage('{"type":"finalize","channel":0}', false, 'json'), 'bad_message', /unknown field "channel" in a finalize message/);
    expectProtocolError(() => decodeClientMessage('{"type":"config","config":{},"x":1}', false, 'json'), 'bad_message', /unknown field "x"/);
  });

  it('validates the config of a config message in both formats', () => {
    expectProtocolError(() => decodeClientMessage('{"type":"config"}', false, 'json'), 'bad_config', /config must be an object \(got undefined\)/);
    expectProtocolError(() => decodeClientMessage('{"type":"config","config":{"sample_rate":"16000"}}', false, 'json'), 'bad_config', /sample_rate must be an integer/);
    expectProtocolError(() => decodeClientMessage('{"type":"config","config":{"__proto__":{}}}', false, 'json'), 'bad_config', /unknown config field "__proto__"/);
    // Presence makes an explicit 0 an error instead of "not set".
    const frame = encodeClientMessage({ type: 'config', config: { sample_rate: 0 } }, 'protobuf');
    expectProtocolError(() => decodeClientMessage(frame, true, 'protobuf'), 'bad_config', /sample_rate must be an integer from 8000 to 192000 \(got 0\)/);
  });

  it('protobuf: rejects text frames, undecodable bytes and an empty oneof', () => {
    expectProtocolError(() => decodeClientMessage('{"type":"close"}', false, 'protobuf'), 'bad_message', /text frame.*format=protobuf/);
    expectProtocolError(() => decodeClientMessage(new Uint8Array([0x0a, 0xff]), true, 'protobuf'), 'bad_message', /not a valid protobuf ClientMessage/);
    expectProtocolError(() => decodeClientMessage(new Uint8Array(0), true, 'protobuf'), 'bad_message', /no type set/);
  });

  it('rejects a binary frame handed over as a string', () => {
    expectProtocolError(() => decodeClientMessage('abc', true, 'json'), 'bad_message', /as bytes/);
    expectProtocolError(() => decodeClientMessage('abc', true, 'protobuf'), 'bad_message', /as bytes/);
  });

  it('ProtocolError is an Error named ProtocolError', () => {
    const err = protocolError(() => decodeClientMessage('{', false, 'json'));
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ProtocolError');
  });
});

describe('decoding bad server frames', () => {
  it('rejects frames of the wrong kind', () => {
    expectProtocolError(() => decodeServerMessage(new Uint8Array([1]), true, 'json'), 'bad_message', /binary frame.*format=json/);
    expectProtocolError(() => decodeServerMessage('{}', false, 'protobuf'), 'bad_message', /text frame.*format=protobuf/);
    expectProtocolError(() => decodeServerMessage(new Uint8Array(0), true, 'protobuf'), 'bad_message', /no type set/);
  });

  it('rejects unknown types and missing or mistyped fields, naming the field', () => {
    const check = (value: unknown, message: RegExp) =>
      expectProtocolError(() => decodeServerMessage(JSON.stringify(value), false, 'json'), 'bad_message', message);
    check({ type: 'Results' }, /unknown server message type "Results"/);
    check({ type: 'closed', reason: 'x', finals_sent: 1 }, /closed\.audio_ms_received is missing/);
    check({ type: 'speech_started', channel: 0, segment_id: 1, at_ms: 1.5 }, /speech_started\.at_ms must be an integer/);
    check({ type: 'speech_started', channel: -1, segment_id: 1, at_ms: 1 }, /speech_started\.channel must be an integer/);
    check({ type: 'error', code: 'oops', message: '', fatal: false }, /error\.code must be an error code/);
    check({ type: 'error', code: 'internal', message: '', fatal: 'yes' }, /error\.fatal must be true or false/);
    check({ type: 'speaker_update', channel: 0, segment_id: 0, speaker: '', word_speakers: ['a', 1] }, /word_speakers must be a list of strings/);
    const final = { ...SERVER_MESSAGES[3], words: [{ word: 'a', start_ms: 0, end_ms: 1, speaker: '' }] };
    check(final, /final\.words\[0\]\.confidence is missing/);
    const ready = { ...SERVER_MESSAGES[0], config: { ...DEFAULT_SESSION_CONFIG, channels: 0 } };
    check(ready, /ready\.config\.channels must be an integer from 1 to 8/);
  });

  it('protobuf: a ready without limits, or with part of a config, is rejected', () => {
    const noLimits = { ...SERVER_MESSAGES[0], limits: undefined } as unknown as ServerMessage;
    const frame = encodeServerMessage(noLimits, 'protobuf');
    expectProtocolError(() => decodeServerMessage(frame, true, 'protobuf'), 'bad_message', /ready\.limits must be an object \(got null\)/);
    const partConfig = { ...SERVER_MESSAGES[0], config: { language: 'en' } } as unknown as ServerMessage;
    const frame2 = encodeServerMessage(partConfig, 'protobuf');
    expectProtocolError(() => decodeServerMessage(frame2, true, 'protobuf'), 'bad_message', /ready\.config\.encoding is missing/);
  });
});

describe('resolveSessionConfig', () => {
  it('applies a partial config over the defaults without touching them', () => {
    const defaults = { ...DEFAULT_SESSION_CONFIG };
    const config = resolveSessionConfig({ sample_rate: 8_000, encoding: 'mulaw', diarize: true, model: undefined }, defaults);
    expect(config).toEqual({ ...DEFAULT_SESSION_CONFIG, sample_rate: 8_000, encoding: 'mulaw', diarize: true });
    expect(defaults).toEqual(DEFAULT_SESSION_CONFIG);
    expect(resolveSessionConfig({}, DEFAULT_SESSION_CONFIG)).toEqual(DEFAULT_SESSION_CONFIG);
    expect(resolveSessionConfig(FULL_CONFIG, DEFAULT_SESSION_CONFIG)).toEqual(FULL_CONFIG);
  });

  it('has the documented defaults', () => {
    expect(DEFAULT_SESSION_CONFIG).toEqual({
      encoding: 'pcm_s16le',
      sample_rate: 16_000,
      channels: 1,
      multichannel: false,
      language: 'en',
      model: '',
      interim_results: true,
      endpointing_ms: 500,
      diarize: false,
      session_id: '',
      resume_token: '',
      keyterms: [],
      keyterm_boost: 2,
    });
    expect(DEFAULT_SESSION_CONFIG.keyterm_boost).toBe(DEFAULT_KEYTERM_BOOST_NATS);
  });

  it('takes up to 100 keyterms of up to 50 characters and a boost from 0 to 10, and names what is wrong', () => {
    const fifty = 'x'.repeat(50);
    const hundred = Array.from({ length: 100 }, () => fifty);
    expect(resolveSessionConfig({ keyterms: hundred, keyterm_boost: 10 }, DEFAULT_SESSION_CONFIG).keyterms).toEqual(hundred);
    expectProtocolError(() => resolveSessionConfig({ keyterms: [...hundred, 'y'] }, DEFAULT_SESSION_CONFIG), 'bad_config', /keyterms must be a list of at most 100 strings \(got 101 items\)/);
    expectProtocolError(() => resolveSessionConfig({ keyterms: ['ok', fifty + 'x'] }, DEFAULT_SESSION_CONFIG), 'bad_config', /each of keyterms must be a non-empty string of at most 50 characters \(got "x{20,}/);
    expectProtocolError(() => resolveSessionConfig({ keyterms: [' '] }, DEFAULT_SESSION_CONFIG), 'bad_config', /each of keyterms must be a non-empty string/);
    expectProtocolError(() => resolveSessionConfig({ keyterms: 'kubernetes' }, DEFAULT_SESSION_CONFIG), 'bad_config', /keyterms must be a list/);
    expectProtocolError(() => resolveSessionConfig({ keyterm_boost: 10.5 }, DEFAULT_SESSION_CONFIG), 'bad_config', /keyterm_boost must be a number from 0 to 10 \(got 10.5\)/);
  });

  it('accepts every encoding and the bounds of every range', () => {
    for (const encoding of AUDIO_ENCODINGS) expect(resolveSessionConfig({ encoding }, DEFAULT_SESSION_CONFIG).encoding).toBe(encoding);
    expect(AUDIO_ENCODINGS).toHaveLength(7);
    const low = { sample_rate: 8_000, channels: 1, endpointing_ms: 10 };
    const high = { sample_rate: 192_000, channels: 8, endpointing_ms: 10_000 };
    expect(resolveSessionConfig(low, DEFAULT_SESSION_CONFIG)).toMatchObject(low);
    expect(resolveSessionConfig(high, DEFAULT_SESSION_CONFIG)).toMatchObject(high);
    const longest = { language: 'x'.repeat(35), model: 'm'.repeat(256), session_id: 's'.repeat(128), resume_token: 't'.repeat(1024) };
    expect(resolveSessionConfig(longest, DEFAULT_SESSION_CONFIG)).toMatchObject(longest);
  });

  const rejects: [string, unknown, RegExp][] = [
    ['encoding unknown', { encoding: 'mp3' }, /encoding must be one of pcm_s16le, .*webm_opus \(got "mp3"\)/],
    ['encoding not a string', { encoding: 1 }, /encoding must be one of/],
    ['sample_rate too low', { sample_rate: 7_999 }, /sample_rate must be an integer from 8000 to 192000 \(got 7999\)/],
    ['sample_rate too high', { sample_rate: 192_001 }, /sample_rate must be an integer from 8000 to 192000/],
    ['sample_rate fractional', { sample_rate: 16_000.5 }, /sample_rate must be an integer/],
    ['sample_rate a string', { sample_rate: '16000' }, /sample_rate must be an integer .*\(got "16000"\)/],
    ['channels 0', { channels: 0 }, /channels must be an integer from 1 to 8 \(got 0\)/],
    ['channels 9', { channels: 9 }, /channels must be an integer from 1 to 8/],
    ['endpointing_ms too low', { endpointing_ms: 9 }, /endpointing_ms must be an integer from 10 to 10000/],
    ['endpointing_ms too high', { endpointing_ms: 10_001 }, /endpointing_ms must be an integer from 10 to 10000/],
    ['endpointing_ms null', { endpointing_ms: null }, /endpointing_ms must be an integer .*\(got null\)/],
    ['multichannel a string', { multichannel: 'true' }, /multichannel must be true or false \(got "true"\)/],
    ['interim_results a number', { interim_results: 1 }, /interim_results must be true or false/],
    ['diarize null', { diarize: null }, /diarize must be true or false/],
    ['language too long', { language: 'x'.repeat(36) }, /language must be a string of at most 35 characters \(got 36 characters\)/],
    ['language not a string', { language: ['en'] }, /language must be a string .*\(got \["en"\]\)/],
    ['model too long', { model: 'm'.repeat(257) }, /model must be a string of at most 256 characters/],
    ['session_id too long', { session_id: 's'.repeat(129) }, /session_id must be a string of at most 128 characters/],
    ['resume_token too long', { resume_token: 't'.repeat(1025) }, /resume_token must be a string of at most 1024 characters/],
    ['unknown key', { sampleRate: 16_000 }, /unknown config field "sampleRate" \(known: encoding, sample_rate/],
    ['null', null, /config must be an object \(got null\)/],
    ['an array', [], /config must be an object \(got \[\]\)/],
    ['a string', 'pcm', /config must be an object \(got "pcm"\)/],
  ];
  for (const [name, input, message] of rejects) {
    it(`rejects ${name}`, () => {
      expectProtocolError(() => resolveSessionConfig(input, DEFAULT_SESSION_CONFIG), 'bad_config', message);
    });
  }
});

describe('query parameters', () => {
  it('parses every config field from strings', () => {
    const query =
      '?encoding=webm_opus&sample_rate=48000&channels=2&multichannel=true&language=pt-BR&model=big%2Fv2' +
      '&interim_results=false&endpointing_ms=250&diarize=true&session_id=a%20b&resume_token=xyz&keyterm=Kubernetes&keyterm=Grafana%20Loki&keyterm_boost=2.5';
    expect(configFromQuery(query)).toEqual({
      encoding: 'webm_opus',
      sample_rate: 48_000,
      channels: 2,
      multichannel: true,
      language: 'pt-BR',
      model: 'big/v2',
      interim_results: false,
      endpointing_ms: 250,
      diarize: true,
      session_id: 'a b',
      resume_token: 'xyz',
      keyterms: ['Kubernetes', 'Grafana Loki'],
      keyterm_boost: 2.5,
    });
    expect(configFromQuery('keyterms=%5B%22Kubernetes%22%5D')).toEqual({ keyterms: ['Kubernetes'] });
  });

  it('gives only what is present, and skips format and token', () => {
    expect(configFromQuery('')).toEqual({});
    expect(configFromQuery('format=protobuf&token=secret&diarize=false')).toEqual({ diarize: false });
    expect(configFromQuery('model=')).toEqual({ model: '' });
  });

  it('rejects values that do not parse or fail validation, naming the field', () => {
    expectProtocolError(() => configFromQuery('sample_rate=16k'), 'bad_config', /sample_rate must be an integer .*\(got "16k"\)/);
    expectProtocolError(() => configFromQuery('sample_rate=1e4'), 'bad_config', /sample_rate must be an integer/);
    expectProtocolError(() => configFromQuery('sample_rate=16000.0'), 'bad_config', /sample_rate must be an integer/);
    expectProtocolError(() => configFromQuery('channels=-1'), 'bad_config', /channels must be an integer/);
    expectProtocolError(() => configFromQuery('channels=99999999999'), 'bad_config', /channels must be an integer/);
    expectProtocolError(() => configFromQuery('endpointing_ms=5'), 'bad_config', /endpointing_ms must be an integer from 10 to 10000 \(got 5\)/);
    expectProtocolError(() => configFromQuery('diarize=yes'), 'bad_config', /diarize must be true or false \(got "yes"\)/);
    expectProtocolError(() => configFromQuery('interim_results=TRUE'), 'bad_config', /interim_results must be true or false/);
    expectProtocolError(() => configFromQuery('encoding=linear16'), 'bad_config', /encoding must be one of/);
    expectProtocolError(() => configFromQuery('keyterm_boost=high'), 'bad_config', /keyterm_boost must be a number from 0 to 10 \(got "high"\)/);
    expectProtocolError(() => configFromQuery('keyterms=Kubernetes'), 'bad_config', /keyterms must be a list/);
    expectProtocolError(() => configFromQuery(`keyterm=${'x'.repeat(51)}`), 'bad_config', /at most 50 characters/);
    expectProtocolError(() => configFromQuery('keyterm=a&keyterms=%5B%22b%22%5D'), 'bad_config', /either as keyterm parameters or as keyterms/);
  });

  it('rejects unknown and repeated parameters', () => {
    expectProtocolError(() => configFromQuery('sample_rate=8000&punctuate=true'), 'bad_config', /unknown query parameter "punctuate" \(known: .*format, token, resume_from\)/);
    expectProtocolError(() => configFromQuery('language=en&language=de'), 'bad_config', /"language" is given more than once/);
  });

  it('reads the wire format', () => {
    expect(wireFormatFromQuery('')).toBe('json');
    expect(wireFormatFromQuery('sample_rate=8000')).toBe('json');
    expect(wireFormatFromQuery('?format=json')).toBe('json');
    expect(wireFormatFromQuery('format=protobuf&diarize=true')).toBe('protobuf');
    expectProtocolError(() => wireFormatFromQuery('format=xml'), 'bad_config', /format must be json or protobuf \(got "xml"\)/);
    expectProtocolError(() => wireFormatFromQuery('format=json&format=protobuf'), 'bad_config', /"format" is given more than once/);
  });
});

describe('fuzz: decoders throw only ProtocolError', () => {
  // mulberry32: a seeded generator, so a failure reproduces.
  function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const random = rng(20_240_601);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];

  function randomBytes(maxLength: number): Uint8Array {
    const bytes = new Uint8Array(int(maxLength + 1));
    for (let i = 0; i < bytes.length; i++) bytes[i] = int(256);
    return bytes;
  }

  function mutateBytes(input: Uint8Array): Uint8Array {
    const bytes = [...input];
    for (let n = 1 + int(4); n > 0; n--) {
      const at = int(bytes.length + 1);
      switch (int(4)) {
        case 0:
          if (bytes.length > 0) bytes[at % bytes.length] = int(256);
          break;
        case 1:
          bytes.splice(at, 0, int(256));
          break;
        case 2:
          bytes.splice(at, 1 + int(3));
          break;
        default:
          bytes.length = at;
      }
    }
    return new Uint8Array(bytes);
  }

  const ODD_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e300, 2 ** 32, '', 'x'.repeat(2000), 'pcm_s16le', [], [1, 'a'], {}, { type: 'final' }];

  /** A valid JSON message with one value somewhere (top level or one level down) replaced. */
  function mutateJson(msg: object): string {
    const copy = JSON.parse(JSON.stringify(msg)) as Record<string, unknown>;
    let target: Record<string, unknown> = copy;
    const nested = Object.values(copy).filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v));
    if (nested.length > 0 && random() < 0.5) target = pick(nested);
    const keys = Object.keys(target);
    const key = random() < 0.2 || keys.length === 0 ? pick(['type', 'zzz', '__proto__', 'config']) : pick(keys);
    if (random() < 0.15) delete target[key];
    else target[key] = pick(ODD_VALUES);
    return JSON.stringify(copy);
  }

  function mutateText(text: string): string {
    const chars = [...text];
    for (let n = 1 + int(3); n > 0; n--) {
      const at = int(chars.length + 1);
      if (random() < 0.5) chars.splice(at, 1);
      else chars.splice(at, 0, pick(['{', '}', '"', ',', ':', '[', '0', '-', 'e', '\\', '\u0000', 'é']));
    }
    return chars.join('');
  }

  /** `decode` must return or throw ProtocolError; what it returns must survive a round trip. */
  function attempt<T>(decode: () => T, reencode: (value: T) => T, outcomes: { ok: number; rejected: number }): void {
    let value: T;
    try {
      value = decode();
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      expect(err.message.length).toBeGreaterThan(0);
      outcomes.rejected++;
      return;
    }
    outcomes.ok++;
    // JSON normalizes -0 and byte views, which are not what this checks.
    expect(JSON.parse(JSON.stringify(reencode(value)))).toEqual(JSON.parse(JSON.stringify(value)));
  }

  const clientRoundTrip = (format: WireFormat) => (msg: ClientMessage) => {
    const frame = encodeClientMessage(msg, format);
    return decodeClientMessage(frame, isBinary(frame), format);
  };
  const serverRoundTrip = (format: WireFormat) => (msg: ServerMessage) => {
    const frame = encodeServerMessage(msg, format);
    return decodeServerMessage(frame, isBinary(frame), format);
  };

  const ITERATIONS = 2_000;

  it('random bytes in every slot', () => {
    const outcomes = { ok: 0, rejected: 0 };
    for (let i = 0; i < ITERATIONS; i++) {
      const bytes = randomBytes(64);
      const format = pick(FORMATS);
      const binary = random() < 0.5;
      attempt(() => decodeClientMessage(bytes, binary, format), clientRoundTrip(format), outcomes);
      attempt(() => decodeServerMessage(bytes, binary, format), serverRoundTrip(format), outcomes);
    }
    expect(outcomes.rejected).toBeGreaterThan(0);
    expect(outcomes.ok).toBeGreaterThan(0);
  });

  it('mutated valid protobuf frames', () => {
    const client = { ok: 0, rejected: 0 };
    const server = { ok: 0, rejected: 0 };
    for (let i = 0; i < ITERATIONS; i++) {
      const clientFrame = encodeClientMessage(pick(CLIENT_MESSAGES), 'protobuf') as Uint8Array;
      attempt(() => decodeClientMessage(mutateBytes(clientFrame), true, 'protobuf'), clientRoundTrip('protobuf'), client);
      const serverFrame = encodeServerMessage(pick(SERVER_MESSAGES), 'protobuf') as Uint8Array;
      attempt(() => decodeServerMessage(mutateBytes(serverFrame), true, 'protobuf'), serverRoundTrip('protobuf'), server);
    }
    for (const outcomes of [client, server]) {
      expect(outcomes.rejected).toBeGreaterThan(0);
      expect(outcomes.ok).toBeGreaterThan(0);
    }
  });

  it('mutated valid JSON messages, by value and by character', () => {
    const client = { ok: 0, rejected: 0 };
    const server = { ok: 0, rejected: 0 };
    const controls = CLIENT_MESSAGES.filter((m) => m.type !== 'audio');
    for (let i = 0; i < ITERATIONS; i++) {
      const clientMsg = pick(controls);
      const clientText = random() < 0.5 ? mutateJson(clientMsg) : mutateText(JSON.stringify(clientMsg));
      attempt(() => decodeClientMessage(clientText, false, 'json'), clientRoundTrip('json'), client);
      const serverMsg = pick(SERVER_MESSAGES);
      const serverText = random() < 0.5 ? mutateJson(serverMsg) : mutateText(JSON.stringify(serverMsg));
      attempt(() => decodeServerMessage(serverText, false, 'json'), serverRoundTrip('json'), server);
    }
    for (const outcomes of [client, server]) {
      expect(outcomes.rejected).toBeGreaterThan(0);
      expect(outcomes.ok).toBeGreaterThan(0);
    }
  });

  it('mutated query strings', () => {
    const base = 'encoding=mulaw&sample_rate=8000&channels=2&diarize=true&language=en&format=protobuf';
    const outcomes = { ok: 0, rejected: 0 };
    for (let i = 0; i < ITERATIONS; i++) {
      const query = mutateText(base);
      attempt(() => configFromQuery(query), (patch) => resolveSessionConfig(patch, DEFAULT_SESSION_CONFIG) && patch, outcomes);
      attempt(() => wireFormatFromQuery(query), (format) => format, outcomes);
    }
    expect(outcomes.rejected).toBeGreaterThan(0);
    expect(outcomes.ok).toBeGreaterThan(0);
  });
});
