/**
 * The SQLite transcript store (better-sqlite3): one database file in a data
 * folder, WAL mode, prepared statements, one row per (owner, transcript id)
 * holding the envelope JSON and the metadata listing needs — nothing else.
 *
 * Deletion is immediate and permanent: `secure_delete` makes SQLite overwrite
 * deleted content with zeros instead of just unlinking it, and every delete is
 * followed by a truncating WAL checkpoint, so the WAL (which still holds the
 * page images from before the delete) is emptied too. A replaced version's
 * ciphertext is zeroed the same way, but may sit in the WAL until the next
 * checkpoint; it is ciphertext, and a delete clears it.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { PutResult, TranscriptInfo, TranscriptStore } from './transcript-store.js';

export const DB_FILE_NAME = 'transcripts.sqlite';

export interface SqliteStoreOptions {
  /** the clock for created/updated times (tests pin it) */
  now?: () => number;
}

interface InfoRow {
  id: string;
  size_bytes: number;
  created_at: number;
  updated_at: number;
}

export class SqliteTranscriptStore implements TranscriptStore {
  /** the database file; its `-wal` and `-shm` companions sit beside it */
  readonly path: string;
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly putTx: (owner: string, id: string, envelopeJson: string) => PutResult;
  private readonly selectEnvelope: Database.Statement<[string, string], { envelope: string }>;
  private readonly selectList: Database.Statement<[string], InfoRow>;
  private readonly deleteOne: Database.Statement<[string, string]>;
  private readonly deleteOwner: Database.Statement<[string]>;

  constructor(dataDir: string, options: SqliteStoreOptions = {}) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.path = path.join(dataDir, DB_FILE_NAME);
    this.now = options.now ?? Date.now;
    this.db = new Database(this.path);
    // Owner-only: SQLite gives the -wal and -shm files the same mode as the database.
    fs.chmodSync(this.path, 0o600);
    this.db.pragma('journal_mode = WAL');
    // FULL: a delete that has been acknowledged survives a power cut.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('secure_delete = ON');
    if (this.db.pragma('secure_delete', { simple: true }) !== 1) {
      throw new Error('this SQLite build cannot turn secure_delete on; refusing to store transcripts');
    }
    // Envelope last: listing reads only the leading columns and never touches the big overflow pages.
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS transcripts (
        owner      TEXT    NOT NULL,
        id         TEXT    NOT NULL,
        size_bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        envelope   TEXT    NOT NULL,
        PRIMARY KEY (owner, id)
      ) STRICT
    `);

    const selectCreated = this.db.prepare<[string, string], { created_at: number }>('SELECT created_at FROM transcripts WHERE owner = ? AND id = ?');
    const insert = this.db.prepare<[string, string, number, number, number, string]>(
      'INSERT INTO transcripts (owner, id, size_bytes, created_at, updated_at, envelope) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const update = this.db.prepare<[number, number, string, string, string]>(
      'UPDATE transcripts SET size_bytes = ?, updated_at = ?, envelope = ? WHERE owner = ? AND id = ?',
    );
    this.putTx = this.db.transaction((owner: string, id: string, envelopeJson: string): PutResult => {
      const now = this.now();
      const sizeBytes = Buffer.byteLength(envelopeJson, 'utf8');
      const existing = selectCreated.get(owner, id);
      if (existing) update.run(sizeBytes, now, envelopeJson, owner, id);
      else insert.run(owner, id, sizeBytes, now, now, envelopeJson);
      return { created: !existing, info: { id, sizeBytes, createdAt: existing?.created_at ?? now, updatedAt: now } };
    });
    this.selectEnvelope = this.db.prepare('SELECT envelope FROM transcripts WHERE owner = ? AND id = ?');
    this.selectList = this.db.prepare('SELECT id, size_bytes, created_at, updated_at FROM transcripts WHERE owner = ? ORDER BY updated_at DESC, id');
    this.deleteOne = this.db.prepare('DELETE FROM transcripts WHERE owner = ? AND id = ?');
    this.deleteOwner = this.db.prepare('DELETE FROM transcripts WHERE owner = ?');
  }

  async put(owner: string, id: string, envelopeJson: string): Promise<PutResult> {
    return this.putTx(owner, id, envelopeJson);
  }

  async get(owner: string, id: string): Promise<string | null> {
    return this.selectEnvelope.get(owner, id)?.envelope ?? null;
  }

  async list(owner: string): Promise<TranscriptInfo[]> {
    return this.selectList.all(owner).map((row) => ({ id: row.id, sizeBytes: row.size_bytes, createdAt: row.created_at, updatedAt: row.updated_at }));
  }

  async delete(owner: string, id: string): Promise<boolean> {
    const { changes } = this.deleteOne.run(owner, id);
    if (changes > 0) this.purgeWal();
    return changes > 0;
  }

  async deleteAll(owner: string): Promise<number> {
    const { changes } = this.deleteOwner.run(owner);
    if (changes > 0) this.purgeWal();
    return changes;
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /**
   * Copies the WAL (with its zeroed pages) into the database file and cuts the
   * WAL to zero bytes, so no page image from before the delete survives.
   */
  private purgeWal(): void {
    const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    // Only another connection reading mid-checkpoint can block it; this store owns the only one.
    if (result.busy !== 0) throw new Error('WAL checkpoint blocked: deleted transcripts may remain in the WAL file');
  }
}
