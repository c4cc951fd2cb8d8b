/**
 * PostgreSQL (node-postgres), for several replicas that share one database:
 * the connection pool and schema (PgDatabase), and the transcript store on
 * it (PgTranscriptStore): the same rows as the SQLite store
 * (sqlite-store.ts), envelope ciphertext and listing metadata only, in a
 * `transcripts` table. API-key hashes live beside them (pg-keys.ts).
 *
 * The schema is made by versioned migrations (MIGRATIONS) when the store
 * opens, under an advisory lock so replicas starting together apply each one
 * once; their versions are kept in `schema_migrations`, and a database newer
 * than this server is refused. Opening waits for an unreachable database (a
 * replica may start before it) up to `startupWaitMs`, then fails clearly.
 *
 * Connection loss never crashes the process: the pool reports idle clients'
 * errors to the log, and a call that fails for want of a connection is
 * retried (RETRY_DELAYS_MS) and then rejected with StoreUnavailableError,
 * which the routes answer with 503.
 *
 * Deletion: PostgreSQL has no `secure_delete`. A delete is followed by a
 * VACUUM of the table, which removes the dead rows (and their TOAST chunks)
 * from the table's pages: once those are written out, the ciphertext is gone
 * from the table files (tests/pg-store.test.ts scans them). The WAL, WAL
 * archives and backups still hold it until they are recycled; it is
 * ciphertext, whose key the server never had, and PostgreSQL belongs on
 * encrypted storage all the same.
 */
import pg from 'pg';
import { StoreUnavailableError, type PutResult, type TranscriptInfo, type TranscriptStore } from './transcript-store.js';

/** Each migration runs once, in order, in one transaction; never edit one that has shipped: add the next. */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'transcripts',
    sql: `CREATE TABLE transcripts (
      owner      text   NOT NULL,
      id         text   NOT NULL,
      size_bytes bigint NOT NULL,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL,
      envelope   text   NOT NULL,
      PRIMARY KEY (owner, id)
    )`,
  },
  {
    version: 2,
    name: 'api_keys',
    sql: `CREATE TABLE api_keys (
      id         text NOT NULL PRIMARY KEY,
      owner      text NOT NULL,
      sha256     text NOT NULL UNIQUE,
      created_at text NOT NULL,
      expires_at text
    )`,
  },
];

/** Any constant: the advisory lock replicas take while migrating. */
const MIGRATION_LOCK = 0x6c74_7363;
/** Waits before each retry of a call that lost its connection. */
const RETRY_DELAYS_MS = [100, 400, 1000];

export interface PgOptions {
  /** how long opening waits for an unreachable database */
  startupWaitMs?: number;
  log?: (line: string) => void;
}

interface InfoRow {
  id: string;
  size_bytes: string;
  created_at: string;
  updated_at: string;
}

export class PgDatabase {
  private constructor(
    private readonly pool: pg.Pool,
    /** the URL without its password, for messages */
    readonly where: string,
  ) {}

  /** Connects and applies the migrations this database lacks. */
  static async open(url: string, options: PgOptions = {}): Promise<PgDatabase> {
    const log = options.log ?? console.log;
    const where = describeUrl(url);
    const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
    // An idle client whose server went away emits here; unhandled, it would end the process.
    pool.on('error', (err) => log(`PostgreSQL ${where}: idle connection lost (${err.message}); the next call reconnects`));
    const db = new PgDatabase(pool, where);
    const deadline = Date.now() + (options.startupWaitMs ?? 60_000);
    for (;;) {
      try {
        const applied = await db.migrate();
        log(`PostgreSQL ${where}: schema version ${MIGRATIONS.at(-1)!.version}${applied > 0 ? `, ${applied} migration(s) applied now` : ''}`);
        return db;
      } catch (err) {
        if (!isConnectionError(err) || Date.now() > deadline) {
          await pool.end();
          throw new Error(`PostgreSQL ${where}: ${errorText(err)}`);
        }
        log(`waiting for PostgreSQL ${where}: ${errorText(err)}`);
        await sleep(1000);
      }
    }
  }

  /** Applies the missing migrations; returns how many. */
  private async migrate(): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
      const current = rows[0].version ?? 0;
      const latest = MIGRATIONS.at(-1)!.version;
      if (current > latest) throw new Error(`the database schema is at version ${current}, newer than this server's ${latest}: upgrade the server`);
      const pending = MIGRATIONS.filter((m) => m.version > current);
      for (const m of pending) {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      }
      await client.query('COMMIT');
      return pending.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * One statement, retried when it failed for want of a connection. Every
   * statement here may run twice: a retried upsert or delete ends the same.
   */
  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.pool.query<R>(sql, params);
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        if (attempt === RETRY_DELAYS_MS.length) {
          throw new StoreUnavailableError(`PostgreSQL ${this.where} is unreachable after ${attempt + 1} tries: ${errorText(err)}`);
        }
        await sleep(RETRY_DELAYS_MS[attempt]);
      }
    }
  }
}

/** Transcripts in PostgreSQL. `close` leaves the database to its owner. */
export class PgTranscriptStore implements TranscriptStore {
  constructor(
    private readonly db: PgDatabase,
    /** the clock for created/updated times (tests pin it) */
    private readonly now: () => number = Date.now,
  ) {}

  async put(owner: string, id: string, envelopeJson: string): Promise<PutResult> {
    const now = this.now();
    const sizeBytes = Buffer.byteLength(envelopeJson, 'utf8');
    // xmax is 0 only on a freshly inserted row: tells a create from a replace in one statement.
    const { rows } = await this.db.query<{ created_at: string; created: boolean }>(
      `INSERT INTO transcripts (owner, id, size_bytes, created_at, updated_at, envelope) VALUES ($1, $2, $3, $4, $4, $5)
       ON CONFLICT (owner, id) DO UPDATE SET size_bytes = EXCLUDED.size_bytes, updated_at = EXCLUDED.updated_at, envelope = EXCLUDED.envelope
       RETURNING created_at, (xmax = 0) AS created`,
      [owner, id, sizeBytes, now, envelopeJson],
    );
    return { created: rows[0].created, info: { id, sizeBytes, createdAt: Number(rows[0].created_at), updatedAt: now } };
  }

  async get(owner: string, id: string): Promise<string | null> {
    const { rows } = await this.db.query<{ envelope: string }>('SELECT envelope FROM transcripts WHERE owner = $1 AND id = $2', [owner, id]);
    return rows[0]?.envelope ?? null;
  }

  async list(owner: string): Promise<TranscriptInfo[]> {
    const { rows } = await this.db.query<InfoRow>('SELECT id, size_bytes, created_at, updated_at FROM transcripts WHERE owner = $1 ORDER BY updated_at DESC, id', [owner]);
    return rows.map((row) => ({ id: row.id, sizeBytes: Number(row.size_bytes), createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) }));
  }

  async delete(owner: string, id: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM transcripts WHERE owner = $1 AND id = $2', [owner, id]);
    if (rowCount) await this.db.query('VACUUM transcripts');
    return (rowCount ?? 0) > 0;
  }

  async deleteAll(owner: string): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM transcripts WHERE owner = $1', [owner]);
    if (rowCount) await this.db.query('VACUUM transcripts');
    return rowCount ?? 0;
  }

  async close(): Promise<void> {}
}

/** Errors that say the connection, not the statement, failed: worth a retry. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    // SQLSTATE class 08 (connection exception), 57P01-03 (server shutting down or starting).
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].includes(code)) return true;
  }
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // An AggregateError (every address of a host refused) has an empty message of its own.
  const code = (err as { code?: string }).code;
  return err.message || code || err.name;
}

/** user@host:port/db, never the password. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
