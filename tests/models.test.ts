/**
 * Model registry, download cache and resolution, against a real HTTP server
 * on 127.0.0.1 serving archives made here with the system tar.
 */
import { testRegistryEntry } from './helpers/registry-entry.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { embeddingModelPath, isCached, probeUrl, pullEmbeddingModel, pullModel, type PullOptions } from '../engine/models/download.js';
import { REGISTRY, SPEAKER_EMBEDDING_REGISTRY, type RegistryModel, type SpeakerEmbeddingRegistryModel } from '../engine/models/registry.js';
import { DEMO_MODEL_DIR, DEMO_STREAMING_MODEL_DIR, resolveLanguageModel, resolveModel } from '../engine/models/resolve.js';
import { PROJECT_ROOT } from '../testkit/paths.js';

const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'models-test-'));
// Random bytes do not compress, so the archive is big enough to cut mid-way.
const modelBytes = randomish(300_000);
const tokensText = '<blk> 0\n\u2581a 1\n';

interface Archive {
  bytes: Buffer;
  sha256: string;
}
const archives = new Map<string, Archive>();
const requests: Array<{ url: string; range: string | undefined }> = [];
const droppedOnce = new Set<string>();
let server: http.Server;
let baseUrl: string;
let modelsDir: string;

/** Deterministic incompressible bytes, so failures reproduce. */
function randomish(length: number): Buffer {
  const out = Buffer.alloc(length);
  let block = createHash('sha256').update('models-test').digest();
  for (let pos = 0; pos < length; pos += block.length) {
    block.copy(out, pos);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

function makeArchive(name: string, opts: { tarFlag: string; topFolder: string | null; withTokens: boolean }): void {
  const src = mkdtempSync(path.join(tmpRoot, 'src-'));
  const content = opts.topFolder ? path.join(src, opts.topFolder) : src;
  mkdirSync(content, { recursive: true });
  writeFileSync(path.join(content, 'model.onnx'), modelBytes);
  if (opts.withTokens) writeFileSync(path.join(content, 'tokens.txt'), tokensText);
  const file = path.join(tmpRoot, name);
  execFileSync('tar', ['-c', opts.tarFlag, '-f', file, '-C', opts.topFolder ? src : content, opts.topFolder ?? '.']);
  const bytes = readFileSync(file);
  archives.set(name, { bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
}

/** Serves an archive, honouring `Range: bytes=N-` unless told to ignore it. */
function serveArchive(req: http.IncomingMessage, res: http.ServerResponse, archive: Archive, honourRange: boolean): void {
  const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const total = archive.bytes.length;
  if (match && honourRange) {
    const start = Number(match[1]);
    if (start >= total) {
      res.writeHead(416, { 'content-range': `bytes */${total}` }).end();
      return;
    }
    res.writeHead(206, { 'content-length': total - start, 'content-range': `bytes ${start}-${total - 1}/${total}` });
    res.end(archive.bytes.subarray(start));
    return;
  }
  res.writeHead(200, { 'content-length': total });
  res.end(archive.bytes);
}

// Paths: /files/NAME (Range), /redirect/NAME (302 to /files), /drop-once/NAME
// (first request cut after half the bytes), /stall-once/NAME (first request
// goes silent after half the bytes), /no-range/NAME (Range ignored).
function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  requests.push({ url: req.url ?? '', range: req.headers.range });
  const [, mode, name] = (req.url ?? '').split('/');
  const archive = archives.get(name ?? '');
  if (!archive) {
    res.writeHead(404).end('not found');
    return;
  }
  if (mode === 'redirect') {
    res.writeHead(302, { location: `../files/${name}` }).end();
  } else if (mode === 'files') {
    serveArchive(req, res, archive, true);
  } else if (mode === 'no-range') {
    serveArchive(req, res, archive, false);
  } else if (mode === 'drop-once' && !droppedOnce.has(name)) {
    droppedOnce.add(name);
    res.writeHead(200, { 'content-length': archive.bytes.length });
    res.write(archive.bytes.subarray(0, archive.bytes.length >> 1), () => res.socket?.destroy());
  } else if (mode === 'stall-once' && !droppedOnce.has(name)) {
    droppedOnce.add(name);
    res.writeHead(200, { 'content-length': archive.bytes.length });
    res.write(archive.bytes.subarray(0, archive.bytes.length >> 1));
  } else if (mode === 'drop-once' || mode === 'stall-once') {
    serveArchive(req, res, archive, true);
  } else {
    res.writeHead(404).end('not found');
  }
}

function entry(url: string, overrides: Partial<RegistryModel> = {}): RegistryModel {
  return testRegistryEntry({
    name: 'fake-model',
    description: 'test archive',
    url,
    archiveBytes: null,
    sha256: archives.get(path.basename(url))?.sha256 ?? null,
    ...overrides,
  });
}

function pullOptions(lines: string[] = []): PullOptions {
  return { modelsDir, progress: false, retryDelayMs: 0, log: (line) => lines.push(line) };
}

function expectInstalled(name = 'fake-model'): void {
  const dir = path.join(modelsDir, name);
  expect(readFileSync(path.join(dir, 'model.onnx')).equals(modelBytes)).toBe(true);
  expect(readFileSync(path.join(dir, 'tokens.txt'), 'utf8')).toBe(tokensText);
  // Only the model folder remains: no .part, no extraction folder.
  expect(readdirSync(modelsDir)).toEqual([name]);
}

beforeAll(async () => {
  makeArchive('fake.tar.bz2', { tarFlag: '-j', topFolder: 'fake-model', withTokens: true });
  makeArchive('flat.tar.gz', { tarFlag: '-z', topFolder: null, withTokens: true });
  makeArchive('no-tokens.tar.bz2', { tarFlag: '-j', topFolder: 'fake-model', withTokens: false });
  // A speaker-embedding model is one ONNX file, served as it is.
  archives.set('speaker.onnx', { bytes: modelBytes, sha256: createHash('sha256').update(modelBytes).digest('hex') });
  server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(tmpRoot, { recursive: true, force: true });
});

beforeEach(() => {
  modelsDir = mkdtempSync(path.join(tmpRoot, 'cache-'));
  requests.length = 0;
  droppedOnce.clear();
});

describe('pullModel', () => {
  it('downloads through a redirect, verifies sha256, extracts, and then serves from the cache', async () => {
    expect(archives.get('fake.tar.bz2')!.bytes.length).toBeGreaterThan(200_000);
    const model = entry(`${baseUrl}/redirect/fake.tar.bz2`);
    const pulled = await pullModel(model, pullOptions());
    expect(pulled.modelPath).toBe(path.join(modelsDir, 'fake-model', 'model.onnx'));
    expectInstalled();
    expect(isCached(model, modelsDir)).toBe(true);
    expect(requests.map((r) => r.url)).toEqual(['/redirect/fake.tar.bz2', '/files/fake.tar.bz2']);

    await pullModel(model, pullOptions());
    expect(requests).toHaveLength(2);
  });

  it('unpacks a .tar.gz whose files sit at the archive root', async () => {
    await pullModel(entry(`${baseUrl}/files/flat.tar.gz`), pullOptions());
    expectInstalled();
  });

  it('retries a connection dropped mid-way, resuming with a Range request', async () => {
    const lines: string[] = [];
    await pullModel(entry(`${baseUrl}/drop-once/fake.tar.bz2`), pullOptions(lines));
    expectInstalled();
    expect(requests).toHaveLength(2);
    expect(requests[0].range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(requests[1].range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThan(archives.get('fake.tar.bz2')!.bytes.length);
    expect(lines.some((l) => l.includes('resuming at'))).toBe(true);
  });

  it('drops a stalled connection and resumes', async () => {
    await pullModel(entry(`${baseUrl}/stall-once/fake.tar.bz2`), { ...pullOptions(), stallTimeoutMs: 300 });
    expectInstalled();
    expect(requests).toHaveLength(2);
    expect(requests[1].range).toMatch(/^bytes=[1-9]\d*-$/);
  });

  it('keeps the .part of a failed pull and continues it on the next pull', async () => {
    const model = entry(`${baseUrl}/drop-once/fake.tar.bz2`);
    await expect(pullModel(model, { ...pullOptions(), maxAttempts: 1 })).rejects.toThrow(/failed after 1 attempts/);
    const part = path.join(modelsDir, 'fake-model.tar.bz2.part');
    const partBytes = statSync(part).size;
    expect(partBytes).toBeGreaterThan(0);
    expect(isCached(model, modelsDir)).toBe(false);

    await pullModel(model, pullOptions());
    expect(requests[1].range).toBe(`bytes=${partBytes}-`);
    expectInstalled();
  });

  it('fails on a sha256 mismatch and leaves nothing in the cache', async () => {
    const model = entry(`${baseUrl}/files/fake.tar.bz2`, { sha256: '0'.repeat(64) });
    await expect(pullModel(model, pullOptions())).rejects.toThrow(/sha256 mismatch/);
    expect(readdirSync(modelsDir)).toEqual([]);
    expect(isCached(model, modelsDir)).toBe(false);
  });

  it('restarts from the beginning when the server ignores Range', async () => {
    // A stale partial file of wrong bytes: appending to it would break the checksum.
    writeFileSync(path.join(modelsDir, 'fake-model.tar.bz2.part'), Buffer.alloc(1000, 7));
    const lines: string[] = [];
    await pullModel(entry(`${baseUrl}/no-range/fake.tar.bz2`), pullOptions(lines));
    expect(requests.map((r) => r.range)).toEqual(['bytes=1000-']);
    expect(lines.some((l) => l.includes('ignored the Range'))).toBe(true);
    expectInstalled();
  });

  it('rejects an archive without the tokens file and installs nothing', async () => {
    await expect(pullModel(entry(`${baseUrl}/files/no-tokens.tar.bz2`), pullOptions())).rejects.toThrow(/no tokens\.txt/);
    expect(readdirSync(modelsDir)).toEqual([]);
  });

  it('does not retry a 404', async () => {
    await expect(pullModel(entry(`${baseUrl}/files/missing.tar.bz2`), pullOptions())).rejects.toThrow(/HTTP 404/);
    expect(requests).toHaveLength(1);
  });
});

describe('pullEmbeddingModel (one ONNX file)', () => {
  const embedding = (url: string, sha256: string | null = archives.get('speaker.onnx')!.sha256): SpeakerEmbeddingRegistryModel => ({ name: 'fake-speaker', description: 'test file', url, bytes: null, sha256, distance: 0.5 });

  it('resumes a dropped download, verifies sha256, and places the file under speaker-embedding/ only once whole', async () => {
    const model = embedding(`${baseUrl}/drop-once/speaker.onnx`);
    const file = await pullEmbeddingModel(model, pullOptions());
    expect(file).toBe(path.join(modelsDir, 'speaker-embedding', 'fake-speaker.onnx'));
    expect(embeddingModelPath(model, modelsDir)).toBe(file);
    expect(readFileSync(file).equals(modelBytes)).toBe(true);
    expect(readdirSync(path.dirname(file))).toEqual(['fake-speaker.onnx']);
    expect(requests.map((r) => r.range)).toEqual([undefined, `bytes=${modelBytes.length >> 1}-`]);
    await pullEmbeddingModel(model, pullOptions());
    expect(requests).toHaveLength(2);
  });

  it('deletes a download whose sha256 does not match and installs nothing', async () => {
    const model = embedding(`${baseUrl}/files/speaker.onnx`, '0'.repeat(64));
    await expect(pullEmbeddingModel(model, pullOptions())).rejects.toThrow(/fake-speaker: sha256 mismatch/);
    expect(readdirSync(path.join(modelsDir, 'speaker-embedding'))).toEqual([]);
  });
});

describe('resolveModel', () => {
  function fakeModelFolder(dir: string, files: string[]): void {
    mkdirSync(dir, { recursive: true });
    for (const f of files) writeFileSync(path.join(dir, f), f === 'tokens.txt' ? tokensText : 'onnx');
  }

  it('takes a folder path, preferring model.onnx over model.int8.onnx', () => {
    const dir = path.join(modelsDir, 'my-model');
    fakeModelFolder(dir, ['model.int8.onnx', 'tokens.txt']);
    const lines: string[] = [];
    expect(resolveModel(dir, { modelsDir, log: (l) => lines.push(l) })).toEqual({
      name: 'my-model',
      modelPath: path.join(dir, 'model.int8.onnx'),
      tokensPath: path.join(dir, 'tokens.txt'),
      source: 'path',
    });
    expect(lines).toHaveLength(1);
    fakeModelFolder(dir, ['model.onnx']);
    expect(resolveModel(dir, { modelsDir, log: () => {} }).modelPath).toBe(path.join(dir, 'model.onnx'));
    rmSync(path.join(dir, 'tokens.txt'));
    expect(() => resolveModel(dir, { modelsDir, log: () => {} })).toThrow(/no tokens\.txt/);
  });

  it('takes a registry name once pulled, and picks the first pulled model when none is named', () => {
    const model = REGISTRY[2];
    expect(() => resolveModel(model.name, { modelsDir, log: () => {} })).toThrow(`npm run models -- pull ${model.name}`);
    fakeModelFolder(path.join(modelsDir, model.name), [model.modelFile, model.tokensFile]);
    const named = resolveModel(model.name, { modelsDir, log: () => {} });
    expect(named).toEqual({
      name: model.name,
      modelPath: path.join(modelsDir, model.name, model.modelFile),
      tokensPath: path.join(modelsDir, model.name, model.tokensFile),
      source: 'registry',
    });
    const lines: string[] = [];
    const unnamed = resolveModel(undefined, { modelsDir, log: (l) => lines.push(l), demoDir: path.join(modelsDir, 'no-demo') });
    expect(unnamed).toEqual({ ...named, source: 'cached' });
    expect(lines.join('\n')).toContain('first downloaded registry model');
  });

  it('picks a pulled offline model before a pulled streaming one when none is named', () => {
    const streaming = REGISTRY.find((m) => m.streaming !== null)!;
    const offline = REGISTRY.filter((m) => m.streaming === null).at(-1)!;
    const demoDir = path.join(modelsDir, 'no-demo');
    fakeModelFolder(path.join(modelsDir, streaming.name), [streaming.modelFile, streaming.tokensFile]);
    expect(resolveModel(undefined, { modelsDir, demoDir, log: () => {} }).name).toBe(streaming.name);
    fakeModelFolder(path.join(modelsDir, offline.name), [offline.modelFile, offline.tokensFile]);
    expect(resolveModel(undefined, { modelsDir, demoDir, log: () => {} }).name).toBe(offline.name);
    expect(resolveModel(streaming.name, { modelsDir, demoDir, log: () => {} }).modelPath).toBe(path.join(modelsDir, streaming.name, streaming.modelFile));
  });

  it('falls back to the demo model when nothing is pulled', () => {
    const demoDir = path.join(modelsDir, 'demo-en-ctc');
    expect(() => resolveModel(undefined, { modelsDir, demoDir, log: () => {} })).toThrow(/no demo model.*npm run models -- pull/);
    fakeModelFolder(demoDir, ['model.onnx', 'tokens.txt']);
    const lines: string[] = [];
    expect(resolveModel(undefined, { modelsDir, demoDir, log: (l) => lines.push(l) })).toEqual({
      name: 'demo-en-ctc',
      modelPath: path.join(demoDir, 'model.onnx'),
      tokensPath: path.join(demoDir, 'tokens.txt'),
      source: 'demo',
    });
    expect(lines.join('\n')).toContain('demo model');
    expect(DEMO_MODEL_DIR).toBe(path.join(PROJECT_ROOT, 'models', 'demo-en-ctc'));
  });

  it('takes demo and the shipped folders, by name or path, as demo models', () => {
    const quiet = { modelsDir, log: () => {} };
    expect(resolveModel('demo', quiet)).toMatchObject({ name: 'demo-en-ctc', source: 'demo', modelPath: path.join(DEMO_MODEL_DIR, 'model.onnx') });
    expect(resolveModel('demo-en-ctc', quiet)).toMatchObject({ name: 'demo-en-ctc', source: 'demo' });
    expect(resolveModel(DEMO_MODEL_DIR, quiet)).toMatchObject({ name: 'demo-en-ctc', source: 'demo' });
    if (existsSync(DEMO_STREAMING_MODEL_DIR)) expect(resolveModel(DEMO_STREAMING_MODEL_DIR, quiet)).toMatchObject({ name: 'demo-en-streaming-ctc', source: 'demo' });
  });

  it('rejects a name that is neither a folder nor a registry model', () => {
    expect(() => resolveModel('no-such-model', { modelsDir, log: () => {} })).toThrow(/neither an existing folder nor a registry model.*sherpa-onnx-nemo-ctc-en-conformer-small/);
  });
});

describe('probeUrl (the quick look before a startup pull)', () => {
  it('answers for an archive, through a redirect, with a one-byte Range request', async () => {
    await probeUrl(`${baseUrl}/redirect/fake.tar.bz2`, 5000);
    expect(requests.slice(-2)).toEqual([
      { url: '/redirect/fake.tar.bz2', range: 'bytes=0-0' },
      { url: '/files/fake.tar.bz2', range: 'bytes=0-0' },
    ]);
  });

  it('rejects an HTTP error, a refused connection, and silence past the timeout', async () => {
    await expect(probeUrl(`${baseUrl}/files/none.tar.bz2`, 5000)).rejects.toThrow(/HTTP 404/);
    const silent = http.createServer(() => {}); // reads the request, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const started = Date.now();
      await expect(probeUrl(`http://127.0.0.1:${port}/x.tar.bz2`, 500)).rejects.toThrow('timed out after 500 ms');
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
    await expect(probeUrl(`http://127.0.0.1:${port}/x.tar.bz2`, 5000)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('resolveLanguageModel', () => {
  it('finds lm.arpa or lm.arpa.gz beside the model with "auto", and says when there is none', () => {
    const lines: string[] = [];
    const demoModel = path.join(DEMO_MODEL_DIR, 'model.onnx');
    expect(resolveLanguageModel('auto', demoModel, (l) => lines.push(l))).toBe(path.join(DEMO_MODEL_DIR, 'lm.arpa.gz'));
    const bare = path.join(modelsDir, 'no-lm');
    mkdirSync(bare, { recursive: true });
    expect(resolveLanguageModel('auto', path.join(bare, 'model.onnx'), (l) => lines.push(l))).toBeUndefined();
    writeFileSync(path.join(bare, 'lm.arpa'), '');
    expect(resolveLanguageModel('auto', path.join(bare, 'model.onnx'), (l) => lines.push(l))).toBe(path.join(bare, 'lm.arpa'));
    expect(lines).toEqual([
      `language model: ${path.join(DEMO_MODEL_DIR, 'lm.arpa.gz')} (beside the model)`,
      'language model: none beside the model',
      `language model: ${path.join(bare, 'lm.arpa')} (beside the model)`,
    ]);
  });

  it('takes "none" and a named file, and rejects a file that is not there', () => {
    const demoModel = path.join(DEMO_MODEL_DIR, 'model.onnx');
    expect(resolveLanguageModel('none', demoModel, () => {})).toBeUndefined();
    const named = path.join(DEMO_MODEL_DIR, 'lm.arpa.gz');
    expect(resolveLanguageModel(named, path.join(modelsDir, 'other', 'model.onnx'), () => {})).toBe(named);
    expect(() => resolveLanguageModel('/no/such/lm.arpa', demoModel, () => {})).toThrow('language model "/no/such/lm.arpa" does not exist (or use auto / none)');
  });

  it('finds a word LM (words.arpa or words.arpa.gz) beside the model for the word kind', () => {
    const lines: string[] = [];
    const demoModel = path.join(DEMO_MODEL_DIR, 'model.onnx');
    expect(resolveLanguageModel('auto', demoModel, (l) => lines.push(l), 'word')).toBe(path.join(DEMO_MODEL_DIR, 'words.arpa.gz'));
    const bare = path.join(modelsDir, 'no-word-lm');
    mkdirSync(bare, { recursive: true });
    writeFileSync(path.join(bare, 'lm.arpa'), '');
    expect(resolveLanguageModel('auto', path.join(bare, 'model.onnx'), (l) => lines.push(l), 'word')).toBeUndefined();
    expect(lines).toEqual([`word language model: ${path.join(DEMO_MODEL_DIR, 'words.arpa.gz')} (beside the model)`, 'word language model: none beside the model']);
    expect(() => resolveLanguageModel('/no/such/words.arpa', demoModel, () => {}, 'word')).toThrow('word language model "/no/such/words.arpa" does not exist (or use auto / none)');
  });
});

describe('registry', () => {
  it('lists sherpa-onnx asr-models archives whose names match their URLs', () => {
    expect(REGISTRY.length).toBeGreaterThanOrEqual(4);
    expect(new Set(REGISTRY.map((m) => m.name)).size).toBe(REGISTRY.length);
    for (const m of REGISTRY) {
      expect(m.url).toBe(`https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models/${m.name}.tar.bz2`);
      expect(m.sha256 === null || /^[0-9a-f]{64}$/.test(m.sha256)).toBe(true);
      expect(m.archiveBytes === null || m.archiveBytes > 1e6).toBe(true);
      expect(m.modelFile).toMatch(/^model(\.int8)?\.onnx$/);
      expect(m.tokensFile).toBe('tokens.txt');
      expect(m.streaming === null || (Number.isInteger(m.streaming.latencyMs) && m.streaming.latencyMs > 0)).toBe(true);
    }
  });

  it('lists the streaming NeMo CTC exports, int8 as separate archives, after every offline entry', () => {
    const streaming = REGISTRY.filter((m) => m.streaming !== null);
    expect(streaming.map((m) => [m.name, m.streaming!.latencyMs, m.modelFile])).toEqual(
      [80, 480, 1040].flatMap((ms) => [
        [`sherpa-onnx-nemo-streaming-fast-conformer-ctc-en-${ms}ms`, ms, 'model.onnx'],
        [`sherpa-onnx-nemo-streaming-fast-conformer-ctc-en-${ms}ms-int8`, ms, 'model.int8.onnx'],
      ]),
    );
    // The default is the first cached entry: offline ones come first, so it stays offline when one is cached.
    const firstStreaming = REGISTRY.findIndex((m) => m.streaming !== null);
    expect(REGISTRY.slice(0, firstStreaming).every((m) => m.streaming === null)).toBe(true);
    expect(REGISTRY.slice(firstStreaming).every((m) => m.streaming !== null)).toBe(true);
    expect(REGISTRY[0].streaming).toBeNull();
  });
});

describe('models CLI', () => {
  function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'server/models-cli.ts'), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, MODELS_DIR: modelsDir },
      encoding: 'utf8',
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('lists, prints paths, and rejects bad usage', () => {
    const model = REGISTRY[1];
    mkdirSync(path.join(modelsDir, model.name));
    writeFileSync(path.join(modelsDir, model.name, model.modelFile), 'onnx');
    writeFileSync(path.join(modelsDir, model.name, model.tokensFile), tokensText);

    const listed = cli('list');
    expect(listed.status).toBe(0);
    const rows = listed.stdout.split('\n');
    expect(rows[0]).toMatch(/^NAME +SIZE  STREAMING  CACHED  DESCRIPTION$/);
    for (const m of REGISTRY) {
      const row = rows.find((r) => r.startsWith(`${m.name} `));
      expect(row, m.name).toBeDefined();
      expect(row).toMatch(m === model ? / yes / : / no /);
      expect(row).toContain(m.streaming ? `  ${m.streaming.latencyMs} ms ` : '  offline ');
    }
    expect(rows.find((r) => r.startsWith('sherpa-onnx-nemo-streaming-fast-conformer-ctc-en-80ms-int8 '))).toMatch(/ 99 MB  80 ms +no /);

    const printed = cli('path', model.name);
    expect(printed.status).toBe(0);
    expect(printed.stdout.trim()).toBe(path.join(modelsDir, model.name));
    expect(existsSync(printed.stdout.trim())).toBe(true);

    const notPulled = cli('path', REGISTRY[0].name);
    expect(notPulled.status).toBe(1);
    expect(notPulled.stderr).toContain(`npm run models -- pull ${REGISTRY[0].name}`);

    const speaker = SPEAKER_EMBEDDING_REGISTRY[0];
    const speakerRow = rows.find((r) => r.startsWith(`${speaker.name} `));
    expect(rows.indexOf(speakerRow!)).toBeGreaterThan(rows.findIndex((r) => r.startsWith('speaker-embedding models')));
    expect(speakerRow).toMatch(new RegExp(` ${speaker.distance} +no `));
    expect(cli('path', speaker.name).status).toBe(1);
    mkdirSync(path.join(modelsDir, 'speaker-embedding'));
    writeFileSync(path.join(modelsDir, 'speaker-embedding', `${speaker.name}.onnx`), 'onnx');
    expect(cli('path', speaker.name).stdout.trim()).toBe(path.join(modelsDir, 'speaker-embedding', `${speaker.name}.onnx`));

    const unknown = cli('pull', 'nope');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown model "nope"');
    expect(cli('frobnicate').status).toBe(2);
  });
});
