/**
 * API-key administration: `npm run keys -- COMMAND`, on the machine that runs
 * the server (it edits `api-keys.json` in the data folder; a running server
 * picks changes up on its next request).
 *
 *   create OWNER   make a key for OWNER and print it, the only time it is shown
 *   list           key ids, owners and creation times (never the keys)
 *   revoke ID      delete the key with this id
 *
 * The data folder is the server's: `--data-dir DIR` or DATA_DIR, default ./data.
 */
import { createKey, keysFilePath, readKeys, revokeKey } from './api-keys.js';
import { loadConfig } from './config.js';

const USAGE = 'usage: npm run keys -- create OWNER | list | revoke ID   [--data-dir DIR]';

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  const needsArg = command === 'create' || command === 'revoke';
  const arg = needsArg ? rest.shift() : undefined;
  if (!command || (needsArg && (!arg || arg.startsWith('--'))) || !['create', 'list', 'revoke'].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  const file = keysFilePath(loadConfig(rest, process.env).dataDir);
  if (command === 'create') {
    const { key, record } = createKey(file, arg!);
    console.error(`created key ${record.id} for owner "${record.owner}" in ${file}; it is shown once, store it now:`);
    console.log(key);
  } else if (command === 'list') {
    for (const k of readKeys(file)) console.log(`${k.id}  ${k.owner}  ${k.created_at}`);
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
