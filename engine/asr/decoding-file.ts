/**
 * A model folder's own decoding defaults: `decoding.json` beside the model
 * file, e.g. `{ "lmWeight": 0.5 }`. The beam search's weights follow the
 * acoustic model (a weaker one leans on its language models more), so the
 * engine-wide defaults (DEFAULT_BEAM_DECODING, tuned for the offline demo
 * model) are only a starting point; a folder that knows better says so here.
 * Explicit settings (flags, env, engine config) still win over the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const DECODING_FILE = 'decoding.json';

/** The settings a decoding file may give: every number the beam search takes. */
export const DECODING_KEYS = ['beamSize', 'tokenFloorNats', 'scoreWindowNats', 'lmWeight', 'lmTokenBonus', 'wordLmWeight', 'wordBonus', 'oovPenalty'] as const;
export type DecodingKey = (typeof DECODING_KEYS)[number];
export type DecodingDefaults = Partial<Record<DecodingKey, number>>;

/** The decoding defaults in `modelPath`'s folder ({} without a file); a bad file is an error that names the file and the key. */
export function readDecodingFile(modelPath: string): DecodingDefaults {
  const file = path.join(path.dirname(modelPath), DECODING_FILE);
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${file}: must be a JSON object of decoding settings`);
  const defaults: DecodingDefaults = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(DECODING_KEYS as readonly string[]).includes(key)) throw new Error(`${file}: unknown setting "${key}" (known: ${DECODING_KEYS.join(', ')})`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`${file}: "${key}" must be a non-negative number`);
    if (key === 'beamSize' && (!Number.isInteger(value) || value < 1)) throw new Error(`${file}: "beamSize" must be a whole number of at least 1`);
    defaults[key as DecodingKey] = value;
  }
  return defaults;
}
