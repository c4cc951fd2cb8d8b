/**
 * Transcript encryption in the client, so the server only ever holds
 * ciphertext. Web Crypto only (`globalThis.crypto.subtle`), so this exact code
 * runs in browsers and in Node 20.
 *
 * - Key: PBKDF2-HMAC-SHA256 over the password (Unicode NFC) with a random
 *   16-byte per-user salt, 600,000 iterations (OWASP's current figure),
 *   giving a non-extractable AES-256-GCM CryptoKey. Derive it once per
 *   session: the derivation is deliberately slow.
 * - Each encryption: AES-256-GCM with a fresh random 12-byte IV. Every
 *   envelope field besides the IV and ciphertext (format version, KDF
 *   parameters, transcript id and version) is bound in as additional
 *   authenticated data, so a blob moved to another transcript, or relabelled
 *   with another version, fails to decrypt.
 * - Old data written with fewer iterations (down to the seed product's
 *   100,000) still decrypts; nothing new is written with fewer than 600,000.
 */
import {
  base64ToBytes,
  bytesToBase64,
  ENVELOPE_VERSION,
  isValidTranscriptId,
  isValidTranscriptVersion,
  IV_BYTES,
  KDF_NAME,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  parseEnvelope,
  SALT_BYTES,
  type EncryptedEnvelope,
  type KdfParams,
} from '../protocol/envelope.js';

export const DEFAULT_ITERATIONS = 600_000;
/** Encryption refuses keys weaker than this; decryption accepts down to MIN_ITERATIONS. */
export const MIN_ENCRYPT_ITERATIONS = DEFAULT_ITERATIONS;

/** A derived key and the parameters it came from (they go into every envelope it writes). */
export interface TranscriptKey {
  readonly cryptoKey: CryptoKey;
  readonly kdf: Readonly<KdfParams>;
}

export interface DecryptedTranscript {
  transcriptId: string;
  version: number;
  text: string;
}

export type TranscriptCryptoErrorCode =
  | 'bad_input' // a password, salt, id, version or iteration count we will not use
  | 'weak_key' // encrypting with a key derived with too few iterations
  | 'kdf_mismatch' // the envelope was written under another salt or iteration count: derive that key
  | 'wrong_transcript' // the envelope belongs to another transcript
  | 'decrypt_failed'; // wrong password, or the envelope was tampered with (GCM cannot tell which)

export class TranscriptCryptoError extends Error {
  override readonly name = 'TranscriptCryptoError';

  constructor(
    readonly code: TranscriptCryptoErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A fresh random per-user salt; store it (it is not secret) and derive with it on every login. */
export function newSalt(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(SALT_BYTES));
}

/** Derives the session's transcript key. Slow by design (about 0.1-1 s at 600,000 iterations). */
export async function deriveKey(password: string, salt: Uint8Array, iterations: number = DEFAULT_ITERATIONS): Promise<TranscriptKey> {
  if (password.length === 0) throw new TranscriptCryptoError('bad_input', 'the password is empty');
  if (salt.length !== SALT_BYTES) throw new TranscriptCryptoError('bad_input', `the salt must be ${SALT_BYTES} bytes, got ${salt.length}`);
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new TranscriptCryptoError('bad_input', `iterations must be an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}, got ${iterations}`);
  }
  const subtle = globalThis.crypto.subtle;
  // A copy: Web Crypto's types want an ArrayBuffer-backed view, and the caller's array stays theirs.
  const saltBytes = Uint8Array.from(salt);
  // NFC so the same password typed on systems that compose accents differently gives the same key.
  const passwordKey = await subtle.importKey('raw', new TextEncoder().encode(password.normalize('NFC')), 'PBKDF2', false, ['deriveKey']);
  const cryptoKey = await subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: saltBytes, iterations },
    passwordKey,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
  return { cryptoKey, kdf: Object.freeze({ name: KDF_NAME, iterations, salt: bytesToBase64(saltBytes) }) };
}

/** Encrypts one version of a transcript into an envelope (JSON-serialisable as is). */
export async function encryptTranscript(key: TranscriptKey, transcriptId: string, version: number, plaintext: string): Promise<EncryptedEnvelope> {
  if (key.kdf.iterations < MIN_ENCRYPT_ITERATIONS) {
    throw new TranscriptCryptoError(
      'weak_key',
      `refusing to encrypt with a key derived with ${key.kdf.iterations} iterations; new data needs at least ${MIN_ENCRYPT_ITERATIONS}`,
    );
  }
  if (!isValidTranscriptId(transcriptId)) throw new TranscriptCryptoError('bad_input', `invalid transcript id ${JSON.stringify(transcriptId)}`);
  if (!isValidTranscriptVersion(version)) throw new TranscriptCryptoError('bad_input', `invalid transcript version ${version}`);
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const header = { v: ENVELOPE_VERSION, kdf: { ...key.kdf }, transcript_id: transcriptId, transcript_version: version } as const;
  const sealed = await globalThis.crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: associatedData(header) },
    key.cryptoKey,
    new TextEncoder().encode(plaintext),
  );
  return { ...header, iv: bytesToBase64(iv), ciphertext: bytesToBase64(new Uint8Array(sealed)) };
}

/**
 * Checks and decrypts an envelope (as parsed from JSON: it is validated here)
 * that should hold transcript `expectedTranscriptId`. The key must come from
 * the envelope's own salt and iteration count; on 'kdf_mismatch', derive one
 * from `envelope.kdf` (old data) and retry.
 */
export async function decryptTranscript(key: TranscriptKey, envelope: unknown, expectedTranscriptId: string): Promise<DecryptedTranscript> {
  const env = parseEnvelope(envelope);
  if (env.transcript_id !== expectedTranscriptId) {
    throw new TranscriptCryptoError('wrong_transcript', `the envelope holds transcript ${env.transcript_id}, not ${expectedTranscriptId}`);
  }
  if (env.kdf.salt !== key.kdf.salt || env.kdf.iterations !== key.kdf.iterations) {
    throw new TranscriptCryptoError(
      'kdf_mismatch',
      `the envelope was encrypted under another key (${env.kdf.iterations} iterations, salt ${env.kdf.salt}); derive that key to read it`,
    );
  }
  let plain: ArrayBuffer;
  try {
    plain = await globalThis.crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: base64ToBytes(env.iv), additionalData: associatedData(env) },
      key.cryptoKey,
      base64ToBytes(env.ciphertext),
    );
  } catch {
    throw new TranscriptCryptoError('decrypt_failed', 'cannot decrypt the transcript: wrong password, or the data was altered');
  }
  // Authenticated bytes that are not UTF-8 would mean a bug on the writing side, not an attack: fail loudly.
  const text = new TextDecoder('utf-8', { fatal: true }).decode(plain);
  return { transcriptId: env.transcript_id, version: env.transcript_version, text };
}

/**
 * The AAD: a JSON array of every envelope field except the IV and ciphertext,
 * in a fixed order under a fixed label. A JSON array of strings and integers
 * has one spelling, and cannot be confused with any other field list.
 */
function associatedData(header: Pick<EncryptedEnvelope, 'v' | 'kdf' | 'transcript_id' | 'transcript_version'>): Uint8Array<ArrayBuffer> {
  const fields = [
    'live-transcribe/transcript',
    header.v,
    header.kdf.name,
    header.kdf.iterations,
    header.kdf.salt,
    header.transcript_id,
    header.transcript_version,
  ];
  return new TextEncoder().encode(JSON.stringify(fields));
}
