/**
 * Scenario `http`: autocannon against the real server as a child process on
 * loopback, one route after the other: `/healthz`, `/metrics` and the
 * transcript store's list `GET /v1/transcripts`. Per route: requests per
 * second (mean over the run), latency p50/p99 (autocannon: request written →
 * response complete, per connection) and the status codes seen, so a route
 * answering 401 or 404 shows up as such rather than as fast.
 *
 * When the list route answers 200, `seed` transcripts are stored first
 * (envelopes encrypted with the browser client's own code, client/crypto.ts)
 * so the list has something to list, in a temporary data folder removed
 * afterwards. `--token` sends `authorization: Bearer`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { deriveKey, encryptTranscript, newSalt } from '../client/crypto.js';
import type { ScenarioResult } from './lib/report.js';
import { startServerProcess } from '../testkit/server-process.js';

const ROUTES = ['/healthz', '/metrics', '/v1/transcripts'];

export interface HttpOptions {
  connections: number;
  seconds: number;
  seed: number;
  token: string;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  statusCodeStats: Record<string, { count: number }>;
  errors: number;
  timeouts: number;
}

type Autocannon = (opts: { url: string; connections: number; duration: number; headers: Record<string, string> }) => Promise<AutocannonResult>;

async function seedTranscripts(base: string, headers: Record<string, string>, count: number): Promise<Record<string, number>> {
  const key = await deriveKey('bench password', newSalt());
  const statuses: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const id = `bench-${i}`;
    const envelope = await encryptTranscript(key, id, 1, `transcript ${i}: the train leaves at seven thirty from platform nine. `.repeat(20));
    const res = await fetch(`${base}/v1/transcripts/${id}`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(envelope) });
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  }
  return statuses;
}

export async function benchHttp(opts: HttpOptions): Promise<ScenarioResult> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lt-bench-http-'));
  const server = await startServerProcess(['--data-dir', dataDir]);
  const base = `http://127.0.0.1:${server.port}`;
  const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const rows: Array<Record<string, unknown>> = [];
  const summary: Record<string, unknown> = {};
  try {
    const probe = await fetch(`${base}/v1/transcripts`, { headers });
    summary.transcripts_list_probe = { status: probe.status, body: (await probe.text()).slice(0, 200) };
    if (probe.status === 200 && opts.seed > 0) summary.seeded_put_statuses = await seedTranscripts(base, headers, opts.seed);
    else if (probe.status !== 200) console.warn(`GET /v1/transcripts answers ${probe.status}: its figures below time that answer, not the list`);
    for (const route of ROUTES) {
      const r = await autocannon({ url: `${base}${route}`, connections: opts.connections, duration: opts.seconds, headers });
      const row = {
        route,
        requests_per_s: Math.round(r.requests.average),
        requests: r.requests.total,
        latency_p50_ms: r.latency.p50,
        latency_p99_ms: r.latency.p99,
        status_codes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count])),
        errors: r.errors,
        timeouts: r.timeouts,
      };
      console.log(JSON.stringify(row));
      rows.push(row);
    }
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.table(rows.map((r) => ({ ...r, status_codes: JSON.stringify(r.status_codes) })));
  return { rows, summary };
}
