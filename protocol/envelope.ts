/**
 * The encrypted transcript envelope (format v1), shared by the browser client
 * and the server, all pure: its type, its limits, the transcript id rule,
 * strict base64 (no Buffer, so it runs in browsers), and `parseEnvelope`, the
 * shape check both sides run on anything that claims to be an envelope.
 *
 * The server cannot decrypt, so this check is how it refuses plaintext: an
 * envelope must have exactly the v1 fields with the right sizes, and its
 * ciphertext must not decode to readable text. The cryptography itself (and
 * which envelope fields are authenticated) lives in client/crypto.ts.
 */

export const ENVELOPE_VERSION = 1;
export const KDF_NAME = 'PBKDF2-SHA256';
export const IV_BYTES = 12;
export const SALT_BYTES = 16;
/** AES-GCM appends a 16-byte tag, so even an empty transcript has 16 bytes of ciphertext. */
export const TAG_BYTES = 16;
/** The lowest PBKDF2 count accepted anywhere: the seed product's, still readable so old data decrypts. */
export const MIN_ITERATIONS = 100_000;
/** A ceiling, so a hostile envelope cannot make a client spin on key derivation for minutes. */
export const MAX_ITERATIONS = 10_000_000;

export const TRANSCRIPT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface KdfParams {
  name: typeof KDF_NAME;
  iterations: number;
  /** base64 of SALT_BYTES random bytes, one salt per user */
  salt: string;
}

export interface EncryptedEnvelope {
  v: typeof ENVELOPE_VERSION;
  kdf: KdfParams;
  /** base64 of the IV_BYTES-byte AES-GCM nonce, fresh for every encryption */
  iv: string;
  /** base64 of the AES-GCM output: ciphertext followed by the 16-byte tag */
  ciphertext: string;
  transcript_id: string;
  /** the writer's edit counter for this transcript, a non-negative integer */
  transcript_version: number;
}

/** Something is not a valid v1 envelope; `message` says what, for people. */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

export function isValidTranscriptId(id: unknown): id is string {
  return typeof id === 'string' && TRANSCRIPT_ID_PATTERN.test(id);
}

export function isValidTranscriptVersion(version: unknown): version is number {
  return typeof version === 'number' && Number.isSafeInteger(version) && version >= 0;
}

const ENVELOPE_KEYS = ['v', 'kdf', 'iv', 'ciphertext', 'transcript_id', 'transcript_version'];
const KDF_KEYS = ['name', 'iterations', 'salt'];
/**
 * Below this many bytes random ciphertext looks like text too often to judge
 * (about 1e-16 of random 48-byte strings pass `looksLikeText`).
 */
const TEXT_CHECK_MIN_BYTES = 48;

/** Checks that `json` (already JSON-parsed) is a well-formed v1 envelope and returns it, typed. */
export function parseEnvelope(json: unknown): EncryptedEnvelope {
  const env = expectObject(json, 'envelope', ENVELOPE_KEYS);
  if (env.v !== ENVELOPE_VERSION) {
    throw new EnvelopeError(`unsupported envelope version ${JSON.stringify(env.v)}: this build reads v${ENVELOPE_VERSION}`);
  }
  const kdf = expectObject(env.kdf, 'envelope.kdf', KDF_KEYS);
  if (kdf.name !== KDF_NAME) {
    throw new EnvelopeError(`envelope.kdf.name must be "${KDF_NAME}", got ${JSON.stringify(kdf.name)}`);
  }
  const iterations = kdf.iterations;
  if (typeof iterations !== 'number' || !Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new EnvelopeError(`envelope.kdf.iterations must be an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}, got ${JSON.stringify(iterations)}`);
  }
  const salt = expectBase64(kdf.salt, 'envelope.kdf.salt');
  if (salt.length !== SALT_BYTES) throw new EnvelopeError(`envelope.kdf.salt must be ${SALT_BYTES} bytes, got ${salt.length}`);
  const iv = expectBase64(env.iv, 'envelope.iv');
  if (iv.length !== IV_BYTES) throw new EnvelopeError(`envelope.iv must be ${IV_BYTES} bytes, got ${iv.length}`);
  const ciphertext = expectBase64(env.ciphertext, 'envelope.ciphertext');
  if (ciphertext.length < TAG_BYTES) {
    throw new EnvelopeError(`envelope.ciphertext must be at least ${TAG_BYTES} bytes (the GCM tag), got ${ciphertext.length}`);
  }
  if (ciphertext.length >= TEXT_CHECK_MIN_BYTES && looksLikeText(ciphertext)) {
    throw new EnvelopeError('envelope.ciphertext decodes to readable text: refusing what looks like an unencrypted transcript');
  }
  if (!isValidTranscriptId(env.transcript_id)) {
    throw new EnvelopeError(`envelope.transcript_id must match ${TRANSCRIPT_ID_PATTERN.source}, got ${JSON.stringify(env.transcript_id)}`);
  }
  if (!isValidTranscriptVersion(env.transcript_version)) {
    throw new EnvelopeError(`envelope.transcript_version must be a non-negative safe integer, got ${JSON.stringify(env.transcript_version)}`);
  }
  return {
    v: ENVELOPE_VERSION,
    kdf: { name: KDF_NAME, iterations, salt: kdf.salt as string },
    iv: env.iv as string,
    ciphertext: env.ciphertext as string,
    transcript_id: env.transcript_id,
    transcript_version: env.transcript_version,
  };
}

/** A plain object with exactly `keys`: a missing field or an extra one (say a stray `text`) is an error. */
function expectObject(value: unknown, what: string, keys: string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EnvelopeError(`${what} must be a JSON object`);
  }
  const record = value as Record<string, unknown>;
  const extra = Object.keys(record).filter((k) => !keys.includes(k));
  if (extra.length > 0) throw new EnvelopeError(`${what} has unknown field(s): ${extra.join(', ')}`);
  const missing = keys.filter((k) => !Object.hasOwn(record, k));
  if (missing.length > 0) throw new EnvelopeError(`${what} is missing field(s): ${missing.join(', ')}`);
  return record;
}

function expectBase64(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string') throw new EnvelopeError(`${what} must be a base64 string`);
  try {
    return base64ToBytes(value);
  } catch (err) {
    throw new EnvelopeError(`${what} is not valid base64: ${(err as Error).message}`);
  }
}

/**
 * True when `bytes` read as UTF-8 text: only printable characters, tabs and
 * line breaks, and well-formed multi-byte sequences. AES-GCM output is
 * uniformly random, so a long run of it passing this is practically
 * impossible; a client that forgot to encrypt and base64'd the text passes it.
 */
function looksLikeText(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let continuation: number;
    if ((b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d) continuation = 0;
    else if (b >= 0xc2 && b <= 0xdf) continuation = 1;
    else if (b >= 0xe0 && b <= 0xef) continuation = 2;
    else if (b >= 0xf0 && b <= 0xf4) continuation = 3;
    else return false;
    for (let k = 1; k <= continuation; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return false;
    }
    i += 1 + continuation;
  }
  return true;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUES = new Map([...BASE64_ALPHABET].map((ch, i) => [ch.charCodeAt(0), i]));

/** Standard base64 with padding (RFC 4648 section 4). */
export function bytesToBase64(bytes: Uint8Array): string {
  // btoa (browsers and Node) wants a string of one char per byte; a chunk of a
  // multiple of 3 bytes encodes without padding, so the pieces join cleanly.
  const chunkBytes = 3 * 8192;
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += chunkBytes) {
    // apply takes any array-like: the typed array goes in without copying it into an Array first.
    parts.push(btoa(String.fromCharCode.apply(null, bytes.subarray(i, i + chunkBytes) as unknown as number[])));
  }
  return parts.join('');
}

/**
 * Strict inverse of `bytesToBase64`: no whitespace, no URL-safe letters,
 * padding required, unused bits zero. Strict so each byte string has exactly
 * one accepted spelling, and junk is an error rather than silently skipped.
 */
export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  if (text.length % 4 !== 0) throw new Error(`length ${text.length} is not a multiple of 4`);
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    let n = 0;
    for (let k = 0; k < 4; k++) {
      const pos = i + k;
      const isPad = last && pos >= text.length - padding;
      const value = isPad ? 0 : BASE64_VALUES.get(text.charCodeAt(pos));
      if (value === undefined) throw new Error(`unexpected character ${JSON.stringify(text[pos])} at ${pos}`);
      n = (n << 6) | value;
    }
    out[o++] = (n >> 16) & 0xff;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
    if (last && padding > 0 && (n & (padding === 2 ? 0xffff : 0xff)) !== 0) {
      throw new Error('non-zero bits after the last byte');
    }
  }
  return out;
}
