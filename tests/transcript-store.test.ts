/**
 * The SQLite transcript store (server/store/sqlite-store.ts) against real
 * files in a temporary folder: CRUD, owner isolation, deleteAll, listing
 * metadata, what the table holds, and — by scanning the raw database and WAL
 * bytes — that no plaintext ever reaches disk and that deleted (or replaced)
 * ciphertext is really gone after a delete.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deriveKey, encryptTranscript, newSalt, type TranscriptKey } from '../client/crypto.js';
import { bytesToBase64 } from '../protocol/envelope.js';
import { SqliteTranscriptStore } from '../server/store/sqlite-store.js';

let dir: string;
let clock: number;
let store: SqliteTranscriptStore;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transcript-store-'));
  clock = Date.UTC(2025, 0, 1);
  store = new SqliteTranscriptStore(path.join(dir, 'data'), { now: () => clock });
});

afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The bytes SQLite has on disk: the database file and, when present, its WAL and shared-memory files. */
function diskBytes(): Buffer {
  const files = [store.path, `${store.path}-wal`, `${store.path}-shm`].filter((f) => fs.existsSync(f));
  return Buffer.concat(files.map((f) => fs.readFileSync(f)));
}

function onDisk(text: string): boolean {
  return diskBytes().includes(Buffer.from(text, 'utf8'));
}

/** A stand-in envelope whose ciphertext is `n` random bytes (the store does not parse envelopes). */
function fakeEnvelope(id: string, n = 64): { json: string; ciphertext: string } {
  const random = new Uint8Array(n);
  for (let off = 0; off < n; off += 65_536) globalThis.crypto.getRandomValues(random.subarray(off, Math.min(n, off + 65_536)));
  const ciphertext = bytesToBase64(random);
  return { ciphertext, json: JSON.stringify({ v: 1, transcript_id: id, ciphertext }) };
}

describe('CRUD', () => {
  it('puts, gets, replaces and deletes', async () => {
    const first = fakeEnvelope('t1');
    expect(await store.get('alice', 't1')).toBeNull();
    expect(await store.put('alice', 't1', first.json)).toEqual({
      created: true,
      info: { id: 't1', sizeBytes: Buffer.byteLength(first.json), createdAt: clock, updatedAt: clock },
    });
    expect(await store.get('alice', 't1')).toBe(first.json);

    const created = clock;
    clock += 5_000;
    const second = fakeEnvelope('t1', 200);
    expect(await store.put('alice', 't1', second.json)).toEqual({
      created: false,
      info: { id: 't1', sizeBytes: Buffer.byteLength(second.json), createdAt: created, updatedAt: clock },
    });
    expect(await store.get('alice', 't1')).toBe(second.json);

    expect(await store.delete('alice', 't1')).toBe(true);
    expect(await store.get('alice', 't1')).toBeNull();
    expect(await store.delete('alice', 't1')).toBe(false);
    expect(await store.list('alice')).toEqual([]);
  });

  it('keeps data across close and reopen', async () => {
    const env = fakeEnvelope('kept');
    await store.put('alice', 'kept', env.json);
    await store.close();
    store = new SqliteTranscriptStore(path.join(dir, 'data'));
    expect(await store.get('alice', 'kept')).toBe(env.json);
  });
});

describe('owners', () => {
  it('never see or touch each other’s transcripts, even under the same id', async () => {
    const a = fakeEnvelope('same');
    const b = fakeEnvelope('same');
    await store.put('alice', 'same', a.json);
    expect(await store.get('bob', 'same')).toBeNull();
    expect(await store.delete('bob', 'same')).toBe(false);
    expect(await store.list('bob')).toEqual([]);
    expect(await store.deleteAll('bob')).toBe(0);

    // Bob writing the same id creates his own transcript; Alice's is untouched.
    expect((await store.put('bob', 'same', b.json)).created).toBe(true);
    expect(await store.get('alice', 'same')).toBe(a.json);
    expect(await store.get('bob', 'same')).toBe(b.json);

    expect(await store.delete('bob', 'same')).toBe(true);
    expect(await store.get('alice', 'same')).toBe(a.json);
  });

  it('deleteAll removes only that owner’s transcripts and counts them', async () => {
    for (const id of ['a1', 'a2', 'a3']) await store.put('alice', id, fakeEnvelope(id).json);
    await store.put('bob', 'b1', fakeEnvelope('b1').json);
    expect(await store.deleteAll('alice')).toBe(3);
    expect(await store.list('alice')).toEqual([]);
    expect((await store.list('bob')).map((t) => t.id)).toEqual(['b1']);
    expect(await store.deleteAll('alice')).toBe(0);
  });
});

describe('list', () => {
  it('returns ids, sizes and times, most recently updated first', async () => {
    const envs = { old: fakeEnvelope('old', 10), mid: fakeEnvelope('mid', 100), fresh: fakeEnvelope('fresh', 1000) };
    const t0 = clock;
    await store.put('alice', 'old', envs.old.json);
    clock = t0 + 1_000;
    await store.put('alice', 'mid', envs.mid.json);
    clock = t0 + 2_000;
    await store.put('alice', 'fresh', envs.fresh.json);
    clock = t0 + 3_000;
    await store.put('alice', 'old', envs.old.json); // touched again: now the most recent
    expect(await store.list('alice')).toEqual([
      { id: 'old', sizeBytes: Buffer.byteLength(envs.old.json), createdAt: t0, updatedAt: t0 + 3_000 },
      { id: 'fresh', sizeBytes: Buffer.byteLength(envs.fresh.json), createdAt: t0 + 2_000, updatedAt: t0 + 2_000 },
      { id: 'mid', sizeBytes: Buffer.byteLength(envs.mid.json), createdAt: t0 + 1_000, updatedAt: t0 + 1_000 },
    ]);
  });
});

describe('on disk', () => {
  let key: TranscriptKey;
  beforeAll(async () => {
    key = await deriveKey('store test password', newSalt());
  });

  it('is an owner-only WAL database holding only ciphertext and minimal metadata', async () => {
    await store.put('alice', 'x', fakeEnvelope('x').json);
    expect(fs.statSync(store.path).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(store.path)).mode & 0o777).toBe(0o700);
    await store.close();
    const db = new Database(store.path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const columns = (db.prepare('SELECT name FROM pragma_table_info(?)').all('transcripts') as Array<{ name: string }>).map((c) => c.name);
      expect(columns).toEqual(['owner', 'id', 'size_bytes', 'created_at', 'updated_at', 'envelope']);
    } finally {
      db.close();
    }
    store = new SqliteTranscriptStore(path.join(dir, 'data'));
  });

  it('never holds the plaintext of an encrypted transcript', async () => {
    const words = ['Quarterly budget review', 'Mallory objected', 'Überraschungsangriff', '机密会议'];
    const text = `${words[0]}: ${words[1]} to the ${words[2]} plan. ${words[3]}.`;
    const env = await encryptTranscript(key, 'secret', 1, text);
    await store.put('alice', 'secret', JSON.stringify(env));
    expect(onDisk(env.ciphertext)).toBe(true); // the scan does see what is stored
    for (const w of [text, ...words]) expect(onDisk(w), w).toBe(false);
    await store.close();
    store = new SqliteTranscriptStore(path.join(dir, 'data')); // and after a checkpoint into the main file
    for (const w of [text, ...words]) expect(onDisk(w), w).toBe(false);
  });

  it('erases deleted ciphertext from the database and WAL files, replaced versions included', async () => {
    const keep = fakeEnvelope('keep');
    const v1 = await encryptTranscript(key, 'gone', 1, 'first version of the transcript to delete');
    const v2 = await encryptTranscript(key, 'gone', 2, 'second version of the transcript to delete');
    await store.put('alice', 'keep', keep.json);
    await store.put('alice', 'gone', JSON.stringify(v1));
    await store.close(); // checkpoints: v1 now sits in the main database file
    store = new SqliteTranscriptStore(path.join(dir, 'data'));
    await store.put('alice', 'gone', JSON.stringify(v2));
    expect(onDisk(v2.ciphertext)).toBe(true);

    expect(await store.delete('alice', 'gone')).toBe(true);
    expect(onDisk(v1.ciphertext)).toBe(false);
    expect(onDisk(v2.ciphertext)).toBe(false);
    expect(onDisk(keep.ciphertext)).toBe(true);
    expect(fs.statSync(`${store.path}-wal`).size).toBe(0);
  });

  it('erases large (multi-page) transcripts and whole owners on deleteAll', async () => {
    const big = fakeEnvelope('big', 1 << 20);
    const small = fakeEnvelope('small');
    const bobs = fakeEnvelope('bobs');
    await store.put('alice', 'big', big.json);
    await store.put('alice', 'small', small.json);
    await store.put('bob', 'bobs', bobs.json);
    await store.close();
    store = new SqliteTranscriptStore(path.join(dir, 'data'));
    // The big envelope spans many overflow pages, so a probe can straddle a page boundary: use many short ones.
    const probes = Array.from({ length: 200 }, (_, i) => big.ciphertext.slice(i * 6_000, i * 6_000 + 32));
    const found = () => {
      const bytes = diskBytes();
      return probes.filter((p) => bytes.includes(Buffer.from(p))).length;
    };
    expect(found()).toBeGreaterThan(190);
    expect(onDisk(small.ciphertext)).toBe(true);

    expect(await store.deleteAll('alice')).toBe(2);
    expect(found()).toBe(0);
    expect(onDisk(small.ciphertext)).toBe(false);
    expect(onDisk(bobs.ciphertext)).toBe(true);
  });
});
