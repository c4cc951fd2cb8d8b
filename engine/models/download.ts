/**
 * Pulls a registry model into the local cache: a resumable HTTP(S) download
 * to `<name>.<ext>.part` (Range requests, redirects, stall timeout, retries),
 * sha256 verification, extraction with the system `tar` into a temporary
 * folder, and an atomic rename to `<cache>/<name>/` once the model and tokens
 * files are known to be there. A cache folder therefore either holds a
 * complete model or does not exist. A speaker-embedding model is one ONNX
 * file: the same download and check, then a rename to
 * `<cache>/speaker-embedding/<name>.onnx`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RegistryModel, SpeakerEmbeddingRegistryModel } from './registry.js';

export function defaultModelsDir(): string {
  return process.env.MODELS_DIR || path.join(os.homedir(), '.cache', 'live-transcribe', 'models');
}

export function modelCacheDir(model: RegistryModel, modelsDir: string): string {
  return path.join(modelsDir, model.name);
}

/** Cached means both files are in place; extraction only renames complete folders into the cache. */
export function isCached(model: RegistryModel, modelsDir: string): boolean {
  const dir = modelCacheDir(model, modelsDir);
  return existsSync(path.join(dir, model.modelFile)) && existsSync(path.join(dir, model.tokensFile));
}

export interface PullOptions {
  modelsDir?: string;
  /** Status lines (start, resume, verify, extract, done); default stderr. */
  log?: (line: string) => void;
  /** Progress display on stderr; off in tests. Default true. */
  progress?: boolean;
  /** Attempts per download, each resuming where the last one stopped. Default 5. */
  maxAttempts?: number;
  /** Pause before attempt n is n × this. Default 2000. */
  retryDelayMs?: number;
  /** A connection that sends nothing for this long is dropped and retried. Default 30000. */
  stallTimeoutMs?: number;
}

export interface PulledModel {
  dir: string;
  modelPath: string;
  tokensPath: string;
}

export async function pullModel(model: RegistryModel, opts: PullOptions = {}): Promise<PulledModel> {
  const modelsDir = opts.modelsDir ?? defaultModelsDir();
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = modelCacheDir(model, modelsDir);
  const result = { dir, modelPath: path.join(dir, model.modelFile), tokensPath: path.join(dir, model.tokensFile) };
  if (isCached(model, modelsDir)) {
    log(`${model.name}: already in ${dir}`);
    return result;
  }
  await mkdir(modelsDir, { recursive: true });
  const format = archiveFormat(model.url);
  const partPath = path.join(modelsDir, `${model.name}${format.extension}.part`);
  await downloadVerified({ name: model.name, url: model.url, bytes: model.archiveBytes, sha256: model.sha256 }, partPath, opts, log);

  log(`${model.name}: extracting`);
  try {
    await extractInto(partPath, format.tarFlag, model, dir);
  } finally {
    // Kept on failure, a broken archive would only be "resumed" into the same failure.
    await rm(partPath, { force: true });
  }
  log(`${model.name}: ready in ${dir}`);
  return result;
}

/** Where a speaker-embedding model's file lives in the cache. */
export function embeddingModelPath(model: SpeakerEmbeddingRegistryModel, modelsDir: string): string {
  return path.join(modelsDir, 'speaker-embedding', `${model.name}.onnx`);
}

/** Pulls a speaker-embedding model (one ONNX file) into the cache; returns its path. The file appears only once verified. */
export async function pullEmbeddingModel(model: SpeakerEmbeddingRegistryModel, opts: PullOptions = {}): Promise<string> {
  const modelsDir = opts.modelsDir ?? defaultModelsDir();
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const file = embeddingModelPath(model, modelsDir);
  if (existsSync(file)) {
    log(`${model.name}: already in ${file}`);
    return file;
  }
  await mkdir(path.dirname(file), { recursive: true });
  const partPath = `${file}.part`;
  await downloadVerified(model, partPath, opts, log);
  await rename(partPath, file);
  log(`${model.name}: ready in ${file}`);
  return file;
}

/** Downloads (or resumes) `what.url` into `partPath` and checks its sha256 when one is published; a mismatch deletes the file. */
async function downloadVerified(what: { name: string; url: string; bytes: number | null; sha256: string | null }, partPath: string, opts: PullOptions, log: (line: string) => void): Promise<void> {
  await downloadFile(what.url, partPath, {
    log: (line) => log(`${what.name}: ${line}`),
    progress: opts.progress ?? true,
    label: what.name,
    expectedBytes: what.bytes,
    maxAttempts: opts.maxAttempts ?? 5,
    retryDelayMs: opts.retryDelayMs ?? 2000,
    stallTimeoutMs: opts.stallTimeoutMs ?? 30_000,
  });
  if (!what.sha256) {
    log(`${what.name}: no published sha256, skipping verification`);
    return;
  }
  log(`${what.name}: verifying sha256`);
  const actual = await sha256File(partPath);
  if (actual !== what.sha256.toLowerCase()) {
    await rm(partPath, { force: true });
    throw new Error(`${what.name}: sha256 mismatch (expected ${what.sha256}, got ${actual}); the download was deleted, nothing was installed`);
  }
}

// ---------------------------------------------------------------- archives

function archiveFormat(url: string): { extension: string; tarFlag: string } {
  const pathname = new URL(url).pathname;
  if (pathname.endsWith('.tar.bz2')) return { extension: '.tar.bz2', tarFlag: '-j' };
  if (pathname.endsWith('.tar.gz') || pathname.endsWith('.tgz')) return { extension: '.tar.gz', tarFlag: '-z' };
  throw new Error(`unsupported archive type (want .tar.bz2 or .tar.gz): ${url}`);
}

/**
 * Extracts next to the cache (same filesystem, so the final rename is atomic)
 * and moves the archive's single top folder, or its root when files sit at
 * the top, to `dest`.
 */
async function extractInto(archivePath: string, tarFlag: string, model: RegistryModel, dest: string): Promise<void> {
  const tmp = path.join(path.dirname(dest), `.extract-${model.name}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    await runTar(['-x', tarFlag, '-f', archivePath, '-C', tmp]);
    const entries = await readdir(tmp, { withFileTypes: true });
    const root = entries.length === 1 && entries[0].isDirectory() ? path.join(tmp, entries[0].name) : tmp;
    for (const file of [model.modelFile, model.tokensFile]) {
      if (!existsSync(path.join(root, file))) throw new Error(`${model.name}: the archive has no ${file} (expected in its top folder)`);
    }
    // A folder here is a leftover without both files (isCached said no): replace it.
    await rm(dest, { recursive: true, force: true });
    await rename(root, dest);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function runTar(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('tar', args, (err, _stdout, stderr) => {
      if (err) reject(new Error(`tar ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

// ---------------------------------------------------------------- HTTP

interface DownloadOptions {
  log: (line: string) => void;
  progress: boolean;
  label: string;
  /** Shown as the total when the server sends no length. */
  expectedBytes: number | null;
  maxAttempts: number;
  retryDelayMs: number;
  stallTimeoutMs: number;
}

const MAX_REDIRECTS = 10;

/**
 * Downloads `url` into `partPath`, continuing an existing partial file with a
 * Range request. A server that answers a Range request with the whole file
 * (200) restarts the file; a dropped or stalled connection is retried from
 * where it stopped.
 */
async function downloadFile(url: string, partPath: string, opts: DownloadOptions): Promise<void> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= opts.maxAttempts; attempt++) {
    if (attempt > 1) {
      opts.log(`attempt ${attempt - 1} failed (${errorMessage(lastError)}); retrying`);
      await sleep(opts.retryDelayMs * (attempt - 1));
    }
    try {
      await downloadOnce(url, partPath, opts);
      return;
    } catch (err) {
      if (err instanceof FatalDownloadError) throw err;
      lastError = err;
    }
  }
  throw new Error(`download of ${url} failed after ${opts.maxAttempts} attempts: ${errorMessage(lastError)} (the partial file ${partPath} is kept; pulling again resumes it)`);
}

/** Errors no retry can fix (HTTP 404, a bad redirect). */
class FatalDownloadError extends Error {}

async function downloadOnce(url: string, partPath: string, opts: DownloadOptions): Promise<void> {
  const have = existsSync(partPath) ? (await stat(partPath)).size : 0;
  const res = await request(url, have > 0 ? { range: `bytes=${have}-` } : {}, opts.stallTimeoutMs);

  let offset: number;
  let total: number | null;
  if (res.statusCode === 206 && have > 0) {
    const range = parseContentRange(res.headers['content-range']);
    if (!range || range.start !== have) {
      res.destroy();
      // Unusable partial answer: start over on the next attempt.
      await truncate(partPath, 0);
      throw new Error(`unexpected Content-Range "${res.headers['content-range']}" for a resume from byte ${have}`);
    }
    offset = have;
    total = range.total;
    opts.log(`resuming at ${formatMb(have)}`);
  } else if (res.statusCode === 416 && have > 0) {
    res.resume();
    const range = parseContentRange(res.headers['content-range']);
    if (range && range.total === have) return; // the partial file is already complete
    await truncate(partPath, 0);
    throw new Error(`server rejected the resume from byte ${have}; restarting`);
  } else if (res.statusCode === 200) {
    if (have > 0) opts.log('server ignored the Range request; restarting from the beginning');
    offset = 0;
    const length = Number(res.headers['content-length']);
    total = Number.isFinite(length) && length > 0 ? length : null;
  } else {
    res.resume();
    const message = `HTTP ${res.statusCode} for ${url}`;
    // 5xx and 429 may pass; other client errors will not.
    if (res.statusCode !== undefined && res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 429) throw new FatalDownloadError(message);
    throw new Error(message);
  }

  if (offset === 0) {
    const expected = opts.expectedBytes;
    if (total !== null && expected !== null && total !== expected) opts.log(`server size ${total} B differs from the registry's ${expected} B`);
    opts.log(`downloading ${total !== null ? formatMb(total) : expected !== null ? `~${formatMb(expected)}` : 'unknown size'} from ${url}`);
  }

  const progress = opts.progress ? new ProgressDisplay(opts.label, offset, total ?? opts.expectedBytes) : null;
  let received = offset;
  async function* counted(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      received += chunk.length;
      progress?.update(received);
      yield chunk;
    }
  }
  // flags 'a' appends to a resumed file; 'w' truncates when starting over.
  const file = createWriteStream(partPath, { flags: offset > 0 ? 'a' : 'w' });
  try {
    await pipeline(res, counted, file);
  } finally {
    progress?.finish();
    // On a failed transfer pipeline rejects while writes already handed to the file may still
    // land: wait for the file to close, so the next attempt sizes (and appends to) all of it.
    if (!file.closed) await once(file, 'close');
  }
  if (total !== null && received !== total) throw new Error(`connection closed at ${received} of ${total} bytes`);
}

function request(url: string, headers: Record<string, string>, stallTimeoutMs: number, redirects = 0): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : null;
    if (!client) return reject(new FatalDownloadError(`unsupported URL protocol: ${url}`));
    const req = client.get(target, { headers: { 'user-agent': 'live-transcribe-models', ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) return reject(new FatalDownloadError(`too many redirects from ${url}`));
        // Location may be relative; the Range header travels with the redirect.
        const next = new URL(res.headers.location, target).toString();
        request(next, headers, stallTimeoutMs, redirects + 1).then(resolve, reject);
        return;
      }
      resolve(res);
    });
    // Covers the whole exchange, body included: a socket silent this long is dropped.
    req.setTimeout(stallTimeoutMs, () => req.destroy(new Error(`no data for ${stallTimeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * Whether `url` answers within `timeoutMs` (connection, redirects and the
 * response headers of a one-byte Range request, all told): resolves when it
 * does, rejects with the reason otherwise (no route, DNS failure, refused,
 * timed out, an HTTP error). A quick look before a pull that would otherwise
 * spend its retries on a host that cannot be reached.
 */
export function probeUrl(url: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let current: http.ClientRequest | null = null;
    const timer = setTimeout(() => {
      current?.destroy();
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const go = (target: URL, redirects: number) => {
      const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : null;
      if (!client) return finish(new Error(`unsupported URL protocol: ${target}`));
      current = client.get(target, { headers: { 'user-agent': 'live-transcribe-models', range: 'bytes=0-0' } }, (res) => {
        const status = res.statusCode ?? 0;
        res.destroy();
        if (status >= 300 && status < 400 && res.headers.location) {
          if (redirects >= MAX_REDIRECTS) return finish(new Error(`too many redirects from ${url}`));
          return go(new URL(res.headers.location, target), redirects + 1);
        }
        finish(status < 400 || status === 416 ? undefined : new Error(`HTTP ${status} for ${target}`));
      });
      current.on('error', (err) => finish(err));
    };
    go(new URL(url), 0);
  });
}

function parseContentRange(header: string | undefined): { start: number; total: number | null } | null {
  const match = /^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!match) return null;
  return { start: match[1] === undefined ? -1 : Number(match[1]), total: match[2] === '*' ? null : Number(match[2]) };
}

// ---------------------------------------------------------------- progress

const TTY_REDRAW_MS = 200;
const LINE_EVERY_MS = 5000;
const BAR_WIDTH = 30;

/**
 * A redrawn bar on a terminal; on a pipe or log file, a plain line every few
 * seconds (carriage returns would make a log unreadable).
 */
class ProgressDisplay {
  private readonly tty = process.stderr.isTTY === true;
  private readonly startMs = Date.now();
  private lastDrawMs = 0;
  private lastBytes: number;

  constructor(
    private readonly label: string,
    private readonly startBytes: number,
    private readonly totalBytes: number | null,
  ) {
    this.lastBytes = startBytes;
  }

  update(bytes: number): void {
    this.lastBytes = bytes;
    const now = Date.now();
    if (now - this.lastDrawMs < (this.tty ? TTY_REDRAW_MS : LINE_EVERY_MS)) return;
    this.lastDrawMs = now;
    this.draw(now);
  }

  finish(): void {
    this.draw(Date.now());
    if (this.tty) process.stderr.write('\n');
  }

  private draw(nowMs: number): void {
    const seconds = Math.max((nowMs - this.startMs) / 1000, 0.001);
    const speed = `${formatMb((this.lastBytes - this.startBytes) / seconds)}/s`;
    const fraction = this.totalBytes ? Math.min(this.lastBytes / this.totalBytes, 1) : null;
    const percent = fraction === null ? '  ?  %' : `${(fraction * 100).toFixed(1).padStart(5)}%`;
    const amount = `${formatMb(this.lastBytes)}${this.totalBytes ? ` / ${formatMb(this.totalBytes)}` : ''}`;
    if (this.tty) {
      const filled = fraction === null ? 0 : Math.round(fraction * BAR_WIDTH);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
      process.stderr.write(`\r${this.label} ${bar} ${percent}  ${amount}  ${speed}\x1b[K`);
    } else {
      process.stderr.write(`${this.label}: ${percent.trim()}  ${amount}  ${speed}\n`);
    }
  }
}

function formatMb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
