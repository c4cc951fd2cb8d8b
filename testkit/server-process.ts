/**
 * Test kit: runs the real server (or another bench server) as a child
 * process, so its CPU time and memory can be read from /proc separately from
 * the load generator's or the test runner's; plus the readers that go with it
 * (/proc CPU time and RSS, /metrics text). Used by the benches and by the
 * tests that need a server process of its own (drain, no-disk, soak).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './paths.js';

const CLOCK_TICKS_PER_S = 100;

export interface ServerProcess {
  port: number;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Runs a TypeScript entry point in a child node process (node --import tsx,
 * so the pid is the process doing the work, not a tsx wrapper) and waits for
 * it to print `listening on ws://host:PORT`.
 */
export async function startTsProcess(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, cwd = PROJECT_ROOT): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script, ...args], {
    cwd,
    // No tsx compile cache in the child's TMPDIR: tests/server-no-disk.test.ts checks the server writes nothing there.
    env: { ...process.env, TSX_DISABLE_CACHE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer) => {
      log += d.toString();
      const m = /listening on ws:\/\/[^:]+:(\d+)/.exec(log);
      if (m) resolve(Number(m[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before listening:\n${log}`)));
  });
  return {
    port,
    pid: child.pid!,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * The real server (server/main.ts) on a free loopback port, serving
 * LT_TEST_MODEL when set (testkit/server.ts) unless `env` names a MODEL.
 * OFFLINE=1 unless `env` says otherwise: a test never downloads a model.
 */
export async function startServerProcess(args: string[] = [], env: NodeJS.ProcessEnv = {}, cwd = PROJECT_ROOT): Promise<ServerProcess> {
  const model = process.env.LT_TEST_MODEL ? { MODEL: process.env.LT_TEST_MODEL } : {};
  return startTsProcess(path.join(PROJECT_ROOT, 'server/main.ts'), ['--port', '0', ...args], { OFFLINE: '1', ...model, ...env }, cwd);
}

/** CPU seconds (user + system) used so far by a process. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Sum and count of a Prometheus histogram (or a counter's value) from /metrics text. */
export function promValue(text: string, name: string, labels = ''): number {
  const re = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : '(?:\\{[^}]*\\})?'} ([0-9.eE+-]+)$`, 'gm');
  let total = 0;
  for (const m of text.matchAll(re)) total += Number(m[1]);
  return total;
}
