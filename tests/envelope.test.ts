/**
 * The envelope shape check (protocol/envelope.ts) that client and server
 * share: a well-formed v1 envelope passes untouched; every malformed field,
 * unknown or missing field, and plaintext dressed up as ciphertext is refused
 * with an EnvelopeError naming the problem. Also strict base64.
 */
import { describe, expect, it } from 'vitest';
import {
  base64ToBytes,
  bytesToBase64,
  EnvelopeError,
  isValidTranscriptId,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  parseEnvelope,
  type EncryptedEnvelope,
} from '../protocol/envelope.js';

/** Deterministic bytes that are not text (the first is a control character). */
function bytes(n: number, seed = 7): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed + i * 151) & 0xff);
}

const b64 = (n: number, seed?: number): string => bytesToBase64(bytes(n, seed));

function valid(): EncryptedEnvelope {
  return {
    v: 1,
    kdf: { name: 'PBKDF2-SHA256', iterations: 600_000, salt: b64(16) },
    iv: b64(12),
    ciphertext: b64(80),
    transcript_id: 'meeting_2024-05-01',
    transcript_version: 3,
  };
}

function expectRefused(value: unknown, message: RegExp): void {
  expect(() => parseEnvelope(value)).toThrow(EnvelopeError);
  expect(() => parseEnvelope(value)).toThrow(message);
}

describe('parseEnvelope accepts', () => {
  it('a well-formed v1 envelope, returned as an equal fresh object', () => {
    const env = valid();
    const parsed = parseEnvelope(JSON.parse(JSON.stringify(env)));
    expect(parsed).toEqual(env);
    expect(parsed).not.toBe(env);
  });

  it('the limits: 100,000 and 10,000,000 iterations, the bare 16-byte tag, version 0, a 64-character id', () => {
    expect(MIN_ITERATIONS).toBe(100_000);
    expect(parseEnvelope({ ...valid(), kdf: { ...valid().kdf, iterations: MIN_ITERATIONS } }).kdf.iterations).toBe(100_000);
    expect(parseEnvelope({ ...valid(), kdf: { ...valid().kdf, iterations: MAX_ITERATIONS } }).kdf.iterations).toBe(10_000_000);
    expect(parseEnvelope({ ...valid(), ciphertext: b64(16) }).ciphertext).toBe(b64(16));
    expect(parseEnvelope({ ...valid(), transcript_version: 0 }).transcript_version).toBe(0);
    expect(parseEnvelope({ ...valid(), transcript_id: 'a'.repeat(64) }).transcript_id).toHaveLength(64);
  });

  it('random ciphertext of any length (no false alarms from the plaintext check)', () => {
    for (let i = 0; i < 2000; i++) {
      const random = globalThis.crypto.getRandomValues(new Uint8Array(16 + (i % 300)));
      expect(() => parseEnvelope({ ...valid(), ciphertext: bytesToBase64(random) })).not.toThrow();
    }
  });
});

describe('parseEnvelope refuses', () => {
  it('anything that is not an object', () => {
    for (const value of [null, undefined, 'envelope', 42, true, [valid()]]) expectRefused(value, /envelope must be a JSON object/);
    expectRefused({ ...valid(), kdf: 'PBKDF2' }, /envelope\.kdf must be a JSON object/);
  });

  it('other versions', () => {
    expectRefused({ ...valid(), v: 2 }, /unsupported envelope version 2/);
    expectRefused({ ...valid(), v: 0 }, /unsupported envelope version 0/);
    expectRefused({ ...valid(), v: '1' }, /unsupported envelope version "1"/);
  });

  it('extra fields, at the top or in kdf, and missing ones', () => {
    expectRefused({ ...valid(), text: 'hello' }, /envelope has unknown field\(s\): text/);
    expectRefused({ ...valid(), kdf: { ...valid().kdf, hash: 'SHA-1' } }, /envelope\.kdf has unknown field\(s\): hash/);
    const { iv: _iv, ...noIv } = valid();
    expectRefused(noIv, /envelope is missing field\(s\): iv/);
    const { salt: _salt, ...kdfNoSalt } = valid().kdf;
    expectRefused({ ...valid(), kdf: kdfNoSalt }, /envelope\.kdf is missing field\(s\): salt/);
  });

  it('another KDF or iteration counts out of range', () => {
    expectRefused({ ...valid(), kdf: { ...valid().kdf, name: 'scrypt' } }, /kdf\.name must be "PBKDF2-SHA256"/);
    for (const iterations of [99_999, 10_000_001, 600_000.5, '600000', 0, -1, null]) {
      expectRefused({ ...valid(), kdf: { ...valid().kdf, iterations } }, /kdf\.iterations must be an integer from 100000 to 10000000/);
    }
  });

  it('a salt that is not 16 bytes, or not base64', () => {
    expectRefused({ ...valid(), kdf: { ...valid().kdf, salt: b64(15) } }, /salt must be 16 bytes, got 15/);
    expectRefused({ ...valid(), kdf: { ...valid().kdf, salt: b64(17) } }, /salt must be 16 bytes, got 17/);
    expectRefused({ ...valid(), kdf: { ...valid().kdf, salt: 'not base64!!!!!!!!!!!!!!' } }, /salt is not valid base64/);
    expectRefused({ ...valid(), kdf: { ...valid().kdf, salt: 16 } }, /salt must be a base64 string/);
  });

  it('an IV that is not 12 bytes', () => {
    expectRefused({ ...valid(), iv: b64(16) }, /iv must be 12 bytes, got 16/);
    expectRefused({ ...valid(), iv: b64(11) }, /iv must be 12 bytes, got 11/);
    expectRefused({ ...valid(), iv: '' }, /iv must be 12 bytes, got 0/);
  });

  it('ciphertext shorter than the GCM tag', () => {
    expectRefused({ ...valid(), ciphertext: b64(15) }, /ciphertext must be at least 16 bytes \(the GCM tag\), got 15/);
    expectRefused({ ...valid(), ciphertext: '' }, /ciphertext must be at least 16 bytes/);
  });

  it('plaintext instead of ciphertext: raw text, or text merely base64-encoded', () => {
    expectRefused({ ...valid(), ciphertext: 'Alice: hello everyone, thanks for joining the call today.' }, /ciphertext is not valid base64/);
    const english = 'Alice: hello everyone, thanks for joining.\nBob: glad to be here, shall we start?';
    expectRefused({ ...valid(), ciphertext: Buffer.from(english).toString('base64') }, /readable text/);
    const other = 'Grüße aus München — 会议记录：大家好，今天我们讨论预算。Привет всем, начинаем.';
    expectRefused({ ...valid(), ciphertext: Buffer.from(other).toString('base64') }, /readable text/);
    const json = JSON.stringify({ segments: [{ speaker: 'A', text: 'hello there', start: 0.1, end: 1.4 }] });
    expectRefused({ ...valid(), ciphertext: Buffer.from(json).toString('base64') }, /readable text/);
  });

  it('but it is a guard against a client that forgot to encrypt, not a proof of encryption: disguised text passes (SECURITY.md)', () => {
    const text = 'Alice: hello everyone, thanks for joining.\nBob: glad to be here, shall we start?';
    const accepts = (plain: Buffer) => expect(parseEnvelope({ ...valid(), ciphertext: plain.toString('base64') }).ciphertext).toBe(plain.toString('base64'));
    accepts(Buffer.from(text, 'utf16le')); // UTF-16: every other byte is NUL
    accepts(Buffer.concat([Buffer.from([0]), Buffer.from(text)])); // one byte that is not text
    accepts(Buffer.from('Alice: see you at nine, Bob')); // under 48 bytes: too short to judge
  });

  it('bad transcript ids', () => {
    for (const id of ['', 'a'.repeat(65), 'a/b', 'a b', 'ä', '../x', 'a%2Fb', 7, null]) {
      expectRefused({ ...valid(), transcript_id: id }, /transcript_id must match/);
    }
  });

  it('bad transcript versions', () => {
    for (const version of [-1, 1.5, '3', 2 ** 53, Number.NaN, null]) {
      expectRefused({ ...valid(), transcript_version: version }, /transcript_version must be a non-negative safe integer/);
    }
  });
});

describe('transcript ids', () => {
  it('are 1 to 64 of [A-Za-z0-9_-]', () => {
    expect(['a', 'Z9', 'a_b-c', '0'.repeat(64)].every(isValidTranscriptId)).toBe(true);
    expect(['', '0'.repeat(65), 'a.b', 'a b', 'é'].some(isValidTranscriptId)).toBe(false);
  });
});

describe('base64', () => {
  it('matches the standard encoding (Buffer, btoa) for every length and round-trips', () => {
    for (let n = 0; n <= 40; n++) {
      const data = globalThis.crypto.getRandomValues(new Uint8Array(n));
      const text = bytesToBase64(data);
      expect(text).toBe(Buffer.from(data).toString('base64'));
      expect(text).toBe(btoa(String.fromCharCode(...data)));
      expect(base64ToBytes(text)).toEqual(data);
    }
  });

  it('handles large inputs', () => {
    const data = globalThis.crypto.getRandomValues(new Uint8Array(65_536)); // getRandomValues' per-call maximum
    const big = new Uint8Array(1 << 20);
    for (let off = 0; off < big.length; off += data.length) big.set(data, off);
    const text = bytesToBase64(big);
    expect(text).toBe(Buffer.from(big).toString('base64'));
    expect(Buffer.from(base64ToBytes(text)).equals(Buffer.from(big))).toBe(true);
  });

  it('decodes strictly: no whitespace, URL-safe letters, missing or misplaced padding, or stray bits', () => {
    expect(base64ToBytes('AA==')).toEqual(new Uint8Array([0]));
    for (const bad of ['AA', 'AAA', 'AA=', 'A===', '====', 'AA==AAAA', 'AA A', 'AA\nA', '-_-_', 'AB==', 'AAB=', 'AAAA=']) {
      expect(() => base64ToBytes(bad), bad).toThrow();
    }
  });
});
