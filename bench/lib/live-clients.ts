/**
 * The live-client load the streams, capacity and continuous benches share:
 * the server process (testkit/server-process.ts: ours, or the sherpa-onnx-node
 * peer of sherpa-server.ts; or two of ours behind HAProxy running
 * deploy/haproxy.cfg, testkit/haproxy.ts), N WebSocket clients on
 * loopback each sending its own plan (live-audio.ts) in 20 ms frames at
 * real-time pace from one timer, with every frame's send time and every
 * message's receipt time on one clock (performance.now()); and the figures
 * every such run reports alike: server CPU, RSS, batching, model time,
 * dropped partials and event-loop lag (from /proc and /metrics), the drain
 * after `close`, the load generator's own lag, and the "kept real time"
 * verdict. Figures a server does not export are null. Behind HAProxy the
 * server figures are the replicas' together (CPU, RSS and counters summed,
 * event-loop lag the worse replica's), and HAProxy's own CPU is given apart.
 */
import WebSocket from 'ws';
import type { ServerMessage, TranscriptMessage } from '../../protocol/messages.js';
import path from 'node:path';
import { PROJECT_ROOT } from '../../testkit/paths.js';
import { startHaproxy } from '../../testkit/haproxy.js';
import { cpuSeconds, promValue, rssMiB, startServerProcess, startTsProcess, type ServerProcess } from '../../testkit/server-process.js';
import type { Plan } from './live-audio.js';
import { percentile, round } from './stats.js';

const FRAME_MS = 20;
const FRAME_BYTES = FRAME_MS * 16 * 2;
/** How long to wait for `closed` after the last frame before giving up on a stream. */
const CLOSE_TIMEOUT_MS = 60_000;
/** Before each load, wait at most this long for the server to go idle (the backlog of an overloaded run). */
const SETTLE_MAX_MS = 30_000;
/** "Kept real time": the drain p95 stays under this ... */
export const DRAIN_LIMIT_MS = 3000;
/** ... and latency did not grow by this much from the first third of the run to the last. */
export const GROWTH_LIMIT_MS = 1000;

export interface Received {
  msg: TranscriptMessage;
  atMs: number;
}

/** One client's socket and everything it saw, with the client clock. */
export class Client {
  readonly sentAtMs: number[] = [];
  readonly finals: Received[] = [];
  readonly partials: Received[] = [];
  closeSentAtMs = NaN;
  closedAtMs = NaN;
  private readonly done: Promise<void>;

  private constructor(
    readonly ws: WebSocket,
    readonly plan: Plan,
  ) {
    let resolveDone!: () => void;
    this.done = new Promise((r) => (resolveDone = r));
    ws.on('message', (data) => {
      const atMs = performance.now();
      const msg = JSON.parse(data.toString()) as ServerMessage;
      if (msg.type === 'final') this.finals.push({ msg, atMs });
      else if (msg.type === 'partial') this.partials.push({ msg, atMs });
      else if (msg.type === 'closed') this.closedAtMs = atMs;
      else if (msg.type === 'error') console.error(`server error: ${msg.code}: ${msg.message}`);
    });
    ws.on('error', (err) => console.error(`client socket error: ${err.message}`));
    ws.on('close', () => resolveDone());
  }

  static async connect(port: number, plan: Plan, endpointingMs: number): Promise<Client> {
    // Behind HAProxy a session is spread to a replica at the upgrade, like any client's.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/listen?encoding=pcm_s16le&sample_rate=16000&endpointing_ms=${endpointingMs}`);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    return new Client(ws, plan);
  }

  get frameCount(): number {
    return Math.ceil(this.plan.pcm.length / FRAME_BYTES);
  }

  sendFrame(i: number): void {
    this.ws.send(this.plan.pcm.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES));
    this.sentAtMs.push(performance.now());
    if (i === this.frameCount - 1) {
      this.ws.send(JSON.stringify({ type: 'close' }));
      this.closeSentAtMs = performance.now();
    }
  }

  /** Resolves when the socket closes, or after `timeoutMs` (then the socket is dropped). */
  async closed(timeoutMs: number): Promise<void> {
    const timer = setTimeout(() => this.ws.terminate(), timeoutMs);
    await this.done;
    clearTimeout(timer);
  }

  /** Send time of the frame holding stream time `ms`. */
  sentAt(ms: number): number {
    return this.sentAtMs[Math.min(this.sentAtMs.length - 1, Math.max(0, Math.floor(ms / FRAME_MS)))];
  }
}

/** Sends every client's frames at real-time pace from one timer; returns the send lag (actual minus due) of each tick. */
async function pace(clients: Client[]): Promise<number[]> {
  const frames = Math.max(...clients.map((c) => c.frameCount));
  const lagsMs: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    const wait = t0 + i * FRAME_MS - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    lagsMs.push(performance.now() - (t0 + i * FRAME_MS));
    for (const c of clients) if (i < c.frameCount) c.sendFrame(i);
  }
  return lagsMs;
}

/** What the clients drive: the port they connect to, the server processes behind it, and a proxy's pid when there is one. */
export interface Target {
  port: number;
  servers: ServerProcess[];
  proxyPid: number | null;
}

async function metricsText(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

const cpuOf = (pids: number[]) => pids.reduce((s, pid) => s + cpuSeconds(pid), 0);

/** Waits until the servers used under 20% of a core over half a second, or SETTLE_MAX_MS. */
async function settle(pids: number[]): Promise<void> {
  for (let waited = 0; waited < SETTLE_MAX_MS; waited += 500) {
    const cpu0 = cpuOf(pids);
    await new Promise((r) => setTimeout(r, 500));
    if (cpuOf(pids) - cpu0 < 0.1) return;
  }
}

/** Which server the clients drive: ours (server/main.ts), the sherpa-onnx-node peer (sherpa-server.ts), or two of ours behind HAProxy. */
export type ServerKind = 'ours' | 'sherpa' | 'haproxy';
export const SERVER_KINDS: readonly ServerKind[] = ['ours', 'sherpa', 'haproxy'];

/** Starts the server process(es) of `kind` (with `--model` when given), runs `body` against them, and stops them. */
export async function withServer<T>(model: string, body: (target: Target) => Promise<T>, kind: ServerKind = 'ours'): Promise<T> {
  const args = model ? ['--model', model] : [];
  const servers: ServerProcess[] = [];
  let proxy: Awaited<ReturnType<typeof startHaproxy>> | null = null;
  try {
    if (kind === 'sherpa') servers.push(await startTsProcess(path.join(PROJECT_ROOT, 'bench/lib/sherpa-server.ts'), ['--port', '0', ...args]));
    else if (kind === 'ours') servers.push(await startServerProcess(args));
    else {
      for (const id of ['replica1', 'replica2']) servers.push(await startServerProcess([...args, '--replica-id', id]));
      proxy = await startHaproxy(`127.0.0.1:${servers[0].port}`, `127.0.0.1:${servers[1].port}`);
    }
    return await body({ port: proxy?.port ?? servers[0].port, servers, proxyPid: proxy?.pid ?? null });
  } finally {
    await proxy?.stop();
    for (const s of servers) await s.stop();
  }
}

export interface Load {
  clients: Client[];
  /** The figures every live-client bench reports, ready for a row. */
  figures: Record<string, number | null>;
  drainP95Ms: number;
}

/**
 * One client per plan, each asking for `endpointingMs` (the `endpointing_ms`
 * query parameter), all connected first and then paced together; waits for
 * every `closed` and reads the server's figures. It starts once the server is
 * idle, so a run after an overloaded one does not inherit its backlog.
 */
export async function runLoad(target: Target, plans: Plan[], endpointingMs: number): Promise<Load> {
  const pids = target.servers.map((s) => s.pid);
  const rssOf = () => pids.reduce((sum, pid) => sum + rssMiB(pid), 0);
  const metricsTexts = () => Promise.all(target.servers.map((s) => metricsText(s.port)));
  await settle(pids);
  // Each replica's text in turn: promValue sums a series over all of them.
  const metrics0 = (await metricsTexts()).join('\n');
  const cpu0 = cpuOf(pids);
  const proxyCpu0 = target.proxyPid === null ? NaN : cpuSeconds(target.proxyPid);
  const wall0 = performance.now();
  let rssPeakMiB = 0;
  const sampler = setInterval(() => (rssPeakMiB = Math.max(rssPeakMiB, rssOf())), 500);
  const clients = await Promise.all(plans.map((plan) => Client.connect(target.port, plan, endpointingMs)));
  const sendLagMs = await pace(clients);
  await Promise.all(clients.map((c) => c.closed(CLOSE_TIMEOUT_MS)));
  clearInterval(sampler);
  const wallS = (performance.now() - wall0) / 1000;
  const cpuS = cpuOf(pids) - cpu0;
  const proxyCpuS = target.proxyPid === null ? NaN : cpuSeconds(target.proxyPid) - proxyCpu0;
  const rssEndMiB = rssOf();
  const texts1 = await metricsTexts();
  const metrics1 = texts1.join('\n');
  // A figure the server does not export (the sherpa peer has only the audio counter) is null, not 0.
  const has = (name: string) => new RegExp(`^${name}[ {]`, 'm').test(metrics1);
  const d = (name: string, labels = '') => (has(name) ? promValue(metrics1, name, labels) - promValue(metrics0, name, labels) : NaN);
  // A gauge: the worst replica's.
  const at = (name: string) => (has(name) ? Math.max(...texts1.map((t) => promValue(t, name))) : NaN);

  const drains = clients.map((c) => c.closedAtMs - c.closeSentAtMs);
  const notClosed = drains.filter((x) => !Number.isFinite(x)).length;
  const drainP95Ms = notClosed > 0 ? Infinity : percentile(drains, 95);
  const audioS = d('lt_audio_seconds_received_total');
  const figures = {
    audio_s: round(audioS),
    server_cpu_s: round(cpuS, 1),
    server_cpu_pct_of_core: round((cpuS / wallS) * 100),
    proxy_cpu_pct_of_core: round((proxyCpuS / wallS) * 100, 1),
    server_rss_peak_mib: round(Math.max(rssPeakMiB, rssEndMiB)),
    server_rss_end_mib: round(rssEndMiB),
    asr_mean_batch: round(d('lt_asr_batch_size_sum') / d('lt_asr_batch_size_count'), 2),
    vad_mean_batch: round(d('lt_vad_batch_size_sum') / d('lt_vad_batch_size_count'), 2),
    engine_rtf: round((d('lt_model_call_seconds_sum', 'model="asr"') + d('lt_model_call_seconds_sum', 'model="vad"')) / audioS, 3),
    server_final_mean_ms: round((d('lt_final_latency_seconds_sum') / d('lt_final_latency_seconds_count')) * 1000),
    partials_dropped: round(d('lt_partials_dropped_total')),
    drain_p95_ms: round(drainP95Ms),
    streams_not_closed: notClosed,
    client_send_lag_p99_ms: round(percentile(sendLagMs, 99)),
    // prom-client resets its event-loop delay histogram at each scrape, so these cover this run alone.
    server_event_loop_lag_p99_ms: round(at('lt_process_nodejs_eventloop_lag_p99_seconds') * 1000),
    server_event_loop_lag_max_ms: round(at('lt_process_nodejs_eventloop_lag_max_seconds') * 1000),
  };
  return { clients, figures, drainP95Ms };
}

/** Median latency of the last third (by stream time) minus that of the first third: a server falling behind shows rising latency. */
export function latencyGrowthMs(lat: Array<{ atStreamMs: number; latencyMs: number }>): number {
  const sorted = [...lat].sort((a, b) => a.atStreamMs - b.atStreamMs);
  const third = Math.floor(sorted.length / 3);
  if (third === 0) return 0;
  const med = (xs: typeof sorted) => percentile(xs.map((x) => x.latencyMs), 50);
  return med(sorted.slice(-third)) - med(sorted.slice(0, third));
}

/** Kept real time: no backlog at the end (drain p95 under DRAIN_LIMIT_MS) and latency that did not grow over the run. */
export function keptRealTime(load: Load, growthMs: number): boolean {
  return load.drainP95Ms < DRAIN_LIMIT_MS && growthMs < GROWTH_LIMIT_MS;
}
