/**
 * `npm run models -- list | pull NAME | path NAME`: the user's view of the
 * model registry and cache (env MODELS_DIR, default ~/.cache/live-transcribe/models).
 * Exit codes: 0 done, 1 failed, 2 usage error.
 */
import { defaultModelsDir, isCached, modelCacheDir, pullModel } from '../engine/models/download.js';
import { REGISTRY, findRegistryModel, type RegistryModel } from '../engine/models/registry.js';

const USAGE = `usage: npm run models -- <command>
  list         the registry models: download size, streaming latency (or offline),
               whether each is downloaded
  pull NAME    download and unpack NAME into the cache (resumes an interrupted download)
  path NAME    print the cached folder of NAME (use it as the server's model)
cache: ${defaultModelsDir()} (env MODELS_DIR)`;

class UsageError extends Error {}

function requireModel(name: string | undefined, command: string): RegistryModel {
  if (!name) throw new UsageError(`${command} needs a model name`);
  const model = findRegistryModel(name);
  if (!model) throw new UsageError(`unknown model "${name}"; known: ${REGISTRY.map((m) => m.name).join(', ')}`);
  return model;
}

/** STREAMING column: a streaming export's latency, or `offline` (whole segments). */
function streamingLabel(m: RegistryModel): string {
  return m.streaming ? `${m.streaming.latencyMs} ms` : 'offline';
}

function list(modelsDir: string): void {
  const nameWidth = Math.max(...REGISTRY.map((m) => m.name.length));
  const streamingWidth = Math.max('STREAMING'.length, ...REGISTRY.map((m) => streamingLabel(m).length));
  console.log(`${'NAME'.padEnd(nameWidth)}  ${'SIZE'.padStart(8)}  ${'STREAMING'.padEnd(streamingWidth)}  CACHED  DESCRIPTION`);
  for (const m of REGISTRY) {
    const size = m.archiveBytes === null ? '?' : `${Math.round(m.archiveBytes / 1e6)} MB`;
    const cached = isCached(m, modelsDir) ? 'yes' : 'no';
    console.log(`${m.name.padEnd(nameWidth)}  ${size.padStart(8)}  ${streamingLabel(m).padEnd(streamingWidth)}  ${cached.padEnd(6)}  ${m.description}`);
  }
  console.log(`cache: ${modelsDir}`);
}

async function main(argv: string[]): Promise<number> {
  const [command, name, ...extra] = argv;
  const modelsDir = defaultModelsDir();
  try {
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    if (command === 'list') {
      if (name !== undefined) throw new UsageError(`list takes no arguments`);
      list(modelsDir);
      return 0;
    }
    if (command === 'pull') {
      const pulled = await pullModel(requireModel(name, 'pull'), { modelsDir });
      console.log(pulled.dir);
      return 0;
    }
    if (command === 'path') {
      const model = requireModel(name, 'path');
      if (!isCached(model, modelsDir)) {
        console.error(`${model.name} is not downloaded; run: npm run models -- pull ${model.name}`);
        return 1;
      }
      console.log(modelCacheDir(model, modelsDir));
      return 0;
    }
    throw new UsageError(`unknown command "${command}"`);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(err instanceof Error ? err.message : err);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
