/**
 * API-key administration: `npm run keys -- COMMAND`, on the machine that runs
 * the server (it edits `api-keys.json` in the data folder; a running server
 * picks changes up on its next request).
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
import { createKey, keysFilePath, readKeys, revokeKey } from './api-keys.js';
import { loadConfig } from './config.js';

const USAGE = 'usage: npm run keys -- create OWNER [--expires-in-days N] | list | revoke ID   [--data-dir DIR]';
const DAY_MS = 86_400_000;

function main(argv: string[]): number {
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
  const file = keysFilePath(loadConfig(rest, process.env).dataDir);
  if (command === 'create') {
    const { key, record } = createKey(file, arg!, ttlMs);
    console.error(`created key ${record.id} for owner "${record.owner}" in ${file}${record.expires_at ? `, expiring ${record.expires_at}` : ''}; it is shown once, store it now:`);
    console.log(key);
  } else if (command === 'list') {
    for (const k of readKeys(file)) console.log(`${k.id}  ${k.owner}  ${k.created_at}  ${k.expires_at ? `expires ${k.expires_at}` : 'never expires'}`);
  } else {
    if (!revokeKey(file, arg!)) {
      console.error(`no key with id ${arg} in ${file}`);
      return 1;
    }
    console.error(`revoked key ${arg}`);
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
