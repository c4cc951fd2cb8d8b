/**
 * Protocol v1 message types, shared by the server and the client.
 *
 * One WebSocket per stream at `/v1/listen`. Audio goes as binary frames; every
 * other message is a JSON object with a `type` (text frames), or, when the
 * client picks `format=protobuf`, a binary `ClientMessage` / `ServerMessage`
 * from `listen.proto` (then audio travels inside `ClientMessage.audio`).
 * Field names are snake_case in both forms. Times are integer milliseconds of
 * stream time: the position in the audio the client sent, from its first
 * sample. Counts and times are non-negative integers below 2^32 (uint32 in
 * the protobuf form). Wire coding lives in `frames.ts`, validation in `session-config.ts`;
 * `README.md` is the protocol document for client writers.
 */

export const PROTOCOL_VERSION = 'v1';

export type AudioEncoding =
  | 'pcm_s16le'
  | 'pcm_f32le'
  | 'mulaw'
  | 'alaw'
  | 'opus'
  | 'ogg_opus'
  | 'webm_opus';

export type WireFormat = 'json' | 'protobuf';

/** Session options; every field may also come as a URL query parameter. */
export interface SessionConfig {
  encoding: AudioEncoding;
  /** Sample rate of the audio as sent; containers carry their own. */
  sample_rate: number;
  channels: number;
  /** Each channel becomes its own transcript stream (messages carry `channel`). */
  multichannel: boolean;
  language: string;
  /** Model name or path; empty = the server's default. */
  model: string;
  interim_results: boolean;
  /** Silence that ends an utterance. */
  endpointing_ms: number;
  diarize: boolean;
  /** Client-chosen id, echoed in `ready`; the server makes one if empty. */
  session_id: string;
  /** Token from an earlier `ready` to resume a dropped session. */
  resume_token: string;
  /** Words and phrases the finals favour (names, products, jargon): up to 100, each up to 50 characters. */
  keyterms: string[];
  /** How strongly: nats (natural-log units) added per model token of a keyterm heard. */
  keyterm_boost: number;
  /** Diarization hint: at least this many people speak (1 to 32; absent: no hint). */
  min_speakers?: number;
  /** Diarization cap: at most this many speaker labels (1 to 32; absent: no cap). */
  max_speakers?: number;
}

/** Optional, and only as the first message of a session; changes only the fields it sets. */
export interface ConfigMessage {
  type: 'config';
  config: Partial<SessionConfig>;
}
/** Flush now: finals for everything received so far. */
export interface FinalizeMessage {
  type: 'finalize';
}
/** Keeps an idle session open; answered by a `KeepAliveAck`. */
export interface KeepAliveMessage {
  type: 'keepalive';
}
/** Finish: finals for everything received, then `closed`, then the socket closes. */
export interface CloseMessage {
  type: 'close';
}
/** Audio inside a protobuf ClientMessage; in JSON mode audio is a bare binary frame. */
export interface AudioMessage {
  type: 'audio';
  audio: Uint8Array;
}

export type ClientMessage = ConfigMessage | FinalizeMessage | KeepAliveMessage | CloseMessage | AudioMessage;

export interface Limits {
  max_message_bytes: number;
  max_session_ms: number;
  idle_timeout_ms: number;
}

/** The session started: the settings in force, sent in answer to the client's first message. */
export interface ReadyMessage {
  type: 'ready';
  session_id: string;
  model: string;
  protocol_version: string;
  config: SessionConfig;
  limits: Limits;
  /** Pass back as `resume_token` to continue after a dropped connection; empty when not offered. */
  resume_token: string;
  /** Present (true) only when `model` is a shipped demo model, which knows synthetic voices only: tell the user. */
  demo?: true;
}

export interface Word {
  word: string;
  start_ms: number;
  end_ms: number;
  /** 0 to 1. */
  confidence: number;
  /** Speaker label, empty when unknown. */
  speaker: string;
}

/**
 * One segment of one channel. Each `partial` replaces the previous one of the
 * same `segment_id`; the `final` is definitive. Segment ids increase per channel.
 */
export interface TranscriptMessage {
  type: 'partial' | 'final';
  segment_id: number;
  channel: number;
  start_ms: number;
  end_ms: number;
  text: string;
  words: Word[];
  speaker: string;
}

export interface SpeechStartedMessage {
  type: 'speech_started';
  channel: number;
  segment_id: number;
  at_ms: number;
}

export interface UtteranceEndMessage {
  type: 'utterance_end';
  channel: number;
  segment_id: number;
  at_ms: number;
}

/** New speaker labels for a segment already sent as `final`. */
export interface SpeakerUpdateMessage {
  type: 'speaker_update';
  channel: number;
  segment_id: number;
  speaker: string;
  /** New label of each word of the segment, in order. */
  word_speakers: string[];
}

export type ErrorCode =
  | 'bad_config'
  | 'bad_message'
  | 'unsupported_encoding'
  | 'bad_audio'
  | 'message_too_large'
  | 'rate_limited'
  | 'overloaded'
  | 'unauthorized'
  | 'idle_timeout'
  | 'session_too_long'
  | 'internal';

export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
  /** True when the server closes the session after this error. */
  fatal: boolean;
}

/** The last message of a session ended by `close` (or by server shutdown). */
export interface ClosedMessage {
  type: 'closed';
  reason: string;
  audio_ms_received: number;
  finals_sent: number;
}

/** The answer to a client `keepalive`. */
export interface KeepAliveAck {
  type: 'keepalive';
}

/**
 * The server messages a resumed session replays and `resume_from` counts: the
 * server numbers them for replay, the client counts what it received.
 */
export const NUMBERED_EVENTS: ReadonlySet<ServerMessage['type']> = new Set(['final', 'speech_started', 'utterance_end', 'speaker_update']);

export type ServerMessage =
  | ReadyMessage
  | TranscriptMessage
  | SpeechStartedMessage
  | UtteranceEndMessage
  | SpeakerUpdateMessage
  | ErrorMessage
  | ClosedMessage
  | KeepAliveAck;
