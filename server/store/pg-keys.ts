/**
 * API-key hashes in PostgreSQL (the `api_keys` table, pg-store.ts), for
 * replicas that share one database: the same records as `api-keys.json`
 * (api-keys.ts; never the keys themselves), written by `npm run keys --
 * --database-url ...` and read by every replica's PgKeyRing, which reloads
 * them each RELOAD_MS, so a key created or revoked on one machine takes
 * effect on all within about a second. While the database is unreachable the
 * last keys loaded stay in force, and the log says so once.
 */
import { KeyRing, newKey, type ApiKeyRecord } from '../api-keys.js';
import type { PgDatabase } from './pg-store.js';

const RELOAD_MS = 1000;

interface KeyRow {
  id: string;
  owner: string;
  sha256: string;
  created_at: string;
  expires_at: string | null;
}

function toRecord(row: KeyRow): ApiKeyRecord {
  return { id: row.id, owner: row.owner, sha256: row.sha256, created_at: row.created_at, ...(row.expires_at ? { expires_at: row.expires_at } : {}) };
}

export async function listPgKeys(db: PgDatabase): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query<KeyRow>('SELECT id, owner, sha256, created_at, expires_at FROM api_keys ORDER BY created_at, id');
  return rows.map(toRecord);
}

/** Adds a key for `owner`, valid for `ttlMs` (null: until revoked), and returns it: the only time it is ever seen. */
export async function createPgKey(db: PgDatabase, owner: string, ttlMs: number | null = null, now = new Date()): Promise<{ key: string; record: ApiKeyRecord }> {
  const created = newKey(owner, ttlMs, now);
  const r = created.record;
  await db.query('INSERT INTO api_keys (id, owner, sha256, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [r.id, r.owner, r.sha256, r.created_at, r.expires_at ?? null]);
  return created;
}

/** Removes the key with this id; false when there is none. */
export async function revokePgKey(db: PgDatabase, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM api_keys WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

export class PgKeyRing extends KeyRing {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  private constructor(
    private readonly db: PgDatabase,
    private readonly log: (line: string) => void,
  ) {
    super(`PostgreSQL ${db.where}`);
  }

  /** Loads the keys (throws when it cannot), then keeps reloading them until `close`. */
  static async open(db: PgDatabase, log: (line: string) => void): Promise<PgKeyRing> {
    const ring = new PgKeyRing(db, log);
    ring.replace(await listPgKeys(db));
    ring.timer = setInterval(() => void ring.reload(), RELOAD_MS).unref();
    return ring;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async reload(): Promise<void> {
    try {
      this.replace(await listPgKeys(this.db));
      if (this.failing) this.log(`API keys reloaded from ${this.where} again`);
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log(`API keys not reloaded from ${this.where}, keeping the previous ones: ${err instanceof Error ? err.message : String(err)}`);
      this.failing = true;
    }
  }
}
