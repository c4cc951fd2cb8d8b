/**
 * Test kit: a throwaway PostgreSQL cluster (Debian's `postgresql` package,
 * .ci/install-system-deps): initdb into a fresh temporary folder, then the
 * postmaster in the foreground on a free 127.0.0.1 port, no Unix socket, no
 * fsync. initdb and postgres refuse to run as root, so when the tests run as
 * root (CI) both run as the `postgres` system user the package creates (or
 * `nobody`), through `setpriv`, which execs rather than forks: the child's
 * pid is the postmaster's. `halt()` and `restart()` make an outage;
 * `stop()` shuts it down (fast mode) and removes the folder.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Postgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** the data folder */
  dataDir: string;
  /** Shuts the postmaster down, keeping the cluster (a database outage). */
  halt(): Promise<void>;
  /** Starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Shuts it down and removes the cluster. */
  stop(): Promise<void>;
}

/** The folder of initdb and postgres: on PATH, or Debian's versioned one. */
export function postgresBinDir(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'postgres'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(dir, 'initdb'))) return dir;
  }
  return null;
}

/** A TCP port free on 127.0.0.1 now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** `argv` as the user PostgreSQL may run as: this one, or when root a system user. */
function asPostgresUser(argv: string[]): { command: string; args: string[]; uid?: number } {
  if (process.getuid?.() !== 0) return { command: argv[0], args: argv.slice(1) };
  const user = ['postgres', 'nobody'].find((u) => {
    try {
      execFileSync('id', ['-u', u], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!user) throw new Error('running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as');
  const uid = Number(execFileSync('id', ['-u', user]).toString());
  return { command: 'setpriv', args: [`--reuid=${user}`, `--regid=${execFileSync('id', ['-g', user]).toString().trim()}`, '--init-groups', ...argv], uid };
}

export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (Debian: apt-get install postgresql; see .ci/install-system-deps)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lt-pg-'));
  const data = path.join(dir, 'data');
  const initdb = asPostgresUser([path.join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  if (initdb.uid !== undefined) fs.chownSync(dir, initdb.uid, -1);
  try {
    execFileSync(initdb.command, initdb.args, { stdio: 'pipe', cwd: dir });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? String(err)}`);
  }
  const port = await freePort();
  let child = await postmaster(bin, data, port, dir);
  const halt = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    // SIGINT: fast shutdown (sessions are cut, the cluster stops cleanly).
    child.kill('SIGINT');
    await exited;
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir: data,
    halt,
    restart: async () => {
      await halt();
      child = await postmaster(bin, data, port, dir);
    },
    stop: async () => {
      await halt();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The postmaster in the foreground, once it accepts connections. */
async function postmaster(bin: string, data: string, port: number, cwd: string): Promise<ChildProcess> {
  const run = asPostgresUser([
    path.join(bin, 'postgres'), '-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', '',
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=50',
  ]);
  const child = spawn(run.command, run.args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`postgres exited (${code}) before accepting connections:\n${log}`));
    child.once('exit', onExit);
    const poll = setInterval(() => {
      if (!/ready to accept connections/.test(log)) return;
      clearInterval(poll);
      child.off('exit', onExit);
      resolve();
    }, 50);
    child.once('exit', () => clearInterval(poll));
  });
  return child;
}
