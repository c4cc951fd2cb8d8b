/**
 * What `npm start` serves when no model is configured (server/main.ts, before
 * the server loads anything): a pulled registry model if there is one; else
 * it pulls the registry's default English model (its first entry: progress,
 * resume and sha256 check as `npm run models -- pull` does) and serves it;
 * else (offline by choice, the model host unreachable within a few seconds,
 * or the pull failed) the shipped demo model, which knows only synthetic
 * voices. A configured model (`--model`, MODEL, `--model demo`) is never
 * replaced and nothing is pulled for it. Each outcome is logged with its
 * reason. Tests never get here with a pull possible: the testkit starts
 * servers in-process (no startup step) or with OFFLINE=1.
 */
import path from 'node:path';
import { defaultModelsDir, isCached, modelCacheDir, probeUrl, pullModel, type PullOptions } from '../engine/models/download.js';
import { REGISTRY, findRegistryModel, type RegistryModel } from '../engine/models/registry.js';

/** How long the model host has to answer before the demo model is served instead. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export interface StartupModelOptions {
  /** Never pull (--offline / OFFLINE=1). */
  offline: boolean;
  /** Base URL that replaces the folder of the archive's URL (--model-mirror); empty: the registry's URL. */
  mirror?: string;
  modelsDir?: string;
  /** The model to pull; default the registry's first (its default English model). */
  model?: RegistryModel;
  /** Connection, redirects and first answer of the model host, all told. Default DEFAULT_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  log: (line: string) => void;
  /** Passed to pullModel (progress display, retries); modelsDir and log are the ones above. */
  pull?: Omit<PullOptions, 'modelsDir' | 'log'>;
}

export interface StartupModel {
  /** The `model` setting to serve: unchanged when given; '' lets resolve.ts choose (a pulled model, else the demo model). */
  model: string;
  /** given: configured; cached: a pulled model exists; pulled: pulled now; demo: falling back to the demo model. */
  outcome: 'given' | 'cached' | 'pulled' | 'demo';
  reason: string;
}

/** The pull command a user runs to get a real model, as the log and the page name it. */
export function pullCommand(model: RegistryModel = REGISTRY[0]): string {
  return `npm run models -- pull ${model.name}`;
}

export async function chooseStartupModel(configured: string, opts: StartupModelOptions): Promise<StartupModel> {
  if (configured !== '') return { model: configured, outcome: 'given', reason: 'a model is configured' };
  const modelsDir = opts.modelsDir ?? defaultModelsDir();
  const entry = opts.model ?? REGISTRY[0];
  // A registry entry is served by name; another one (tests) by its folder.
  const spec = findRegistryModel(entry.name) === entry ? entry.name : modelCacheDir(entry, modelsDir);
  const { log } = opts;

  const cached = REGISTRY.find((m) => isCached(m, modelsDir)) ?? (isCached(entry, modelsDir) ? entry : undefined);
  if (cached) {
    // resolve.ts picks the first pulled registry model.
    const reason = `${cached.name} is already pulled into ${modelsDir}`;
    log(`startup: ${reason}; nothing to download`);
    return { model: cached === entry ? spec : '', outcome: 'cached', reason };
  }

  const demo = (reason: string): StartupModel => {
    log(`startup: serving the demo model, which knows synthetic voices only: ${reason}. For real speech: ${pullCommand(entry)}`);
    return { model: '', outcome: 'demo', reason };
  };
  if (opts.offline) return demo('offline (--offline / OFFLINE=1), no model configured and none pulled');

  const url = opts.mirror ? `${opts.mirror.replace(/\/+$/, '')}/${path.posix.basename(new URL(entry.url).pathname)}` : entry.url;
  const host = new URL(url).host;
  const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  try {
    await probeUrl(url, timeoutMs);
  } catch (err) {
    return demo(`cannot download from ${host} (${errorText(err)})`);
  }
  const size = entry.archiveBytes === null ? 'size unknown' : `${Math.round(entry.archiveBytes / 1e6)} MB`;
  log(`startup: no model configured and none pulled: pulling the default English model ${entry.name} (${size}) from ${host} into ${modelsDir}, then serving it (--offline or --model demo skips this)`);
  try {
    await pullModel({ ...entry, url }, { ...opts.pull, modelsDir, log });
  } catch (err) {
    return demo(`the pull of ${entry.name} failed (${errorText(err)})`);
  }
  const reason = `pulled ${entry.name} into ${modelCacheDir(entry, modelsDir)}`;
  log(`startup: ${reason}; serving it`);
  return { model: spec, outcome: 'pulled', reason };
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // An AggregateError (every address refused) has no message of its own.
  if (text === '' && err instanceof AggregateError) return err.errors.map(errorText).join('; ');
  return text === '' ? 'no reason given' : text;
}
