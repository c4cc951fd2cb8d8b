/**
 * Protocol v1 wire formats, shared by the server and the clients, all pure:
 * client and server messages to and from JSON text frames or protobuf binary
 * frames (`listen.proto`), session config validation (from a `config`
 * message or the URL query), and the default config.
 *
 * Whatever a peer sends is untrusted: the decoders and validators throw
 * `ProtocolError` and nothing else, with a message naming the problem, so the
 * server can pass it straight to the client. Encoders trust their (typed)
 * input and do not validate it.
 */
import protobuf from 'protobufjs';
import type {
  AudioEncoding,
  ClientMessage,
  ErrorCode,
  ServerMessage,
  SessionConfig,
  WireFormat,
} from './messages.js';
import { LISTEN_PROTO } from './schema.js';

export type ProtocolErrorCode = Extract<ErrorCode, 'bad_message' | 'bad_config'>;

/** A peer sent something protocol v1 does not allow; `message` says what, for people. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';

  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULT_SESSION_CONFIG: Readonly<SessionConfig> = Object.freeze({
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
});

// Records, so the compiler insists on every member of the union types.
const ENCODING_SET: Record<AudioEncoding, true> = {
  pcm_s16le: true,
  pcm_f32le: true,
  mulaw: true,
  alaw: true,
  opus: true,
  ogg_opus: true,
  webm_opus: true,
};
const ERROR_CODE_SET: Record<ErrorCode, true> = {
  bad_config: true,
  bad_message: true,
  unsupported_encoding: true,
  bad_audio: true,
  message_too_large: true,
  rate_limited: true,
  overloaded: true,
  unauthorized: true,
  idle_timeout: true,
  session_too_long: true,
  internal: true,
};

export const AUDIO_ENCODINGS: readonly AudioEncoding[] = Object.keys(ENCODING_SET) as AudioEncoding[];

// ---------------------------------------------------------------------------
// Session config validation

type ConfigRule =
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'bool' }
  | { kind: 'string'; maxLength: number };

const CONFIG_RULES: Record<keyof SessionConfig, ConfigRule> = {
  encoding: { kind: 'enum', values: AUDIO_ENCODINGS },
  sample_rate: { kind: 'int', min: 8_000, max: 192_000 },
  channels: { kind: 'int', min: 1, max: 8 },
  multichannel: { kind: 'bool' },
  // A BCP 47 tag fits in 35 characters (RFC 5646, section 4.4.1).
  language: { kind: 'string', maxLength: 35 },
  // A model name or a server-side path.
  model: { kind: 'string', maxLength: 256 },
  interim_results: { kind: 'bool' },
  endpointing_ms: { kind: 'int', min: 10, max: 10_000 },
  diarize: { kind: 'bool' },
  session_id: { kind: 'string', maxLength: 128 },
  resume_token: { kind: 'string', maxLength: 1024 },
};
const CONFIG_KEYS = Object.keys(CONFIG_RULES) as (keyof SessionConfig)[];

function isConfigKey(key: string): key is keyof SessionConfig {
  return Object.hasOwn(CONFIG_RULES, key);
}

/** What is wrong with `value` as config field `key`, or undefined when it is fine. */
function configValueProblem(key: keyof SessionConfig, value: unknown): string | undefined {
  const rule = CONFIG_RULES[key];
  switch (rule.kind) {
    case 'enum':
      if (typeof value === 'string' && rule.values.includes(value)) return undefined;
      return `${key} must be one of ${rule.values.join(', ')} (got ${show(value)})`;
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value) && value >= rule.min && value <= rule.max) return undefined;
      return `${key} must be an integer from ${rule.min} to ${rule.max} (got ${show(value)})`;
    case 'bool':
      if (typeof value === 'boolean') return undefined;
      return `${key} must be true or false (got ${show(value)})`;
    case 'string':
      if (typeof value === 'string' && value.length <= rule.maxLength) return undefined;
      return `${key} must be a string of at most ${rule.maxLength} characters (got ${typeof value === 'string' ? `${value.length} characters` : show(value)})`;
  }
}

/** Validates a partial config; unknown fields are errors so typos do not pass unnoticed. */
function checkConfigPatch(input: unknown): Partial<SessionConfig> {
  if (!isObject(input)) throw new ProtocolError('bad_config', `config must be an object (got ${show(input)})`);
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    // A typed caller's `{ model: undefined }` means "not set", as JSON would have it.
    if (value === undefined) continue;
    if (!isConfigKey(key)) {
      throw new ProtocolError('bad_config', `unknown config field ${show(key)} (known: ${CONFIG_KEYS.join(', ')})`);
    }
    const problem = configValueProblem(key, value);
    if (problem !== undefined) throw new ProtocolError('bad_config', problem);
    patch[key] = value;
  }
  return patch as Partial<SessionConfig>;
}

/**
 * The config in force after applying `input` (a partial config, as in a
 * `config` message) over `defaults`. Throws `ProtocolError('bad_config')`
 * naming the first bad or unknown field.
 */
export function resolveSessionConfig(input: unknown, defaults: Readonly<SessionConfig>): SessionConfig {
  return { ...defaults, ...checkConfigPatch(input) };
}

// Query parameters that are not session settings: the wire format, a
// credential for servers that require one (browsers cannot set headers), and
// where a resumed session's replay starts.
const NON_CONFIG_QUERY_KEYS = new Set(['format', 'token', 'resume_from']);

/** Query parameters as entries; a parameter given twice is an error, since which one wins would be a guess. */
function queryEntries(query: string): [string, string][] {
  const entries = [...new URLSearchParams(query)];
  const seen = new Set<string>();
  for (const [key] of entries) {
    if (seen.has(key)) throw new ProtocolError('bad_config', `query parameter ${show(key)} is given more than once`);
    seen.add(key);
  }
  return entries;
}

/** Text to the value its config field wants; text that does not parse stays text and fails validation. */
function parseQueryValue(key: keyof SessionConfig, text: string): unknown {
  const rule = CONFIG_RULES[key];
  if (rule.kind === 'int') return /^[0-9]{1,9}$/.test(text) ? Number(text) : text;
  if (rule.kind === 'bool') return text === 'true' ? true : text === 'false' ? false : text;
  return text;
}

/**
 * The session settings in a raw URL query string (`a=1&b=2`, a leading `?`
 * is fine): numbers as decimal integers, booleans as `true` / `false`.
 * Validated like a `config` message; `format` and `token` are skipped.
 */
export function configFromQuery(query: string): Partial<SessionConfig> {
  const patch: Record<string, unknown> = {};
  for (const [key, text] of queryEntries(query)) {
    if (NON_CONFIG_QUERY_KEYS.has(key)) continue;
    if (!isConfigKey(key)) {
      throw new ProtocolError(
        'bad_config',
        `unknown query parameter ${show(key)} (known: ${[...CONFIG_KEYS, ...NON_CONFIG_QUERY_KEYS].join(', ')})`,
      );
    }
    patch[key] = parseQueryValue(key, text);
  }
  return checkConfigPatch(patch);
}

/**
 * The `resume_from` query parameter: how many `final`, `speech_started`,
 * `utterance_end` and `speaker_update` messages the client has received in
 * the session it resumes; 0 when absent. Only beside a `resume_token`.
 */
export function resumeFromQuery(query: string): number {
  const entries = queryEntries(query);
  const text = entries.find(([key]) => key === 'resume_from')?.[1];
  if (text === undefined) return 0;
  if (!entries.some(([key, value]) => key === 'resume_token' && value !== '')) {
    throw new ProtocolError('bad_config', 'resume_from is only allowed beside a resume_token');
  }
  const count = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(count <= 0xffff_ffff)) throw new ProtocolError('bad_config', `resume_from must be an integer from 0 to 4294967295 (got ${show(text)})`);
  return count;
}

/** The `format` query parameter: `json` (the default) or `protobuf`. */
export function wireFormatFromQuery(query: string): WireFormat {
  const format = queryEntries(query).find(([key]) => key === 'format')?.[1] ?? 'json';
  if (format === 'json' || format === 'protobuf') return format;
  throw new ProtocolError('bad_config', `format must be json or protobuf (got ${show(format)})`);
}

// ---------------------------------------------------------------------------
// Frames

const schema = protobuf.parse(LISTEN_PROTO, { keepCase: true }).root;
const ClientMessageType = schema.lookupType('livetranscribe.v1.ClientMessage');
const ServerMessageType = schema.lookupType('livetranscribe.v1.ServerMessage');

// fatal: invalid UTF-8 is the client's error, not something to paper over with U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A frame's bytes; a string flagged binary is the caller's mistake, reported like any bad frame. */
function frameBytes(data: Uint8Array | string): Uint8Array {
  if (typeof data === 'string') throw new ProtocolError('bad_message', 'a binary frame must be passed as bytes, not a string');
  return data;
}

function parseJsonFrame(data: Uint8Array | string): unknown {
  let text: string;
  if (typeof data === 'string') {
    text = data;
  } else {
    try {
      text = utf8.decode(data);
    } catch {
      throw new ProtocolError('bad_message', 'text frame is not valid UTF-8');
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ProtocolError('bad_message', `text frame is not valid JSON (${errorText(err)})`);
  }
}

/** Decodes `bytes` as protobuf message `type`: which member of its `type` oneof is set, and that member as a plain object. */
function decodeProtobufFrame(
  type: protobuf.Type,
  bytes: Uint8Array,
  options: protobuf.IConversionOptions,
): { member: string | undefined; body: unknown } {
  try {
    const message = type.decode(bytes);
    // protobufjs exposes a oneof as a getter naming the member that is set.
    const member = (message as unknown as { type?: string }).type;
    const plain = type.toObject(message, options);
    return { member, body: member === undefined ? undefined : plain[member] };
  } catch (err) {
    throw new ProtocolError('bad_message', `binary frame is not a valid protobuf ${type.name} (${errorText(err)})`);
  }
}

/**
 * A frame from a client. JSON format: text frames are JSON control messages,
 * binary frames are audio, returned as a view of `data`, not a copy (copy it
 * if `data` is reused after this call, as uWebSockets.js does). Protobuf
 * format: binary frames are `ClientMessage`s (audio again a view of `data`).
 * The config of a `config` message is validated (fields, types, ranges).
 * Throws `ProtocolError` on anything else.
 */
export function decodeClientMessage(data: Uint8Array | string, isBinary: boolean, format: WireFormat): ClientMessage {
  if (format === 'json') {
    if (isBinary) return { type: 'audio', audio: frameBytes(data) };
    return clientMessageFromJson(parseJsonFrame(data));
  }
  if (!isBinary) {
    throw new ProtocolError('bad_message', 'text frame received, but format=protobuf: send each ClientMessage as a binary frame');
  }
  // No defaults: in a config, only the fields the client set are present.
  const { member, body } = decodeProtobufFrame(ClientMessageType, frameBytes(data), {});
  switch (member) {
    case 'config':
      return { type: 'config', config: checkConfigPatch(body) };
    case 'audio': {
      // protobufjs hands out a Buffer when the frame is one; give every caller a plain view.
      const audio = body as Uint8Array;
      return { type: 'audio', audio: new Uint8Array(audio.buffer, audio.byteOffset, audio.byteLength) };
    }
    case 'finalize':
    case 'keepalive':
    case 'close':
      return { type: member };
    default:
      throw new ProtocolError('bad_message', 'ClientMessage has no type set (an empty message, or one from a newer protocol)');
  }
}

function clientMessageFromJson(value: unknown): ClientMessage {
  if (!isObject(value)) throw new ProtocolError('bad_message', `a JSON message must be an object with a "type" (got ${show(value)})`);
  const type = value.type;
  if (typeof type !== 'string') throw new ProtocolError('bad_message', `a JSON message needs a string "type" (got ${show(type)})`);
  switch (type) {
    case 'config':
      onlyFields(value, ['type', 'config'], type);
      return { type, config: checkConfigPatch(value.config) };
    case 'finalize':
    case 'keepalive':
    case 'close':
      onlyFields(value, ['type'], type);
      return { type };
    case 'audio':
      throw new ProtocolError('bad_message', 'with format=json audio goes in binary frames, not in a JSON message');
    default:
      throw new ProtocolError('bad_message', `unknown message type ${show(type)} (known: config, finalize, keepalive, close)`);
  }
}

function onlyFields(value: Record<string, unknown>, allowed: readonly string[], type: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new ProtocolError('bad_message', `unknown field ${show(key)} in a ${type} message`);
  }
}

/** A frame for a client: a string goes out as a text frame, bytes as a binary frame. */
export function encodeServerMessage(msg: ServerMessage, format: WireFormat): string | Uint8Array {
  if (format === 'json') return JSON.stringify(msg);
  // The oneof member's message type has no `type` field, so the encoder skips it.
  return ServerMessageType.encode({ [msg.type]: msg }).finish();
}

/** A frame for the server: a string goes out as a text frame, bytes as a binary frame. */
export function encodeClientMessage(msg: ClientMessage, format: WireFormat): string | Uint8Array {
  if (format === 'json') return msg.type === 'audio' ? msg.audio : JSON.stringify(msg);
  const body = msg.type === 'config' ? msg.config : msg.type === 'audio' ? msg.audio : {};
  return ClientMessageType.encode({ [msg.type]: body }).finish();
}

/**
 * A frame from the server, checked field by field (unknown fields are
 * dropped, so a server may add fields within v1). Throws `ProtocolError`
 * for a frame of the wrong kind, an unknown type, or a missing or mistyped field.
 */
export function decodeServerMessage(data: Uint8Array | string, isBinary: boolean, format: WireFormat): ServerMessage {
  if (format === 'json') {
    if (isBinary) throw new ProtocolError('bad_message', 'binary frame received, but format=json: the server sends JSON text frames');
    return checkServerMessage(parseJsonFrame(data));
  }
  if (!isBinary) throw new ProtocolError('bad_message', 'text frame received, but format=protobuf: the server sends binary frames');
  // Defaults on: proto3 leaves zeros, empty strings and empty lists off the wire.
  const { member, body } = decodeProtobufFrame(ServerMessageType, frameBytes(data), { defaults: true, arrays: true });
  if (member === undefined) throw new ProtocolError('bad_message', 'ServerMessage has no type set (an empty message, or one from a newer protocol)');
  return checkServerMessage({ ...(body as object), type: member });
}

// ---------------------------------------------------------------------------
// Server message shapes

type FieldKind = 'string' | 'bool' | 'uint' | 'number' | 'error_code' | 'strings' | 'words' | 'limits' | 'config';
type Shape = Record<string, FieldKind>;

const KIND_NAMES: Record<FieldKind, string> = {
  string: 'a string',
  bool: 'true or false',
  uint: 'an integer from 0 to 4294967295',
  number: 'a finite number',
  error_code: `an error code (${Object.keys(ERROR_CODE_SET).join(', ')})`,
  strings: 'a list of strings',
  words: 'a list of words',
  limits: 'an object',
  config: 'an object',
};

const WORD: Shape = { word: 'string', start_ms: 'uint', end_ms: 'uint', confidence: 'number', speaker: 'string' };
const LIMITS: Shape = { max_message_bytes: 'uint', max_session_ms: 'uint', idle_timeout_ms: 'uint' };
const TRANSCRIPT: Shape = {
  segment_id: 'uint',
  channel: 'uint',
  start_ms: 'uint',
  end_ms: 'uint',
  text: 'string',
  words: 'words',
  speaker: 'string',
};
const CHANNEL_EVENT: Shape = { channel: 'uint', segment_id: 'uint', at_ms: 'uint' };

const SERVER_SHAPES: Record<ServerMessage['type'], Shape> = {
  ready: {
    session_id: 'string',
    model: 'string',
    protocol_version: 'string',
    config: 'config',
    limits: 'limits',
    resume_token: 'string',
  },
  partial: TRANSCRIPT,
  final: TRANSCRIPT,
  speech_started: CHANNEL_EVENT,
  utterance_end: CHANNEL_EVENT,
  speaker_update: { channel: 'uint', segment_id: 'uint', speaker: 'string', word_speakers: 'strings' },
  error: { code: 'error_code', message: 'string', fatal: 'bool' },
  closed: { reason: 'string', audio_ms_received: 'uint', finals_sent: 'uint' },
  keepalive: {},
};

function checkServerMessage(value: unknown): ServerMessage {
  if (!isObject(value)) throw new ProtocolError('bad_message', `a server message must be an object (got ${show(value)})`);
  const type = value.type;
  if (typeof type !== 'string' || !Object.hasOwn(SERVER_SHAPES, type)) {
    throw new ProtocolError('bad_message', `unknown server message type ${show(type)}`);
  }
  const shape = SERVER_SHAPES[type as ServerMessage['type']];
  return { type, ...checkShape(value, shape, type) } as ServerMessage;
}

/** A copy of `value` holding exactly the fields of `shape`, each checked. */
function checkShape(value: unknown, shape: Shape, path: string): Record<string, unknown> {
  if (!isObject(value)) throw new ProtocolError('bad_message', `${path} must be an object (got ${show(value)})`);
  const out: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(shape)) {
    if (!Object.hasOwn(value, key)) throw new ProtocolError('bad_message', `${path}.${key} is missing`);
    out[key] = checkField(value[key], kind, `${path}.${key}`);
  }
  return out;
}

function checkField(value: unknown, kind: FieldKind, path: string): unknown {
  switch (kind) {
    case 'string':
      if (typeof value === 'string') return value;
      break;
    case 'bool':
      if (typeof value === 'boolean') return value;
      break;
    case 'uint':
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff) return value;
      break;
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      break;
    case 'error_code':
      if (typeof value === 'string' && Object.hasOwn(ERROR_CODE_SET, value)) return value;
      break;
    case 'strings':
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
      break;
    case 'words':
      if (Array.isArray(value)) return value.map((word, i) => checkShape(word, WORD, `${path}[${i}]`));
      break;
    case 'limits':
      return checkShape(value, LIMITS, path);
    case 'config':
      return checkFullConfig(value, path);
  }
  throw new ProtocolError('bad_message', `${path} must be ${KIND_NAMES[kind]} (got ${show(value)})`);
}

/** The config in `ready`: every field present and valid. */
function checkFullConfig(value: unknown, path: string): SessionConfig {
  if (!isObject(value)) throw new ProtocolError('bad_message', `${path} must be an object (got ${show(value)})`);
  const config: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    if (!Object.hasOwn(value, key)) throw new ProtocolError('bad_message', `${path}.${key} is missing`);
    const problem = configValueProblem(key, value[key]);
    if (problem !== undefined) throw new ProtocolError('bad_message', `${path}.${problem}`);
    config[key] = value[key];
  }
  return config as unknown as SessionConfig;
}

// ---------------------------------------------------------------------------
// Helpers

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short, safe rendering of an untrusted value for an error message. */
function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = typeof value;
  }
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
