/**
 * The Dockerfile, without a Docker engine: it lints clean (dockerfile-utils,
 * the validator behind the Docker VS Code extension); it has the stages,
 * users, settings and health check the deployment relies on; every setting
 * it gives the server is one the server reads, and parses to the intended
 * config; what it copies exists, is not in .dockerignore, and is runtime
 * code only (no tests/, bench/, testkit/, eval/ or tools/, nor imports of
 * them); and its HEALTHCHECK command really passes against a live server and
 * fails when nothing listens.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { loadConfig, OPTIONS } from '../server/config.js';
import { PROJECT_ROOT } from '../testkit/paths.js';
import { startTestServer } from '../testkit/server.js';

const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(path.join(PROJECT_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name: string;
  image: string;
  body: Instruction[];
}

/** Instructions with continuation lines joined and comments dropped, grouped by build stage. */
function parseStages(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    pending += line.replace(/\\\s*$/, ' ');
    if (/\\\s*$/.test(line)) continue;
    const m = /^\s*(\S+)\s*(.*)$/.exec(pending)!;
    instructions.push({ keyword: m[1].toUpperCase(), args: m[2].trim() });
    pending = '';
  }
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const [image, , name] = ins.args.split(/\s+/);
      stages.push({ name: name ?? '', image, body: [] });
    } else stages.at(-1)?.body.push(ins);
  }
  return stages;
}

const stages = parseStages(dockerfile);
const stage = (name: string) => stages.find((s) => s.name === name)!;
const args = (s: Stage, keyword: string) => s.body.filter((i) => i.keyword === keyword).map((i) => i.args);

function envOf(s: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of args(s, 'ENV')) {
    for (const pair of line.split(/\s+/)) {
      const [key, ...value] = pair.split('=');
      env[key] = value.join('=');
    }
  }
  return env;
}

/** The exec form (a JSON array) after HEALTHCHECK's options and CMD. */
function healthcheckCommand(s: Stage): string[] {
  const [line] = args(s, 'HEALTHCHECK');
  return JSON.parse(line.slice(line.indexOf('CMD') + 3).trim()) as string[];
}

describe('Dockerfile', () => {
  it('lints clean', () => {
    expect(validate(dockerfile)).toEqual([]);
  });

  it('builds dependencies in one stage, adds the CUDA provider in another, and ends in a CPU and a GPU image (GPU by default)', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'build-cuda', 'cpu', 'gpu']);
    expect(stage('build-cuda').image).toBe('build');
    expect(args(stage('build-cuda'), 'ARG')).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
    expect(args(stage('build-cuda'), 'RUN').join(' ')).toContain('onnxruntime-node/script/install.js');
    expect(stage('gpu').image).toMatch(/^nvidia\/cuda:12\.[0-9.]+-cudnn-runtime-ubuntu/);
    expect(stage('cpu').image).toMatch(/^node:\$\{NODE_VERSION\}-[a-z]+-slim$/);
    expect(args(stage('gpu'), 'COPY').some((a) => a.startsWith('--from=build-cuda '))).toBe(true);
    expect(args(stage('cpu'), 'COPY').some((a) => a.startsWith('--from=build '))).toBe(true);
  });

  for (const [name, provider] of [
    ['cpu', 'cpu'],
    ['gpu', 'cuda'],
  ] as const) {
    it(`image ${name}: non-root, listens on 0.0.0.0 with the ${provider} provider, checks /healthz, runs the server`, () => {
      const s = stage(name);
      const [user] = args(s, 'USER');
      expect(user).toMatch(/^[1-9][0-9]*:[1-9][0-9]*$/);
      expect(args(s, 'RUN').join(' ')).toContain(`--uid ${user.split(':')[0]}`);
      const env = envOf(s);
      const serverEnvs = OPTIONS.map((o) => o.env);
      // Everything else it sets must be read by the server, or a typo would go unnoticed.
      expect(Object.keys(env).filter((k) => !serverEnvs.includes(k))).toEqual(['NODE_ENV', 'MODELS_DIR']);
      const cfg = loadConfig([], env);
      expect(cfg).toMatchObject({ host: '0.0.0.0', executionProvider: provider, dataDir: '/var/lib/live-transcribe/data' });
      expect(args(s, 'EXPOSE')).toEqual([String(cfg.port)]);
      expect(args(s, 'VOLUME')).toEqual(['["/var/lib/live-transcribe"]']);
      expect(healthcheckCommand(s).join(' ')).toContain('/healthz');
      const cmd = JSON.parse(args(s, 'CMD')[0]) as string[];
      expect(cmd).toEqual(['node', '--import', 'tsx', 'server/main.ts']);
    });
  }

  // What the build copies from the context (COPY --from copies between stages).
  const sources = stages.flatMap((s) => args(s, 'COPY')).filter((a) => !a.startsWith('--from')).flatMap((a) => a.split(/\s+/).slice(0, -1));

  it('copies only files that exist and that .dockerignore lets through; leaves local state out', () => {
    const ignored = (p: string) => dockerignore.some((pat) => p === pat || p.startsWith(`${pat}/`) || (pat.startsWith('*') && p.endsWith(pat.slice(1))));
    expect(sources.length).toBeGreaterThan(3);
    for (const src of sources) {
      expect(existsSync(path.join(PROJECT_ROOT, src)), `${src} exists`).toBe(true);
      expect(ignored(src), `${src} is not in .dockerignore`).toBe(false);
    }
    for (const local of ['node_modules', 'data', 'bench/results', 'tools/train-demo-model/work', '.scratch', '.git']) expect(dockerignore).toContain(local);
  });

  it('copies the runtime only: no tests, benches, test kit or evaluation code, and nothing it copies imports them', () => {
    const devFolders = ['tests', 'bench', 'testkit', 'eval', 'tools'];
    const topFolder = (p: string) => path.normalize(p).split(path.sep)[0];
    expect(sources.filter((src) => src === '.' || src === './'), 'the whole context is not copied').toEqual([]);
    expect(sources.filter((src) => devFolders.includes(topFolder(src)))).toEqual([]);
    const strays: string[] = [];
    for (const dir of sources.filter((src) => statSync(path.join(PROJECT_ROOT, src)).isDirectory())) {
      for (const file of readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
        const from = path.join(dir, file);
        const text = readFileSync(path.join(PROJECT_ROOT, from), 'utf8');
        for (const [, spec] of text.matchAll(/(?:from|import\()\s*'(\.[^']*)'/g)) {
          const target = path.join(path.dirname(from), spec);
          if (devFolders.includes(topFolder(target))) strays.push(`${from} imports ${target}`);
        }
      }
    }
    expect(strays).toEqual([]);
  });

  it('has a HEALTHCHECK command that passes against a live server and fails when nothing listens', async () => {
    const [exe, ...rest] = healthcheckCommand(stage('cpu'));
    // Asynchronous: the server under test runs in this process and must answer while the check runs.
    const run = (port: number) =>
      new Promise<number | null>((resolve) => {
        const child = execFile(exe === 'node' ? process.execPath : exe, rest, { env: { ...process.env, PORT: String(port) }, timeout: 10_000 });
        child.once('exit', (code) => resolve(code));
      });
    const server = await startTestServer();
    const port = server.port;
    try {
      expect(await run(port)).toBe(0);
    } finally {
      await server.shutdown();
    }
    expect(await run(port)).toBe(1);
  });
});
