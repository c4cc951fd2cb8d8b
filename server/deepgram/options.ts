/**
 * The query of a Deepgram listen v1 WebSocket, pure: the subset this server
 * honours, turned into our session config plus the few Deepgram switches the
 * message mapping needs (wire.ts). Values come as Deepgram sends them
 * (booleans as `true` / `false`). A parameter this server cannot honour is
 * refused with a message naming it, rather than silently ignored; options
 * that only change nothing when off are accepted when off.
 */
import type { AudioEncoding, SessionConfig } from '../../protocol/messages.js';
import { show } from '../../protocol/protocol-error.js';
import { configValueProblem, DEFAULT_SESSION_CONFIG } from '../../protocol/session-config.js';

/** Deepgram switches that shape the messages rather than the transcription. */
export interface DeepgramOptions {
  /** `vad_events=true`: SpeechStarted messages. */
  vadEvents: boolean;
  /** `utterance_end_ms` given: UtteranceEnd messages, sent when an utterance ends on silence. */
  utteranceEnd: boolean;
  /** False with `endpointing=false`: no result is `speech_final`. */
  speechFinal: boolean;
  /** `punctuate` or `smart_format`: transcripts and `punctuated_word` as the model writes them (cased, punctuated if it can). */
  punctuate: boolean;
  /** `diarize=true`: words carry `speaker`. */
  diarize: boolean;
  /** No `encoding`: the audio is a container (Ogg or WebM Opus) its first bytes name. */
  sniffContainer: boolean;
}

/** A query this server refuses; the message is for the client. */
export class DeepgramQueryError extends Error {
  override readonly name = 'DeepgramQueryError';
}

const ENCODINGS: Record<string, AudioEncoding> = { linear16: 'pcm_s16le', mulaw: 'mulaw', alaw: 'alaw', opus: 'opus', 'ogg-opus': 'ogg_opus' };

// Accepted and without effect here: tag (Deepgram's usage reports), mip_opt_out (this
// server keeps no audio), no_delay (smart_format's delay).
const IGNORED = new Set(['tag', 'mip_opt_out', 'no_delay']);
// Accepted off, refused on: this server cannot do them.
const OFF_ONLY = new Set(['filler_words', 'numerals', 'profanity_filter', 'dictation', 'measurements', 'detect_entities', 'redact']);
const HANDLED = ['model', 'language', 'encoding', 'sample_rate', 'channels', 'multichannel', 'interim_results', 'endpointing', 'utterance_end_ms', 'vad_events', 'punctuate', 'smart_format', 'diarize', 'version', 'keyterm'];

export function parseDeepgramQuery(query: string, requestId: string): { config: SessionConfig; options: DeepgramOptions } {
  const params = new URLSearchParams(query);
  for (const key of new Set(params.keys())) {
    if (HANDLED.includes(key) || IGNORED.has(key)) continue;
    if (OFF_ONLY.has(key)) {
      if (params.getAll(key).every((v) => v === 'false')) continue;
      throw new DeepgramQueryError(`${key}=${params.get(key)} is not supported by this server (only ${key}=false)`);
    }
    throw new DeepgramQueryError(`query parameter ${show(key)} is not supported by this server; supported: ${[...HANDLED, ...IGNORED].join(', ')}, and ${[...OFF_ONLY].join(', ')} when false`);
  }
  const one = (key: string): string | null => {
    const values = params.getAll(key);
    if (values.length > 1) throw new DeepgramQueryError(`${key} is given more than once`);
    return values[0] ?? null;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = one(key);
    if (v === null) return fallback;
    if (v !== 'true' && v !== 'false') throw new DeepgramQueryError(`${key} must be true or false (got ${show(v)})`);
    return v === 'true';
  };
  const int = (key: string): number | null => {
    const v = one(key);
    if (v === null) return null;
    if (!/^[0-9]{1,9}$/.test(v)) throw new DeepgramQueryError(`${key} must be a whole number (got ${show(v)})`);
    return Number(v);
  };

  const version = one('version');
  if (version !== null && version !== 'latest') throw new DeepgramQueryError(`version ${show(version)} is not available; only latest`);

  const config: SessionConfig = {
    ...DEFAULT_SESSION_CONFIG,
    model: one('model') ?? '',
    language: one('language') ?? DEFAULT_SESSION_CONFIG.language,
    channels: int('channels') ?? 1,
    multichannel: bool('multichannel', false),
    // Deepgram's default: finals only.
    interim_results: bool('interim_results', false),
    diarize: bool('diarize', false),
    session_id: requestId,
    // Repeated, as on Deepgram; the boost is this server's default.
    keyterms: params.getAll('keyterm'),
  };

  const encodingName = one('encoding');
  const sampleRate = int('sample_rate');
  if (encodingName !== null) {
    const encoding = ENCODINGS[encodingName];
    if (!encoding) throw new DeepgramQueryError(`encoding ${show(encodingName)} is not supported by this server; supported: ${Object.keys(ENCODINGS).join(', ')}, or none for Ogg or WebM Opus`);
    config.encoding = encoding;
    const raw = encoding === 'pcm_s16le' || encoding === 'mulaw' || encoding === 'alaw';
    if (raw && sampleRate === null) throw new DeepgramQueryError(`sample_rate is required with encoding=${encodingName}`);
  }
  if (sampleRate !== null) config.sample_rate = sampleRate;

  // Deepgram's default endpointing (10 ms) would cut at every gap between words of a
  // VAD-segmented stream: absent, the server's own default applies.
  const endpointing = one('endpointing');
  if (endpointing !== null && endpointing !== 'false' && endpointing !== 'true') {
    if (!/^[0-9]{1,9}$/.test(endpointing)) throw new DeepgramQueryError(`endpointing must be a number of milliseconds or false (got ${show(endpointing)})`);
    config.endpointing_ms = Number(endpointing);
  }

  const utteranceEndMs = int('utterance_end_ms');
  if (utteranceEndMs !== null && utteranceEndMs < 1000) throw new DeepgramQueryError(`utterance_end_ms must be at least 1000 (got ${utteranceEndMs})`);

  for (const key of ['sample_rate', 'channels', 'endpointing_ms', 'language', 'model', 'keyterms'] as const) {
    const problem = configValueProblem(key, config[key]);
    if (problem) throw new DeepgramQueryError(problem.replace('endpointing_ms', 'endpointing'));
  }

  const options: DeepgramOptions = {
    vadEvents: bool('vad_events', false),
    utteranceEnd: utteranceEndMs !== null,
    speechFinal: endpointing !== 'false',
    punctuate: bool('punctuate', false) || bool('smart_format', false),
    diarize: config.diarize,
    sniffContainer: encodingName === null,
  };
  return { config, options };
}
