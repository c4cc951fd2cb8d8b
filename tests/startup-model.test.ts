/**
 * What `npm start` serves with no model configured (server/startup-model.ts):
 * the default model pulled from a local HTTP server that serves a registry
 * archive (here the demo network under another name, so the server can
 * really serve it), then served without the demo flag; a pulled model not
 * pulled again; the demo model, with its flag, when offline, when the model
 * host is unreachable or silent (within the connect timeout), when the pull
 * fails; nothing pulled when a model is given. And server/main.ts itself,
 * with the model host silent: it falls back within seconds, says why, and
 * serves the demo model with `demo: true`.
 */
import { testRegistryEntry } from './helpers/registry-entry.js';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ReadyMessage } from '../protocol/messages.js';
import { REGISTRY, type RegistryModel } from '../engine/models/registry.js';
import { DEMO_MODEL_DIR } from '../engine/models/resolve.js';
import { loadConfig } from '../server/config.js';
import { chooseStartupModel, type StartupModelOptions } from '../server/startup-model.js';
import { PROJECT_ROOT, sharedPath } from '../testkit/paths.js';
import { startTestServer, TestClient } from '../testkit/server.js';

const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'startup-model-test-'));
const NAME = 'fake-default-en';
let archive: Buffer;
let sha256: string;
const requests: string[] = [];
let http200: http.Server;
let silent: net.Server;
const silentSockets = new Set<net.Socket>();
let mirror: string;
let silentUrl: string;
let modelsDir: string;
let lines: string[];

/** The registry entry the tests pull: a GitHub-like URL, fetched from the mirror. */
function entry(overrides: Partial<RegistryModel> = {}): RegistryModel {
  return testRegistryEntry({
    name: NAME,
    description: 'the demo network, as a registry archive',
    url: `https://models.invalid/asr-models/${NAME}.tar.gz`,
    archiveBytes: archive.length,
    sha256,
    ...overrides,
  });
}

function options(overrides: Partial<StartupModelOptions> = {}): StartupModelOptions {
  return { offline: false, mirror, modelsDir, model: entry(), connectTimeoutMs: 2000, log: (line) => lines.push(line), pull: { progress: false, retryDelayMs: 0, maxAttempts: 1 }, ...overrides };
}

beforeAll(async () => {
  const src = path.join(tmpRoot, 'src', NAME);
  mkdirSync(src, { recursive: true });
  for (const file of ['model.onnx', 'tokens.txt']) copyFileSync(path.join(DEMO_MODEL_DIR, file), path.join(src, file));
  const file = path.join(tmpRoot, `${NAME}.tar.gz`);
  execFileSync('tar', ['-c', '-z', '-f', file, '-C', path.dirname(src), NAME]);
  archive = readFileSync(file);
  sha256 = createHash('sha256').update(archive).digest('hex');

  http200 = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === `/${NAME}.tar.gz`) res.writeHead(200, { 'content-length': archive.length }).end(archive);
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => http200.listen(0, '127.0.0.1', resolve));
  mirror = `http://127.0.0.1:${(http200.address() as AddressInfo).port}`;
  // Accepts connections and never answers: a host behind a firewall that drops, as far as a client can tell.
  silent = net.createServer((socket) => {
    silentSockets.add(socket);
    socket.on('close', () => silentSockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of silentSockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  await new Promise((resolve) => http200.close(resolve));
  rmSync(tmpRoot, { recursive: true, force: true });
});

beforeEach(() => {
  modelsDir = mkdtempSync(path.join(tmpRoot, 'models-'));
  requests.length = 0;
  lines = [];
});

describe('the startup model', () => {
  it('pulls the default model from the mirror, verifies it, and the server serves it without the demo flag', async () => {
    const chosen = await chooseStartupModel('', options());
    expect(chosen.outcome).toBe('pulled');
    expect(chosen.model).toBe(path.join(modelsDir, NAME));
    expect(requests).toEqual([`/${NAME}.tar.gz`, `/${NAME}.tar.gz`]); // the probe, then the download
    expect(readFileSync(path.join(modelsDir, NAME, 'model.onnx')).equals(readFileSync(path.join(DEMO_MODEL_DIR, 'model.onnx')))).toBe(true);
    expect(readdirSync(modelsDir)).toEqual([NAME]);
    const log = lines.join('\n');
    expect(log).toContain(`startup: no model configured and none pulled: pulling the default English model ${NAME}`);
    expect(log).toContain(`${NAME}: verifying sha256`);
    expect(log).toContain(`startup: pulled ${NAME} into ${path.join(modelsDir, NAME)}; serving it`);

    const server = await startTestServer({ model: chosen.model, dataDir: path.join(modelsDir, 'data') });
    try {
      expect(server.modelName).toBe(NAME);
      const models = (await (await fetch(`http://127.0.0.1:${server.port}/v1/models`)).json()) as { data: Array<{ id: string; demo: boolean }> };
      expect(models.data.map((m) => [m.id, m.demo])).toEqual([[NAME, false]]);
      expect(await (await fetch(`http://127.0.0.1:${server.port}/readyz`)).text()).toBe('ready\n');
      const ready = await readyOf(server.port);
      expect(ready.model).toBe(NAME);
      expect(Object.hasOwn(ready, 'demo')).toBe(false);
    } finally {
      await server.shutdown();
    }

    // Pulled once: the next start downloads nothing.
    requests.length = 0;
    lines = [];
    const again = await chooseStartupModel('', options());
    expect(again).toMatchObject({ outcome: 'cached', model: path.join(modelsDir, NAME) });
    expect(requests).toEqual([]);
    expect(lines.join('\n')).toContain('already pulled');
  });

  it('takes a given model as it is and pulls nothing', async () => {
    for (const given of ['demo', 'demo-en-ctc', 'demo-en-streaming-ctc', '/some/folder']) {
      expect(await chooseStartupModel(given, options())).toMatchObject({ outcome: 'given', model: given });
    }
    expect(requests).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('serves the demo model offline, asking no host', async () => {
    const chosen = await chooseStartupModel('', options({ offline: true }));
    expect(chosen).toMatchObject({ outcome: 'demo', model: '' });
    expect(requests).toEqual([]);
    expect(lines).toEqual([`startup: serving the demo model, which knows synthetic voices only: offline (--offline / OFFLINE=1), no model configured and none pulled. For real speech: npm run models -- pull ${NAME}`]);
  });

  it('serves the demo model when the host refuses, or says nothing within the connect timeout', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const refused = await chooseStartupModel('', options({ mirror: `http://127.0.0.1:${closedPort}` }));
    expect(refused.outcome).toBe('demo');
    expect(lines.at(-1)).toMatch(new RegExp(`cannot download from 127\\.0\\.0\\.1:${closedPort} \\(.*ECONNREFUSED.*\\)`));

    const startedMs = Date.now();
    const timedOut = await chooseStartupModel('', options({ mirror: silentUrl, connectTimeoutMs: 1000 }));
    const tookMs = Date.now() - startedMs;
    expect(timedOut.outcome).toBe('demo');
    expect(tookMs).toBeGreaterThanOrEqual(900);
    expect(tookMs).toBeLessThan(5000);
    expect(lines.at(-1)).toContain('cannot download from 127.0.0.1:' + new URL(silentUrl).port + ' (timed out after 1000 ms)');
    expect(lines.at(-1)).toContain(`For real speech: npm run models -- pull ${NAME}`);
    expect(readdirSync(modelsDir)).toEqual([]);
  });

  it('serves the demo model when the pull fails, installing nothing', async () => {
    const chosen = await chooseStartupModel('', options({ model: entry({ sha256: '0'.repeat(64) }) }));
    expect(chosen.outcome).toBe('demo');
    expect(lines.at(-1)).toMatch(new RegExp(`the pull of ${NAME} failed \\(.*sha256 mismatch`));
    expect(readdirSync(modelsDir)).toEqual([]);

    lines = [];
    const missing = await chooseStartupModel('', options({ model: entry({ name: 'not-there', url: 'https://models.invalid/asr-models/not-there.tar.gz' }) }));
    expect(missing.outcome).toBe('demo');
    expect(lines.at(-1)).toContain('HTTP 404');
  });
});

describe('--offline and --model-mirror', () => {
  it('parse as flags (a bare --offline is true) and environment variables', () => {
    expect(loadConfig([], {}).offline).toBe(false);
    expect(loadConfig(['--offline', '--port', '9'], {})).toMatchObject({ offline: true, port: 9 });
    expect(loadConfig(['--offline=false'], { OFFLINE: '1' }).offline).toBe(false);
    expect(loadConfig([], { OFFLINE: '1' }).offline).toBe(true);
    expect(loadConfig([], { OFFLINE: 'true' }).offline).toBe(true);
    expect(() => loadConfig([], { OFFLINE: 'yes' })).toThrow(/config offline: "yes" is not true, false, 1 or 0/);
    expect(loadConfig(['--model-mirror', 'http://mirror.lan/models'], {}).modelMirror).toBe('http://mirror.lan/models');
  });
});

describe('npm start (server/main.ts) with no model and the model host silent', () => {
  it('falls back to the demo model within seconds, says why, and tells clients', async () => {
    const started = Date.now();
    const server = await startMain({ MODELS_DIR: modelsDir, MODEL_MIRROR: silentUrl });
    try {
      const fellBackMs = server.startupLineMs - started;
      const startup = server.log.split('\n').find((l) => l.startsWith('startup: '));
      expect(startup).toBe(
        `startup: serving the demo model, which knows synthetic voices only: cannot download from ${new URL(silentUrl).host} (timed out after 5000 ms). For real speech: npm run models -- pull ${REGISTRY[0].name}`,
      );
      // The 5 s connect timeout, plus the process's own start on a busy machine.
      expect(fellBackMs).toBeLessThan(20_000);
      expect(server.log).toMatch(/model: demo model .*demo-en-ctc/);
      const base = `http://127.0.0.1:${server.port}`;
      const models = (await (await fetch(`${base}/v1/models`)).json()) as { data: Array<{ id: string; demo: boolean }> };
      expect(models.data.map((m) => [m.id, m.demo])).toEqual([['demo-en-ctc', true]]);
      expect(await (await fetch(`${base}/readyz`)).text()).toBe('ready (demo model: synthetic voices only)\n');
      const ready = await readyOf(server.port);
      expect(ready).toMatchObject({ model: 'demo-en-ctc', demo: true });
      expect(readdirSync(modelsDir)).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 120_000);
});

/** A session's `ready`: the client's first message (close) is answered with it. */
async function readyOf(port: number): Promise<ReadyMessage> {
  const client = await TestClient.connect(port, 'encoding=pcm_s16le&sample_rate=16000');
  client.send({ type: 'close' });
  await client.waitClosed();
  return client.messages.find((m) => m.type === 'ready') as ReadyMessage;
}

/** server/main.ts as `npm start` runs it (no MODEL, not OFFLINE), with its output and when its startup line came. */
async function startMain(env: Record<string, string>): Promise<{ port: number; log: string; startupLineMs: number; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), path.join(PROJECT_ROOT, 'server/main.ts'), '--port', '0', '--vad-model', sharedPath('models/silero-vad-v5/silero_vad.onnx'), '--data-dir', path.join(modelsDir, 'data')],
    { cwd: PROJECT_ROOT, env: { ...process.env, MODEL: '', OFFLINE: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  let startupLineMs = 0;
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer) => {
      log += d.toString();
      if (!startupLineMs && log.includes('startup: ')) startupLineMs = Date.now();
      const m = /listening on ws:\/\/[^:]+:(\d+)/.exec(log);
      if (m) resolve(Number(m[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server/main.ts exited (${code}) before listening:\n${log}`)));
  });
  return {
    port,
    get log() {
      return log;
    },
    startupLineMs,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
