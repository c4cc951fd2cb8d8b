/**
 * The PostgreSQL transcript store (server/store/pg-store.ts) against a real
 * throwaway cluster (testkit/postgres.ts): the same contract as the SQLite
 * store (CRUD, owner isolation, listing), the versioned migrations (applied
 * once by replicas opening together, recorded, a newer schema refused),
 * deleted ciphertext gone from the table files (delete + VACUUM), and
 * a database outage: calls fail with StoreUnavailableError, the process
 * survives, and the store works again once the database is back. API keys
 * made and revoked with the real `npm run keys` CLI against the database
 * reach another replica's key ring within its reload.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgKeyRing } from '../server/store/pg-keys.js';
import { MIGRATIONS, PgDatabase, PgTranscriptStore } from '../server/store/pg-store.js';
import { StoreUnavailableError } from '../server/store/transcript-store.js';
import { PROJECT_ROOT } from '../testkit/paths.js';
import { freePort, startPostgres, type Postgres } from '../testkit/postgres.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    const opened = await Promise.all([1, 2, 3].map(() => PgDatabase.open(db.url, { log: (l) => logs.push(l) })));
    await Promise.all(opened.map((d) => d.close()));
    expect(logs.filter((l) => l.endsWith(`${MIGRATIONS.length} migration(s) applied now`))).toHaveLength(1);
    expect(logs.filter((l) => /applied now/.test(l))).toHaveLength(1);
    expect(await sql('SELECT version, name FROM schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));

    const future = MIGRATIONS.at(-1)!.version + 1;
    await sql(`INSERT INTO schema_migrations (version, name) VALUES (${future}, 'from the future')`);
    await expect(PgDatabase.open(db.url, { log: quiet })).rejects.toThrow(`schema is at version ${future}, newer than this server's`);
    await sql(`DELETE FROM schema_migrations WHERE version = ${future}`);
  });

  it('gives a clear error when the database never answers', async () => {
    const port = await freePort();
    const started = performance.now();
    await expect(PgDatabase.open(`postgres://postgres:secret@127.0.0.1:${port}/x`, { startupWaitMs: 1500, log: quiet })).rejects.toThrow(
      new RegExp(`PostgreSQL postgres@127.0.0.1:${port}/x: .*ECONNREFUSED`),
    );
    expect(performance.now() - started).toBeGreaterThan(1000);
  });
});

describe('the store', () => {
  let database: PgDatabase;
  let store: PgTranscriptStore;
  let clock = Date.UTC(2025, 0, 1);
  beforeAll(async () => {
    database = await PgDatabase.open(db.url, { log: quiet });
    store = new PgTranscriptStore(database, () => clock);
  });
  afterAll(async () => {
    await store.close();
    await database.close();
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

describe('API keys', () => {
  function keysCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'server/keys-cli.ts'), ...args], { env: { ...process.env, DATABASE_URL: db.url }, cwd: PROJECT_ROOT }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  it('made and revoked with the CLI against the database, reach a running replica within a reload', async () => {
    const replicaDb = await PgDatabase.open(db.url, { log: quiet });
    const ring = await PgKeyRing.open(replicaDb, quiet);
    try {
      const created = await keysCli('create', 'alice');
      expect(created.code).toBe(0);
      const key = created.stdout.trim();
      expect(created.stderr).toMatch(/created key [0-9a-f]{12} for owner "alice" in PostgreSQL postgres@127\.0\.0\.1:\d+\/postgres/);
      // Only the hash is stored.
      expect(JSON.stringify(await sql('SELECT * FROM api_keys'))).not.toContain(key);
      const deadline = performance.now() + 5000;
      while (!ring.find(key) && performance.now() < deadline) await sleep(100);
      const found = ring.find(key);
      expect(found).toMatchObject({ owner: 'alice', expiresAtMs: Infinity });

      expect((await keysCli('list')).stdout).toContain(`${found!.id}  alice`);
      expect((await keysCli('revoke', found!.id)).code).toBe(0);
      while (ring.find(key) && performance.now() < deadline + 5000) await sleep(100);
      expect(ring.find(key)).toBeNull();
      expect(ring.findId(found!.id)).toBeNull();
      expect(await keysCli('revoke', found!.id)).toMatchObject({ code: 1, stderr: expect.stringContaining(`no key with id ${found!.id}`) });
    } finally {
      ring.close();
      await replicaDb.close();
    }
  });
});
