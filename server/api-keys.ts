/**
 * The API-key file: `api-keys.json` in the data folder, written only by the
 * `npm run keys` CLI (keys-cli.ts) and read by the server (with
 * `--database-url` the keys live in PostgreSQL instead, store/pg-keys.ts). It holds, per key,
 * its id, the owner it acts for, the SHA-256 of the key and when it expires
 * (if ever); the key itself is printed once at creation and stored nowhere. Keys are 256 random bits, so a plain
 * SHA-256 is enough (a slow password hash protects guessable secrets only).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const KEYS_FILE_NAME = 'api-keys.json';
export const KEY_PREFIX = 'ltk_';
export const OWNER_PATTERN = /^[A-Za-z0-9._@-]{1,128}$/;

export interface ApiKeyRecord {
  /** a short public name for the key (the first hex digits of its hash), for listing and revoking */
  id: string;
  owner: string;
  sha256: string;
  created_at: string;
  /** ISO time after which the key (and every token minted with it) is refused; absent: never */
  expires_at?: string;
}

interface KeysFile {
  keys: ApiKeyRecord[];
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function keysFilePath(dataDir: string): string {
  return path.join(dataDir, KEYS_FILE_NAME);
}

/** The file's records; none when it does not exist. Throws on a malformed file (better than running with no keys silently). */
export function readKeys(file: string): ApiKeyRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<KeysFile>;
  if (!Array.isArray(parsed.keys)) throw new Error(`${file}: expected {"keys": [...]}`);
  for (const k of parsed.keys) {
    const badExpiry = k.expires_at !== undefined && (typeof k.expires_at !== 'string' || Number.isNaN(Date.parse(k.expires_at)));
    if (typeof k.id !== 'string' || typeof k.owner !== 'string' || !OWNER_PATTERN.test(k.owner) || typeof k.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(k.sha256) || badExpiry) {
      throw new Error(`${file}: malformed key record ${JSON.stringify(k).slice(0, 200)}`);
    }
  }
  return parsed.keys;
}

/** Owner-only, and replaced atomically so the server never reads half a file. */
function writeKeys(file: string, keys: ApiKeyRecord[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** A new key for `owner`, valid for `ttlMs` (null: until revoked), and its record: the key is seen only here. */
export function newKey(owner: string, ttlMs: number | null = null, now = new Date()): { key: string; record: ApiKeyRecord } {
  if (!OWNER_PATTERN.test(owner)) throw new Error(`owner must match ${OWNER_PATTERN.source}, got ${JSON.stringify(owner)}`);
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  const sha256 = hashKey(key);
  const record: ApiKeyRecord = { id: sha256.slice(0, 12), owner, sha256, created_at: now.toISOString() };
  if (ttlMs !== null) record.expires_at = new Date(now.getTime() + ttlMs).toISOString();
  return { key, record };
}

/** Adds a key for `owner` to the file, valid for `ttlMs` (null: until revoked), and returns it: the only time it is ever seen. */
export function createKey(file: string, owner: string, ttlMs: number | null = null, now = new Date()): { key: string; record: ApiKeyRecord } {
  const created = newKey(owner, ttlMs, now);
  writeKeys(file, [...readKeys(file), created.record]);
  return created;
}

/** Removes the key with this id; false when there is none. */
export function revokeKey(file: string, id: string): boolean {
  const keys = readKeys(file);
  const kept = keys.filter((k) => k.id !== id);
  if (kept.length === keys.length) return false;
  writeKeys(file, kept);
  return true;
}

/** A key as the server checks it. */
export interface ActiveKey {
  id: string;
  owner: string;
  /** milliseconds since the Unix epoch; Infinity: never */
  expiresAtMs: number;
}

/**
 * The server's view of the keys: by hash and by id. The keys come from the
 * file (FileKeyRing) or from PostgreSQL, shared by replicas
 * (store/pg-keys.ts); either way a key created or revoked with the CLI takes
 * effect without a restart.
 */
export class KeyRing {
  private byHash = new Map<string, ActiveKey>();
  private byId = new Map<string, ActiveKey>();

  /** `where`: where the keys live, for messages. */
  constructor(readonly where: string) {}

  get size(): number {
    this.refresh();
    return this.byHash.size;
  }

  /** The record of `key`, or null when there is none (expired keys included: the caller says why it refuses). */
  find(key: string): ActiveKey | null {
    this.refresh();
    return this.byHash.get(hashKey(key)) ?? null;
  }

  /** The key with this id, or null when it was revoked (or never existed). */
  findId(id: string): ActiveKey | null {
    this.refresh();
    return this.byId.get(id) ?? null;
  }

  /** Brings the keys up to date before a lookup; a ring whose keys are pushed in (replace) needs nothing here. */
  protected refresh(): void {}

  protected replace(records: ApiKeyRecord[]): void {
    const keys = records.map((k) => ({ sha256: k.sha256, key: { id: k.id, owner: k.owner, expiresAtMs: k.expires_at ? Date.parse(k.expires_at) : Infinity } }));
    this.byHash = new Map(keys.map((k) => [k.sha256, k.key]));
    this.byId = new Map(keys.map((k) => [k.key.id, k.key]));
  }
}

/** The keys of the file, re-read whenever it changes (a stat per lookup). */
export class FileKeyRing extends KeyRing {
  private stamp = '';

  /** Throws if the file is malformed now; later breakage is logged and the last good keys stay in force. */
  constructor(
    readonly file: string,
    private readonly log: (line: string) => void,
  ) {
    super(file);
    this.load(true);
  }

  protected override refresh(): void {
    this.load(false);
  }

  private load(strict: boolean): void {
    try {
      const stamp = fileStamp(this.file);
      if (stamp === this.stamp) return;
      this.stamp = stamp;
      this.replace(readKeys(this.file));
    } catch (err) {
      if (strict) throw err;
      this.log(`API keys not reloaded, keeping the previous ones: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** Changes whenever the file is rewritten (the CLI replaces it, so the inode changes too). */
function fileStamp(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.ino}:${st.mtimeMs}:${st.size}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
}
