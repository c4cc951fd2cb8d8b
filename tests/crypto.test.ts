/**
 * Client-side transcript encryption (client/crypto.ts): round trips, every
 * way a wrong key or an altered envelope must fail, the KDF policy (600,000
 * iterations to write, down to 100,000 to read), IV freshness over 100,000
 * encryptions, published known-answer vectors for the two primitives, and a
 * check that the construction is exactly the documented one (an independent
 * decryption, and a pinned envelope made with node:crypto).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decryptTranscript,
  DEFAULT_ITERATIONS,
  deriveKey,
  encryptTranscript,
  MIN_ENCRYPT_ITERATIONS,
  newSalt,
  TranscriptCryptoError,
  type TranscriptCryptoErrorCode,
  type TranscriptKey,
} from '../client/crypto.js';
import { base64ToBytes, bytesToBase64, EnvelopeError, parseEnvelope, type EncryptedEnvelope } from '../protocol/envelope.js';

const subtle = globalThis.crypto.subtle;
const PASSWORD = 'correct horse battery staple';

function hex(text: string): Uint8Array<ArrayBuffer> {
  const clean = text.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');
}

/** Flips one bit of a base64 field's bytes. */
function flipBit(b64: string, byteIndex: number): string {
  const bytes = base64ToBytes(b64);
  bytes[byteIndex] ^= 0x01;
  return bytesToBase64(bytes);
}

async function expectCryptoError(promise: Promise<unknown>, code: TranscriptCryptoErrorCode): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TranscriptCryptoError);
  expect((err as TranscriptCryptoError).code).toBe(code);
}

let salt: Uint8Array;
let key: TranscriptKey;

beforeAll(async () => {
  salt = newSalt();
  key = await deriveKey(PASSWORD, salt);
});

describe('key derivation', () => {
  it('defaults to 600,000 iterations (OWASP) and a non-extractable AES-256-GCM key', () => {
    expect(DEFAULT_ITERATIONS).toBe(600_000);
    expect(MIN_ENCRYPT_ITERATIONS).toBe(600_000);
    expect(key.kdf).toEqual({ name: 'PBKDF2-SHA256', iterations: 600_000, salt: bytesToBase64(salt) });
    expect(key.cryptoKey.extractable).toBe(false);
    expect(key.cryptoKey.algorithm).toMatchObject({ name: 'AES-GCM', length: 256 });
    expect([...key.cryptoKey.usages].sort()).toEqual(['decrypt', 'encrypt']);
  });

  it('makes a fresh 16-byte salt each time', () => {
    const a = newSalt();
    const b = newSalt();
    expect(a.length).toBe(16);
    expect(toHex(a)).not.toBe(toHex(b));
  });

  it('refuses bad inputs: empty password, wrong salt size, iterations out of range', async () => {
    await expectCryptoError(deriveKey('', salt), 'bad_input');
    await expectCryptoError(deriveKey(PASSWORD, new Uint8Array(15)), 'bad_input');
    await expectCryptoError(deriveKey(PASSWORD, new Uint8Array(17)), 'bad_input');
    await expectCryptoError(deriveKey(PASSWORD, salt, 99_999), 'bad_input');
    await expectCryptoError(deriveKey(PASSWORD, salt, 10_000_001), 'bad_input');
    await expectCryptoError(deriveKey(PASSWORD, salt, 600_000.5), 'bad_input');
  });
});

describe('encrypt and decrypt', () => {
  it('round-trips text, including empty, non-ASCII and large transcripts', async () => {
    for (const text of ['', 'hello', 'Grüße — 你好 — 🎙️ mic check\n\tnext line', 'word '.repeat(200_000)]) {
      const env = await encryptTranscript(key, 'meeting-42', 3, text);
      // What the server stores is JSON: go through it.
      const stored = JSON.parse(JSON.stringify(env)) as unknown;
      expect(await decryptTranscript(key, stored, 'meeting-42')).toEqual({ transcriptId: 'meeting-42', version: 3, text });
    }
  });

  it('writes a well-formed v1 envelope with a 12-byte IV and a 16-byte tag', async () => {
    const text = 'the quick brown fox';
    const env = await encryptTranscript(key, 'abc_DEF-1', 0, text);
    expect(parseEnvelope(env)).toEqual(env);
    expect(env).toMatchObject({ v: 1, kdf: key.kdf, transcript_id: 'abc_DEF-1', transcript_version: 0 });
    expect(base64ToBytes(env.iv).length).toBe(12);
    expect(base64ToBytes(env.ciphertext).length).toBe(new TextEncoder().encode(text).length + 16);
  });

  it('encrypts the same text differently each time', async () => {
    const a = await encryptTranscript(key, 't', 1, 'same text');
    const b = await encryptTranscript(key, 't', 1, 'same text');
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it('refuses bad transcript ids and versions', async () => {
    await expectCryptoError(encryptTranscript(key, 'a/b', 1, 'x'), 'bad_input');
    await expectCryptoError(encryptTranscript(key, '', 1, 'x'), 'bad_input');
    await expectCryptoError(encryptTranscript(key, 'ok', -1, 'x'), 'bad_input');
    await expectCryptoError(encryptTranscript(key, 'ok', 1.5, 'x'), 'bad_input');
  });

  it('fails with the wrong password', async () => {
    const env = await encryptTranscript(key, 'notes', 1, 'secret words');
    const wrong = await deriveKey('correct horse battery stapler', salt);
    await expectCryptoError(decryptTranscript(wrong, env, 'notes'), 'decrypt_failed');
  });

  it('says so when the envelope needs a key from another salt or iteration count', async () => {
    const env = await encryptTranscript(key, 'notes', 1, 'secret words');
    const otherSalt = await deriveKey(PASSWORD, newSalt());
    await expectCryptoError(decryptTranscript(otherSalt, env, 'notes'), 'kdf_mismatch');
    // Relabelling the envelope's KDF parameters only sends the reader to a key that cannot open it.
    await expectCryptoError(decryptTranscript(key, { ...env, kdf: { ...env.kdf, iterations: 700_000 } }, 'notes'), 'kdf_mismatch');
  });

  it('detects tampering with the ciphertext, the tag or the IV', async () => {
    const env = await encryptTranscript(key, 'notes', 1, 'secret words, long enough to span a block');
    const tagStart = base64ToBytes(env.ciphertext).length - 16;
    await expectCryptoError(decryptTranscript(key, { ...env, ciphertext: flipBit(env.ciphertext, 0) }, 'notes'), 'decrypt_failed');
    await expectCryptoError(decryptTranscript(key, { ...env, ciphertext: flipBit(env.ciphertext, tagStart - 1) }, 'notes'), 'decrypt_failed');
    await expectCryptoError(decryptTranscript(key, { ...env, ciphertext: flipBit(env.ciphertext, tagStart) }, 'notes'), 'decrypt_failed');
    await expectCryptoError(decryptTranscript(key, { ...env, iv: flipBit(env.iv, 11) }, 'notes'), 'decrypt_failed');
    // Untouched, it still opens: the failures above are the tampering.
    expect((await decryptTranscript(key, env, 'notes')).text).toBe('secret words, long enough to span a block');
  });

  it('binds the transcript id and version: a blob cannot move to another transcript or version', async () => {
    const env = await encryptTranscript(key, 'transcript-a', 5, 'belongs to A, version 5');
    // Served as transcript B without relabelling: refused before decryption.
    await expectCryptoError(decryptTranscript(key, env, 'transcript-b'), 'wrong_transcript');
    // Relabelled as B (or as another version of A): the AAD no longer matches.
    await expectCryptoError(decryptTranscript(key, { ...env, transcript_id: 'transcript-b' }, 'transcript-b'), 'decrypt_failed');
    await expectCryptoError(decryptTranscript(key, { ...env, transcript_version: 6 }, 'transcript-a'), 'decrypt_failed');
    await expectCryptoError(decryptTranscript(key, { ...env, transcript_version: 4 }, 'transcript-a'), 'decrypt_failed');
  });

  it('refuses malformed envelopes with the envelope error', async () => {
    const env = await encryptTranscript(key, 'notes', 1, 'x');
    await expect(decryptTranscript(key, { ...env, v: 2 }, 'notes')).rejects.toBeInstanceOf(EnvelopeError);
    await expect(decryptTranscript(key, { ...env, text: 'x' }, 'notes')).rejects.toBeInstanceOf(EnvelopeError);
  });
});

describe('iteration policy', () => {
  // Made with node:crypto from the documented construction (not with client/crypto.ts):
  // PBKDF2-HMAC-SHA256(NFC password, salt 00..0f, 100,000) -> AES-256-GCM, IV a0..ab,
  // AAD = the JSON array in `documented AAD` below. Old-style data: 100,000 iterations.
  const PINNED_PASSWORD = 'Grüße, Zoë';
  const PINNED: EncryptedEnvelope = {
    v: 1,
    kdf: { name: 'PBKDF2-SHA256', iterations: 100_000, salt: 'AAECAwQFBgcICQoLDA0ODw==' },
    iv: 'oKGio6Slpqeoqaqr',
    ciphertext: '8nvWgVF0F8+Ua86Gc87BXafSilMtNz5M4Bezpe7MTF91E0Pfc1+2EL2TmJDs8O/aGX0imIbe',
    transcript_id: 'golden-1',
    transcript_version: 7,
  };

  it('decrypts data written with 100,000 iterations, but will not encrypt with such a key', async () => {
    const oldKey = await deriveKey(PINNED_PASSWORD, base64ToBytes(PINNED.kdf.salt), 100_000);
    expect(await decryptTranscript(oldKey, PINNED, 'golden-1')).toEqual({
      transcriptId: 'golden-1',
      version: 7,
      text: 'Hello from the seed product — 你好',
    });
    await expectCryptoError(encryptTranscript(oldKey, 'golden-1', 8, 'new data'), 'weak_key');
    const almost = await deriveKey(PINNED_PASSWORD, base64ToBytes(PINNED.kdf.salt), 599_999);
    await expectCryptoError(encryptTranscript(almost, 'golden-1', 8, 'new data'), 'weak_key');
  });

  it('normalises the password to NFC, so a decomposed spelling derives the same key', async () => {
    const nfd = PINNED_PASSWORD.normalize('NFD');
    expect(nfd).not.toBe(PINNED_PASSWORD);
    const nfdKey = await deriveKey(nfd, base64ToBytes(PINNED.kdf.salt), 100_000);
    expect((await decryptTranscript(nfdKey, PINNED, 'golden-1')).version).toBe(7);
  });
});

describe('construction', () => {
  it('is PBKDF2-HMAC-SHA256 -> AES-256-GCM with the documented AAD (checked by an independent decryption)', async () => {
    const text = 'independently checked';
    const env = await encryptTranscript(key, 'x-1', 9, text);
    const passwordKey = await subtle.importKey('raw', new TextEncoder().encode(PASSWORD), 'PBKDF2', false, ['deriveBits']);
    const raw = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: Uint8Array.from(salt), iterations: 600_000 }, passwordKey, 256);
    const aesKey = await subtle.importKey('raw', raw, 'AES-GCM', false, ['decrypt']);
    const documentedAad = JSON.stringify(['live-transcribe/transcript', 1, 'PBKDF2-SHA256', 600_000, bytesToBase64(salt), 'x-1', 9]);
    const plain = await subtle.decrypt(
      { name: 'AES-GCM', iv: base64ToBytes(env.iv), additionalData: new TextEncoder().encode(documentedAad), tagLength: 128 },
      aesKey,
      base64ToBytes(env.ciphertext),
    );
    expect(new TextDecoder().decode(plain)).toBe(text);
  });

  it('never repeats an IV across 100,000 encryptions', async () => {
    const ivs = new Set<string>();
    for (let i = 0; i < 100_000; i++) ivs.add((await encryptTranscript(key, 'iv-test', i, '.')).iv);
    expect(ivs.size).toBe(100_000);
  }, 60_000);
});

describe('known-answer vectors for the primitives', () => {
  // RFC 7914 section 11, "Test Vectors for PBKDF2 with HMAC-SHA-256".
  it.each([
    {
      password: 'passwd',
      salt: 'salt',
      iterations: 1,
      dk: `55 ac 04 6e 56 e3 08 9f ec 16 91 c2 25 44 b6 05 f9 41 85 21 6d de 04 65 e6 8b 9d 57 c2 0d ac bc
           49 ca 9c cc f1 79 b6 45 99 16 64 b3 9d 77 ef 31 7c 71 b8 45 b1 e3 0b d5 09 11 20 41 d3 a1 97 83`,
    },
    {
      password: 'Password',
      salt: 'NaCl',
      iterations: 80_000,
      dk: `4d dc d8 f6 0b 98 be 21 83 0c ee 5e f2 27 01 f9 64 1a 44 18 d0 4c 04 14 ae ff 08 87 6b 34 ab 56
           a1 d4 25 a1 22 58 33 54 9a db 84 1b 51 c9 b3 17 6a 27 2b de bb a1 d0 78 47 8f 62 b3 97 f3 3c 8d`,
    },
  ])('PBKDF2-HMAC-SHA256 (RFC 7914): P=$password S=$salt c=$iterations', async ({ password, salt: s, iterations, dk }) => {
    const passwordKey = await subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
    const bits = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: new TextEncoder().encode(s), iterations }, passwordKey, 512);
    expect(toHex(bits)).toBe(toHex(hex(dk)));
  });

  // McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test case 16: AES-256, 96-bit IV, 20 bytes of AAD.
  it('AES-256-GCM (GCM spec test case 16)', async () => {
    const k = hex('feffe9928665731c6d6a8f9467308308 feffe9928665731c6d6a8f9467308308');
    const iv = hex('cafebabefacedbaddecaf888');
    const aad = hex('feedfacedeadbeeffeedfacedeadbeef abaddad2');
    const p = hex(`d9313225f88406e5a55909c5aff5269a 86a7a9531534f7da2e4c303d8a318a72
                   1c3c0c95956809532fcf0e2449a6b525 b16aedf5aa0de657ba637b39`);
    const c = `522dc1f099567d07f47f37a32a84427d 643a8cdcbfe5c0c97598a2bd2555d1aa
               8cb08e48590dbb3da7b08b1056828838 c5f61e6393ba7a0abcc9f662`;
    const t = '76fc6ece0f4e1768cddf8853bb2d551b';
    const aesKey = await subtle.importKey('raw', k, 'AES-GCM', false, ['encrypt', 'decrypt']);
    const sealed = await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, aesKey, p);
    expect(toHex(sealed)).toBe(toHex(hex(c + t)));
    const opened = await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, aesKey, sealed);
    expect(toHex(opened)).toBe(toHex(p));
  });
});
