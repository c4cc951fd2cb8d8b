/**
 * Turns the user's model choice into files on disk: a folder path, a registry
 * name (which must already be pulled), `demo` or a shipped model's folder
 * name, or nothing (the first pulled registry model, else the demo model
 * shipped in the project). Never downloads: the one download a server start
 * may make, of the default model when none is configured and none pulled,
 * is server/startup-model.ts's, before this runs.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../project-root.js';
import { defaultModelsDir, isCached, modelCacheDir } from './download.js';
import { REGISTRY, findRegistryModel } from './registry.js';

export interface ResolvedModel {
  name: string;
  modelPath: string;
  tokensPath: string;
  /** demo: a model shipped in the repository (named, by folder, or the fallback), which knows only synthetic voices. */
  source: 'path' | 'registry' | 'cached' | 'demo';
}

export interface ResolveOptions {
  modelsDir?: string;
  /** Which model was chosen and why; default stderr. */
  log?: (line: string) => void;
  /** The fallback model folder; default `<project root>/models/demo-en-ctc`. */
  demoDir?: string;
}

/** fp32 first: it runs on every execution provider; int8 is the CPU-only alternative some archives ship alone. */
const MODEL_FILE_PREFERENCE = ['model.onnx', 'model.int8.onnx'];
const TOKENS_FILE = 'tokens.txt';

export const DEMO_MODEL_DIR = path.join(PROJECT_ROOT, 'models', 'demo-en-ctc');
/** The streaming demo model (sherpa-onnx's online NeMo CTC contract), served when named: `--model demo-en-streaming-ctc` or its folder. */
export const DEMO_STREAMING_MODEL_DIR = path.join(PROJECT_ROOT, 'models', 'demo-en-streaming-ctc');
/** The models in the repository, which `--model` takes by folder name from any working directory. */
const SHIPPED_MODEL_DIRS = [DEMO_MODEL_DIR, DEMO_STREAMING_MODEL_DIR];
/** `--model demo`: the offline demo model. */
export const DEMO_ALIAS = 'demo';

/** A language model over the model's tokens, or over words (lm-fusion.ts). */
export type LmKind = 'token' | 'word';
const LM_FILES: Record<LmKind, string[]> = { token: ['lm.arpa', 'lm.arpa.gz'], word: ['words.arpa', 'words.arpa.gz'] };

/**
 * The language model of `kind` for `spec`: a file, "none", or "auto" (for
 * tokens lm.arpa or lm.arpa.gz, for words words.arpa or words.arpa.gz, in
 * the model's folder; a token LM only a model's own trainer can make: its
 * tokens must be the model's). undefined: no LM.
 */
export function resolveLanguageModel(spec: string, modelPath: string, log: (line: string) => void = console.error, kind: LmKind = 'token'): string | undefined {
  const what = kind === 'token' ? 'language model' : 'word language model';
  if (spec === 'none') return undefined;
  if (spec !== 'auto') {
    if (!existsSync(spec)) throw new Error(`${what} "${spec}" does not exist (or use auto / none)`);
    log(`${what}: ${spec} (given)`);
    return spec;
  }
  const found = LM_FILES[kind].map((f) => path.join(path.dirname(modelPath), f)).find((f) => existsSync(f));
  log(found ? `${what}: ${found} (beside the model)` : `${what}: none beside the model`);
  return found;
}

export function resolveModel(spec: string | undefined, opts: ResolveOptions = {}): ResolvedModel {
  const modelsDir = opts.modelsDir ?? defaultModelsDir();
  const log = opts.log ?? ((line: string) => console.error(line));

  if (spec) {
    const shipped = spec === DEMO_ALIAS ? DEMO_MODEL_DIR : SHIPPED_MODEL_DIRS.find((d) => path.basename(d) === spec);
    if (shipped && !existsSync(spec)) {
      log(`model: shipped model ${shipped} (named)`);
      return fromFolder(shipped, 'demo');
    }
    if (existsSync(spec)) {
      const dir = path.resolve(spec);
      const resolved = fromFolder(dir, SHIPPED_MODEL_DIRS.includes(dir) ? 'demo' : 'path');
      log(`model: ${resolved.modelPath} (folder given)`);
      return resolved;
    }
    const entry = findRegistryModel(spec);
    if (!entry) {
      throw new Error(`model "${spec}" is neither an existing folder nor a registry model; registry models: ${REGISTRY.map((m) => m.name).join(', ')}`);
    }
    if (!isCached(entry, modelsDir)) {
      throw new Error(`model "${spec}" is not downloaded into ${modelsDir}; run: npm run models -- pull ${spec}`);
    }
    const dir = modelCacheDir(entry, modelsDir);
    log(`model: ${entry.name} from ${dir} (registry name given)`);
    return { name: entry.name, modelPath: path.join(dir, entry.modelFile), tokensPath: path.join(dir, entry.tokensFile), source: 'registry' };
  }

  const cached = REGISTRY.find((m) => isCached(m, modelsDir));
  if (cached) {
    const dir = modelCacheDir(cached, modelsDir);
    log(`model: ${cached.name} from ${dir} (none given; first downloaded registry model)`);
    return { name: cached.name, modelPath: path.join(dir, cached.modelFile), tokensPath: path.join(dir, cached.tokensFile), source: 'cached' };
  }

  const demoDir = opts.demoDir ?? DEMO_MODEL_DIR;
  if (!existsSync(demoDir)) {
    throw new Error(`no model: none given, none downloaded into ${modelsDir}, and no demo model at ${demoDir}; run: npm run models -- pull ${REGISTRY[0].name}`);
  }
  const demo = fromFolder(demoDir, 'demo');
  log(`model: demo model ${demo.modelPath} (none given, none downloaded into ${modelsDir}); for real speech run: npm run models -- pull ${REGISTRY[0].name}`);
  return demo;
}

function fromFolder(dir: string, source: 'path' | 'demo'): ResolvedModel {
  if (!statSync(dir).isDirectory()) {
    throw new Error(`model path ${dir} is a file; give the folder holding ${MODEL_FILE_PREFERENCE.join(' or ')} and ${TOKENS_FILE}`);
  }
  const modelFile = MODEL_FILE_PREFERENCE.find((f) => existsSync(path.join(dir, f)));
  if (!modelFile) throw new Error(`model folder ${dir} has neither ${MODEL_FILE_PREFERENCE.join(' nor ')}`);
  const tokensPath = path.join(dir, TOKENS_FILE);
  if (!existsSync(tokensPath)) throw new Error(`model folder ${dir} has no ${TOKENS_FILE}`);
  return { name: path.basename(dir), modelPath: path.join(dir, modelFile), tokensPath, source };
}
