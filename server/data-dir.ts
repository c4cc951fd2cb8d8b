/**
 * The data folder (API keys, encrypted transcripts) is the owner's alone:
 * at start an existing folder readable or writable by others is tightened
 * to 0700, or the server refuses to start. A missing folder is left missing
 * (it is created owner-only when first needed), so a server that only
 * streams writes nothing.
 */
import fs from 'node:fs';

export function secureDataDir(dir: string, log: (line: string) => void): void {
  let mode: number;
  try {
    mode = fs.statSync(dir).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if ((mode & 0o077) === 0) return;
  try {
    fs.chmodSync(dir, 0o700);
  } catch (err) {
    throw new Error(`data folder ${dir} is open to others (mode ${mode.toString(8)}) and cannot be made owner-only: ${(err as Error).message}`);
  }
  log(`data folder ${dir} was mode ${mode.toString(8)}: tightened to 700 (owner only)`);
}
