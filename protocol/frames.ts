/**
 * Protocol v1 frames, pure: client and server messages to and from JSON text
 * frames or protobuf binary frames (`listen.proto`). Whatever a peer sends is
 * untrusted: decoders throw `ProtocolError` naming the problem. Encoders
 * trust their (typed) input and do not validate it.
 */
import protobuf from 'protobufjs';
import type { ClientMessage, ServerMessage, WireFormat } from './messages.js';
import { errorText, isObject, ProtocolError, show } from './protocol-error.js';
import { LISTEN_PROTO } from './schema.js';
import { checkServerMessage } from './server-shapes.js';
import { checkConfigPatch } from './session-config.js';

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
