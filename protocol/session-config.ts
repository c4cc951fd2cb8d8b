/**
 * Session config rules, pure: the default config, each field's allowed
 * values (the encodings, sample rates and channel counts a client may
 * declare live here and nowhere else in the protocol), and validation of a
 * partial config (a `config` message, the URL query) or a full one (the
 * config echoed in `ready`). Unknown fields are errors so typos do not pass
 * unnoticed.
 */
import type { AudioEncoding, SessionConfig } from './messages.js';
import { isObject, ProtocolError, show } from './protocol-error.js';

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
  keyterms: [],
  // The engine's DEFAULT_KEYTERM_BOOST_NATS (why that value: engine/asr/context-graph.ts); tests keep them equal.
  keyterm_boost: 2,
  // Not set: no hint. Present as keys so that every config field is listed here.
  min_speakers: undefined,
  max_speakers: undefined,
});

// A record, so the compiler insists on every member of the union.
const ENCODING_SET: Record<AudioEncoding, true> = {
  pcm_s16le: true,
  pcm_f32le: true,
  mulaw: true,
  alaw: true,
  opus: true,
  ogg_opus: true,
  webm_opus: true,
};

export const AUDIO_ENCODINGS: readonly AudioEncoding[] = Object.keys(ENCODING_SET) as AudioEncoding[];

export type ConfigRule =
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'bool' }
  | { kind: 'string'; maxLength: number }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'strings'; maxItems: number; maxLength: number };

export const CONFIG_RULES: Record<keyof SessionConfig, ConfigRule> = {
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
  // Deepgram's limits for its keyterm prompting.
  keyterms: { kind: 'strings', maxItems: 100, maxLength: 50 },
  keyterm_boost: { kind: 'number', min: 0, max: 10 },
  // Diarization hints, optional: absent means no hint (AssemblyAI's min/max_speakers_expected).
  min_speakers: { kind: 'int', min: 1, max: 32 },
  max_speakers: { kind: 'int', min: 1, max: 32 },
};
export const CONFIG_KEYS = Object.keys(CONFIG_RULES) as (keyof SessionConfig)[];

/** Fields a full config (the one in `ready`) may leave out: absent means not set. */
export const OPTIONAL_CONFIG_KEYS: ReadonlySet<keyof SessionConfig> = new Set(['min_speakers', 'max_speakers']);

/** Checks between fields of a config: min_speakers must not exceed max_speakers. */
function configProblem(config: Partial<SessionConfig>): string | undefined {
  if (config.min_speakers !== undefined && config.max_speakers !== undefined && config.min_speakers > config.max_speakers) {
    return `min_speakers (${config.min_speakers}) must not exceed max_speakers (${config.max_speakers})`;
  }
  return undefined;
}

export function isConfigKey(key: string): key is keyof SessionConfig {
  return Object.hasOwn(CONFIG_RULES, key);
}

/** What is wrong with `value` as config field `key`, or undefined when it is fine. */
export function configValueProblem(key: keyof SessionConfig, value: unknown): string | undefined {
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
    case 'number':
      if (typeof value === 'number' && value >= rule.min && value <= rule.max) return undefined;
      return `${key} must be a number from ${rule.min} to ${rule.max} (got ${show(value)})`;
    case 'strings': {
      if (!Array.isArray(value) || value.length > rule.maxItems) return `${key} must be a list of at most ${rule.maxItems} strings (got ${Array.isArray(value) ? `${value.length} items` : show(value)})`;
      const bad = value.find((s) => typeof s !== 'string' || s.trim() === '' || s.length > rule.maxLength);
      if (bad === undefined) return undefined;
      return `each of ${key} must be a non-empty string of at most ${rule.maxLength} characters (got ${show(bad)})`;
    }
  }
}

/** Validates a partial config; unknown fields are errors so typos do not pass unnoticed. */
export function checkConfigPatch(input: unknown): Partial<SessionConfig> {
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
  const config = { ...defaults, ...checkConfigPatch(input) };
  const problem = configProblem(config);
  if (problem !== undefined) throw new ProtocolError('bad_config', problem);
  return config;
}

/** The config in `ready`: every field present and valid. */
export function checkFullConfig(value: unknown, path: string): SessionConfig {
  if (!isObject(value)) throw new ProtocolError('bad_message', `${path} must be an object (got ${show(value)})`);
  const config: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    if (OPTIONAL_CONFIG_KEYS.has(key) && (!Object.hasOwn(value, key) || value[key] === undefined)) continue;
    if (!Object.hasOwn(value, key)) throw new ProtocolError('bad_message', `${path}.${key} is missing`);
    const problem = configValueProblem(key, value[key]);
    if (problem !== undefined) throw new ProtocolError('bad_message', `${path}.${problem}`);
    config[key] = value[key];
  }
  const problem = configProblem(config as Partial<SessionConfig>);
  if (problem !== undefined) throw new ProtocolError('bad_message', `${path}: ${problem}`);
  return config as unknown as SessionConfig;
}
