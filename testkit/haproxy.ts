/**
 * Test kit: HAProxy (Debian's `haproxy`, .ci/install-system-deps) running
 * the shipped deploy/haproxy.cfg itself, in the foreground, on free
 * 127.0.0.1 ports, in front of two replicas given as host:port. Used by the
 * scale-out test and by the live benches' `--server haproxy`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from './paths.js';
import { freePort } from './postgres.js';

export const HAPROXY_CONFIG = path.join(PROJECT_ROOT, 'deploy/haproxy.cfg');

export interface Haproxy {
  /** where clients connect */
  port: number;
  pid: number;
  /** HAProxy's stats page (/stats) and Prometheus exporter (/metrics) */
  statsPort: number;
  /** Each server's state as HAProxy sees it (UP, DOWN, ...), by name. */
  serverStates(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** HAProxy in front of `replica1` and `replica2` (host:port each); resolves once both are UP. */
export async function startHaproxy(replica1: string, replica2: string, timeoutMs = 30_000): Promise<Haproxy> {
  const port = await freePort();
  const statsPort = await freePort();
  const env = { ...process.env, LT_BIND: `127.0.0.1:${port}`, LT_STATS_BIND: `127.0.0.1:${statsPort}`, REPLICA1: replica1, REPLICA2: replica2 };
  // -db: stay in the foreground, so the child is HAProxy itself and dies with a signal.
  const child = spawn('haproxy', ['-db', '-f', HAPROXY_CONFIG], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`haproxy exited unexpectedly (${code ?? signal}):\n${log}`);
  });
  child.once('error', (err) => (log += `\n${err.message}`));

  const serverStates = async (): Promise<Record<string, string>> => {
    const csv = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text();
    const rows = csv.split('\n').map((l) => l.split(','));
    const status = rows[0].indexOf('status');
    return Object.fromEntries(rows.filter((r) => r[0] === 'replicas' && r[1] !== 'BACKEND').map((r) => [r[1], r[status]]));
  };
  const stop = async () => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };

  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`haproxy exited (${child.exitCode ?? child.signalCode}):\n${log}`);
    const states = await serverStates().catch(() => ({}) as Record<string, string>);
    if (states.replica1 === 'UP' && states.replica2 === 'UP') break;
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`haproxy: replicas not UP after ${timeoutMs} ms (${JSON.stringify(states)}):\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, pid: child.pid!, statsPort, serverStates, stop };
}
