/**
 * API-key administration: `npm run keys -- COMMAND`, on the machine that runs
 * the server (it edits `api-keys.json` in the data folder; a running server
 * picks changes up on its next request), or anywhere that reaches the
 * replicas' PostgreSQL with `--database-url` / DATABASE_URL (every replica
 * picks changes up within a second, store/pg-keys.ts).
 *
 *   create OWNER [--expires-in-days N]
 *                  make a key for OWNER and print it, the only time it is
 *                  shown; with N, it (and its tokens) stop working N days later
 *   list           key ids, owners, creation and expiry times (never the keys)
 *   revoke ID      delete the key with this id: it, its tokens and the live
 *                  sessions opened with either stop working within a second
 *
 * The data folder is the server's: `--data-dir DIR` or DATA_DIR, default ./data.
 */
import { createKey, keysFilePath, readKeys, revokeKey, type ApiKeyRecord } from './api-keys.js';
import { loadConfig } from './config.js';
import { createPgKey, listPgKeys, revokePgKey } from './store/pg-keys.js';
import { PgDatabase } from './store/pg-store.js';

const USAGE = 'usage: npm run keys -- create OWNER [--expires-in-days N] | list | revoke ID   [--data-dir DIR | --database-url postgres://...]';
const DAY_MS = 86_400_000;

/** Where the keys live: the file in the data folder, or the replicas' PostgreSQL. */
interface KeyPlace {
  where: string;
  create(owner: string, ttlMs: number | null): Promise<{ key: string; record: ApiKeyRecord }>;
  list(): Promise<ApiKeyRecord[]>;
  revoke(id: string): Promise<boolean>;
  close(): Promise<void>;
}

async function keyPlace(args: string[]): Promise<KeyPlace> {
  const cfg = loadConfig(args, process.env);
  if (cfg.databaseUrl) {
    const db = await PgDatabase.open(cfg.databaseUrl, { log: (line) => console.error(line), startupWaitMs: 5000 });
    return { where: `PostgreSQL ${db.where}`, create: (o, t) => createPgKey(db, o, t), list: () => listPgKeys(db), revoke: (id) => revokePgKey(db, id), close: () => db.close() };
  }
  const file = keysFilePath(cfg.dataDir);
  return { where: file, create: async (o, t) => createKey(file, o, t), list: async () => readKeys(file), revoke: async (id) => revokeKey(file, id), close: async () => {} };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const needsArg = command === 'create' || command === 'revoke';
  const arg = needsArg ? rest.shift() : undefined;
  if (!command || (needsArg && (!arg || arg.startsWith('--'))) || !['create', 'list', 'revoke'].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  let ttlMs: number | null = null;
  const expiry = rest.indexOf('--expires-in-days');
  if (command === 'create' && expiry >= 0) {
    const days = Number(rest[expiry + 1]);
    if (!(days > 0)) {
      console.error(`--expires-in-days needs a positive number of days\n${USAGE}`);
      return 2;
    }
    ttlMs = days * DAY_MS;
    rest.splice(expiry, 2);
  }
  const place = await keyPlace(rest);
  try {
    if (command === 'create') {
      const { key, record } = await place.create(arg!, ttlMs);
      console.error(`created key ${record.id} for owner "${record.owner}" in ${place.where}${record.expires_at ? `, expiring ${record.expires_at}` : ''}; it is shown once, store it now:`);
      console.log(key);
    } else if (command === 'list') {
      for (const k of await place.list()) console.log(`${k.id}  ${k.owner}  ${k.created_at}  ${k.expires_at ? `expires ${k.expires_at}` : 'never expires'}`);
    } else {
      if (!(await place.revoke(arg!))) {
        console.error(`no key with id ${arg} in ${place.where}`);
        return 1;
      }
      console.error(`revoked key ${arg}`);
    }
    return 0;
  } finally {
    await place.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
