/**
 * The PostgreSQL transcript store (server/store/pg-store.ts) against a real
 * throwaway cluster (testkit/postgres.ts): the same contract as the SQLite
 * store (CRUD, owner isolation, listing), the versioned migrations (applied
 * once by replicas opening together, recorded, a newer schema refused),
 * deleted ciphertext gone from the table files (delete + VACUUM), and
 * a database outage: calls fail with StoreUnavailableError, the process
 * survives, and the store works again once the database is back.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, PgTranscriptStore } from '../server/store/pg-store.js';
import { StoreUnavailableError } from '../server/store/transcript-store.js';
import { freePort, startPostgres, type Postgres } from '../testkit/postgres.js';

let db: Postgres;
const quiet = () => {};

beforeAll(async () => {
  db = await startPostgres();
});

afterAll(async () => {
  await db?.stop();
});

/** Which of `needles` appear in the cluster's table files (base/; not the WAL, which keeps them until recycled). */
function filesHolding(needles: string[]): Record<string, boolean> {
  const files = fs.readdirSync(path.join(db.dataDir, 'base'), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  const bytes = files.map((f) => fs.readFileSync(path.join(f.parentPath, f.name)));
  return Object.fromEntries(needles.map((n) => [n, bytes.some((b) => b.includes(n))]));
}

async function sql<R extends pg.QueryResultRow>(text: string): Promise<R[]> {
  const client = new pg.Client(db.url);
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('migrations', () => {
  it('are applied once when replicas open together, recorded by version, and a newer schema is refused', async () => {
    const logs: string[] = [];
    const stores = await Promise.all([1, 2, 3].map(() => PgTranscriptStore.open(db.url, { log: (l) => logs.push(l) })));
    await Promise.all(stores.map((s) => s.close()));
    expect(logs.filter((l) => /1 migration\(s\) applied now/.test(l))).toHaveLength(1);
    expect(await sql('SELECT version, name FROM schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));

    const future = MIGRATIONS.at(-1)!.version + 1;
    await sql(`INSERT INTO schema_migrations (version, name) VALUES (${future}, 'from the future')`);
    await expect(PgTranscriptStore.open(db.url, { log: quiet })).rejects.toThrow(`schema is at version ${future}, newer than this server's`);
    await sql(`DELETE FROM schema_migrations WHERE version = ${future}`);
  });

  it('gives a clear error when the database never answers', async () => {
    const port = await freePort();
    const started = performance.now();
    await expect(PgTranscriptStore.open(`postgres://postgres:secret@127.0.0.1:${port}/x`, { startupWaitMs: 1500, log: quiet })).rejects.toThrow(
      new RegExp(`PostgreSQL postgres@127.0.0.1:${port}/x: .*ECONNREFUSED`),
    );
    expect(performance.now() - started).toBeGreaterThan(1000);
  });
});

describe('the store', () => {
  let store: PgTranscriptStore;
  let clock = Date.UTC(2025, 0, 1);
  beforeAll(async () => {
    store = await PgTranscriptStore.open(db.url, { log: quiet, now: () => clock });
  });
  afterAll(async () => {
    await store.close();
  });

  it('puts, replaces, gets, lists and deletes, each owner seeing only their own', async () => {
    const created = clock;
    expect(await store.put('alice', 't1', '{"v":1}')).toEqual({ created: true, info: { id: 't1', sizeBytes: 7, createdAt: created, updatedAt: created } });
    clock += 1000;
    expect(await store.put('alice', 't1', '{"v":22}')).toEqual({ created: false, info: { id: 't1', sizeBytes: 8, createdAt: created, updatedAt: clock } });
    clock += 1000;
    await store.put('alice', 't2', '{"v":3}');
    await store.put('bob', 't1', '{"bob":1}');
    expect(await store.get('alice', 't1')).toBe('{"v":22}');
    expect(await store.get('bob', 't1')).toBe('{"bob":1}');
    expect(await store.get('mallory', 't1')).toBeNull();
    expect((await store.list('alice')).map((t) => t.id)).toEqual(['t2', 't1']);
    expect(await store.delete('mallory', 't1')).toBe(false);
    expect(await store.delete('alice', 't1')).toBe(true);
    expect(await store.delete('alice', 't1')).toBe(false);
    expect(await store.deleteAll('alice')).toBe(1);
    expect(await store.list('alice')).toEqual([]);
    expect(await store.get('bob', 't1')).toBe('{"bob":1}');
  });

  it("erases deleted ciphertext from the tables' files, large (TOAST) envelopes included", async () => {
    const small = `SMALLCIPHER${'x'.repeat(100)}`;
    // Incompressible enough to be stored out of line, in the TOAST table.
    const big = `BIGCIPHER${Array.from({ length: 3000 }, (_, i) => ((i * 7919) % 9973).toString(36)).join('')}`;
    await store.put('dave', 'small', JSON.stringify({ c: small }));
    await store.put('dave', 'big', JSON.stringify({ c: big }));
    await store.put('erin', 'kept', '{"c":"KEPTCIPHER"}');
    await sql('CHECKPOINT');
    expect(filesHolding(['SMALLCIPHER', 'BIGCIPHER', 'KEPTCIPHER'])).toEqual({ SMALLCIPHER: true, BIGCIPHER: true, KEPTCIPHER: true });
    await store.delete('dave', 'small');
    await store.deleteAll('dave');
    await sql('CHECKPOINT');
    expect(filesHolding(['SMALLCIPHER', 'BIGCIPHER', 'KEPTCIPHER'])).toEqual({ SMALLCIPHER: false, BIGCIPHER: false, KEPTCIPHER: true });
  });

  it('answers StoreUnavailableError while the database is down, and works again once it is back', async () => {
    await store.put('carol', 'before', '{"a":1}');
    await db.halt();
    await expect(store.get('carol', 'before')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.put('carol', 'during', '{"a":2}')).rejects.toThrow(/PostgreSQL postgres@127\.0\.0\.1:\d+\/postgres is unreachable after 4 tries/);
    await db.restart();
    expect(await store.get('carol', 'before')).toBe('{"a":1}');
    expect((await store.put('carol', 'after', '{"a":3}')).created).toBe(true);
  });
});
