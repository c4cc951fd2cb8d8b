/**
 * Scenario `ws`: the WebSocket transport alone, uWebSockets.js (the server's)
 * against the `ws` package. Each runs the same echo server (lib/echo-server.ts)
 * in its own process on loopback; the same `ws` client in this process drives
 * both with C connections, each keeping `window` binary frames of 640 bytes
 * (20 ms of 16 kHz s16le) in flight for a fixed time. The servers take turns
 * for each C, so background load hits them alike.
 *
 * Round trip: client send of a frame → client receipt of its echo (echoes
 * come back in order per connection). Frames/s counts echoes received per
 * wall second. The server's CPU time per frame (from /proc) is the figure the
 * client cannot limit: with 2 cores the client may be the bottleneck.
 */
import path from 'node:path';
import WebSocket from 'ws';
import { PROJECT_ROOT } from '../testkit/paths.js';
import { cpuSeconds, rssMiB, startTsProcess } from '../testkit/server-process.js';
import type { ScenarioResult } from './lib/report.js';
import { percentile } from './lib/stats.js';
import { lineChart } from './lib/svg.js';

const FRAME_BYTES = 640;
const SERVERS = ['uws', 'ws'] as const;
const LABELS: Record<(typeof SERVERS)[number], string> = { uws: 'uWebSockets.js', ws: 'ws' };
const DRAIN_TIMEOUT_MS = 5000;

export interface TransportOptions {
  connections: number[];
  window: number;
  seconds: number;
}

interface Load {
  echoes: number;
  rttMs: number[];
}

/** One connection's closed loop: keep `window` frames in flight until `stopAtMs`, then wait for the rest. */
async function drive(port: number, window: number, stopAtMs: number, load: Load): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ws.on('error', (err) => console.error(`client socket error: ${err.message}`));
  const frame = new Uint8Array(FRAME_BYTES).map((_, i) => i);
  const inFlight: number[] = [];
  let giveUp: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    const send = () => {
      inFlight.push(performance.now());
      ws.send(frame);
    };
    ws.on('message', () => {
      const now = performance.now();
      load.rttMs.push(now - inFlight.shift()!);
      load.echoes++;
      if (now < stopAtMs) send();
      else if (inFlight.length === 0) resolve();
    });
    giveUp = setTimeout(resolve, stopAtMs - performance.now() + DRAIN_TIMEOUT_MS);
    for (let i = 0; i < window; i++) send();
  });
  clearTimeout(giveUp);
  ws.terminate();
}

export async function benchTransport(opts: TransportOptions): Promise<ScenarioResult> {
  const servers = { uws: await startTsProcess(path.join(PROJECT_ROOT, 'bench/lib/echo-server.ts'), ['uws']), ws: await startTsProcess(path.join(PROJECT_ROOT, 'bench/lib/echo-server.ts'), ['ws']) };
  const rows: Array<{ server: string; connections: number; frames_per_s: number; rtt_p50_ms: number; rtt_p99_ms: number; server_cpu_us_per_frame: number; server_rss_mib: number; client_cpu_pct_of_core: number }> = [];
  try {
    for (const c of opts.connections) {
      for (const kind of SERVERS) {
        const server = servers[kind];
        const load: Load = { echoes: 0, rttMs: [] };
        const cpu0 = cpuSeconds(server.pid);
        const clientCpu0 = process.cpuUsage();
        const t0 = performance.now();
        const stopAtMs = t0 + opts.seconds * 1000;
        await Promise.all(Array.from({ length: c }, () => drive(server.port, opts.window, stopAtMs, load)));
        const wallS = (performance.now() - t0) / 1000;
        const clientCpu = process.cpuUsage(clientCpu0);
        const row = {
          server: LABELS[kind],
          connections: c,
          frames_per_s: Math.round(load.echoes / wallS),
          rtt_p50_ms: Math.round(percentile(load.rttMs, 50) * 100) / 100,
          rtt_p99_ms: Math.round(percentile(load.rttMs, 99) * 100) / 100,
          server_cpu_us_per_frame: Math.round(((cpuSeconds(server.pid) - cpu0) * 1e6) / load.echoes),
          server_rss_mib: Math.round(rssMiB(server.pid)),
          client_cpu_pct_of_core: Math.round(((clientCpu.user + clientCpu.system) / 1e4 / wallS)),
        };
        console.log(JSON.stringify(row));
        rows.push(row);
      }
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
  console.table(rows);
  const chartSvg = lineChart({
    title: 'ws: echo frames per second (640-byte frames, loopback)',
    xLabel: 'concurrent connections',
    yLabel: 'frames per second',
    logX: true,
    series: SERVERS.map((kind) => ({ name: LABELS[kind], points: rows.filter((r) => r.server === LABELS[kind]).map((r) => [r.connections, r.frames_per_s] as [number, number]) })),
  });
  return { rows, summary: { frame_bytes: FRAME_BYTES }, chartSvg };
}
