/**
 * The `/v1/listen` URL query, pure: session settings given as query
 * parameters (validated like a `config` message), the wire format, and where
 * a resumed session's replay starts.
 */
import type { SessionConfig, WireFormat } from './messages.js';
import { ProtocolError, show } from './protocol-error.js';
import { checkConfigPatch, CONFIG_KEYS, CONFIG_RULES, isConfigKey } from './session-config.js';

// Query parameters that are not session settings: the wire format, a
// credential for servers that require one (browsers cannot set headers), and
// where a resumed session's replay starts.
const NON_CONFIG_QUERY_KEYS = new Set(['format', 'token', 'resume_from']);

/** The one query parameter that may repeat: each is a keyterm. */
const KEYTERM_QUERY_KEY = 'keyterm';

/** Query parameters as entries; a parameter given twice is an error (but `keyterm`), since which one wins would be a guess. */
function queryEntries(query: string): [string, string][] {
  const entries = [...new URLSearchParams(query)];
  const seen = new Set<string>();
  for (const [key] of entries) {
    if (seen.has(key) && key !== KEYTERM_QUERY_KEY) throw new ProtocolError('bad_config', `query parameter ${show(key)} is given more than once`);
    seen.add(key);
  }
  return entries;
}

/** Text to the value its config field wants; text that does not parse stays text and fails validation. */
function parseQueryValue(key: keyof SessionConfig, text: string): unknown {
  const rule = CONFIG_RULES[key];
  if (rule.kind === 'int') return /^[0-9]{1,9}$/.test(text) ? Number(text) : text;
  if (rule.kind === 'strings') return parseJsonList(text);
  if (rule.kind === 'bool') return text === 'true' ? true : text === 'false' ? false : text;
  if (rule.kind === 'number') return /^[0-9]{1,3}(\.[0-9]{1,6})?$/.test(text) ? Number(text) : text;
  return text;
}

/** A JSON list in a query value; other text stays text and fails validation. */
function parseJsonList(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : text;
  } catch {
    return text;
  }
}

/**
 * The session settings in a raw URL query string (`a=1&b=2`, a leading `?`
 * is fine): numbers as decimals, booleans as `true` / `false`, keyterms
 * as a repeated `keyterm` (or a JSON list in `keyterms`). Validated like a
 * `config` message; `format` and `token` are skipped.
 */
export function configFromQuery(query: string): Partial<SessionConfig> {
  const patch: Record<string, unknown> = {};
  const entries = queryEntries(query);
  const keyterms = entries.filter(([key]) => key === KEYTERM_QUERY_KEY).map(([, text]) => text);
  if (keyterms.length > 0) {
    if (entries.some(([key]) => key === 'keyterms')) throw new ProtocolError('bad_config', 'give keyterms either as keyterm parameters or as keyterms, not both');
    patch.keyterms = keyterms;
  }
  for (const [key, text] of entries) {
    if (NON_CONFIG_QUERY_KEYS.has(key) || key === KEYTERM_QUERY_KEY) continue;
    if (!isConfigKey(key)) {
      throw new ProtocolError(
        'bad_config',
        `unknown query parameter ${show(key)} (known: ${[...CONFIG_KEYS, KEYTERM_QUERY_KEY, ...NON_CONFIG_QUERY_KEYS].join(', ')})`,
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
