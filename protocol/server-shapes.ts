/**
 * The shape of every server message, checked field by field on the client
 * side: what `decodeServerMessage` returns has exactly the fields its type
 * declares, each of the right kind (unknown fields are dropped, so a server
 * may add fields within v1). An optional flag (OPTIONAL_FLAGS) is kept only
 * when true: absent and false (protobuf's default) both mean not set.
 */
import type { ErrorCode, ServerMessage } from './messages.js';
import { isObject, ProtocolError, show } from './protocol-error.js';
import { checkFullConfig } from './session-config.js';

// A record, so the compiler insists on every member of the union.
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

/** Boolean fields a message may carry; kept only when true. */
const OPTIONAL_FLAGS: Partial<Record<ServerMessage['type'], readonly string[]>> = {
  ready: ['demo'],
};

export function checkServerMessage(value: unknown): ServerMessage {
  if (!isObject(value)) throw new ProtocolError('bad_message', `a server message must be an object (got ${show(value)})`);
  const type = value.type;
  if (typeof type !== 'string' || !Object.hasOwn(SERVER_SHAPES, type)) {
    throw new ProtocolError('bad_message', `unknown server message type ${show(type)}`);
  }
  const shape = SERVER_SHAPES[type as ServerMessage['type']];
  const out: Record<string, unknown> = { type, ...checkShape(value, shape, type) };
  for (const flag of OPTIONAL_FLAGS[type as ServerMessage['type']] ?? []) {
    if (!Object.hasOwn(value, flag) || value[flag] === undefined || value[flag] === null) continue;
    if (checkField(value[flag], 'bool', `${type}.${flag}`) === true) out[flag] = true;
  }
  return out as unknown as ServerMessage;
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
