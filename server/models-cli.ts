/**
 * `npm run models -- list | pull NAME | path NAME`: the user's view of the
 * model registries (recognition models, and speaker-embedding models for
 * diarization) and the cache (env MODELS_DIR, default ~/.cache/live-transcribe/models).
 * Exit codes: 0 done, 1 failed, 2 usage error.
 */
import { defaultModelsDir, embeddingModelPath, isCached, modelCacheDir, pullEmbeddingModel, pullModel } from '../engine/models/download.js';
import { REGISTRY, SPEAKER_EMBEDDING_REGISTRY, findRegistryModel, findSpeakerEmbeddingModel, type RegistryModel, type SpeakerEmbeddingRegistryModel } from '../engine/models/registry.js';
import { existsSync } from 'node:fs';

const USAGE = `usage: npm run models -- <command>
  list         the registry models: download size, streaming latency (or offline),
               whether each is downloaded; then the speaker-embedding models
  pull NAME    download and unpack NAME into the cache (resumes an interrupted download)
  path NAME    print the cached folder of NAME (use it as the server's model), or the
               file of a speaker-embedding model (use it as --speaker-embedding-model)
cache: ${defaultModelsDir()} (env MODELS_DIR)`;

class UsageError extends Error {}

/** A recognition model or a speaker-embedding model, by name. */
type AnyModel = { kind: 'asr'; model: RegistryModel } | { kind: 'embedding'; model: SpeakerEmbeddingRegistryModel };

function requireModel(name: string | undefined, command: string): AnyModel {
  if (!name) throw new UsageError(`${command} needs a model name`);
  const asr = findRegistryModel(name);
  if (asr) return { kind: 'asr', model: asr };
  const embedding = findSpeakerEmbeddingModel(name);
  if (embedding) return { kind: 'embedding', model: embedding };
  throw new UsageError(`unknown model "${name}"; known: ${[...REGISTRY, ...SPEAKER_EMBEDDING_REGISTRY].map((m) => m.name).join(', ')}`);
}

const megabytes = (bytes: number | null) => (bytes === null ? '?' : `${Math.round(bytes / 1e6)} MB`);

/** STREAMING column: a streaming export's latency, or `offline` (whole segments). */
function streamingLabel(m: RegistryModel): string {
  return m.streaming ? `${m.streaming.latencyMs} ms` : 'offline';
}

function list(modelsDir: string): void {
  const nameWidth = Math.max(...[...REGISTRY, ...SPEAKER_EMBEDDING_REGISTRY].map((m) => m.name.length));
  const streamingWidth = Math.max('STREAMING'.length, ...REGISTRY.map((m) => streamingLabel(m).length));
  console.log(`${'NAME'.padEnd(nameWidth)}  ${'SIZE'.padStart(8)}  ${'STREAMING'.padEnd(streamingWidth)}  CACHED  DESCRIPTION`);
  for (const m of REGISTRY) {
    const cached = isCached(m, modelsDir) ? 'yes' : 'no';
    console.log(`${m.name.padEnd(nameWidth)}  ${megabytes(m.archiveBytes).padStart(8)}  ${streamingLabel(m).padEnd(streamingWidth)}  ${cached.padEnd(6)}  ${m.description}`);
  }
  console.log(`\nspeaker-embedding models (--speaker-embedding-model, with --diarization-model):`);
  console.log(`${'NAME'.padEnd(nameWidth)}  ${'SIZE'.padStart(8)}  ${'DISTANCE'.padEnd(streamingWidth)}  CACHED  DESCRIPTION`);
  for (const m of SPEAKER_EMBEDDING_REGISTRY) {
    const cached = existsSync(embeddingModelPath(m, modelsDir)) ? 'yes' : 'no';
    console.log(`${m.name.padEnd(nameWidth)}  ${megabytes(m.bytes).padStart(8)}  ${String(m.distance).padEnd(streamingWidth)}  ${cached.padEnd(6)}  ${m.description}`);
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
      const found = requireModel(name, 'pull');
      console.log(found.kind === 'asr' ? (await pullModel(found.model, { modelsDir })).dir : await pullEmbeddingModel(found.model, { modelsDir }));
      return 0;
    }
    if (command === 'path') {
      const found = requireModel(name, 'path');
      const where = found.kind === 'asr' ? modelCacheDir(found.model, modelsDir) : embeddingModelPath(found.model, modelsDir);
      const cached = found.kind === 'asr' ? isCached(found.model, modelsDir) : existsSync(where);
      if (!cached) {
        console.error(`${found.model.name} is not downloaded; run: npm run models -- pull ${found.model.name}`);
        return 1;
      }
      console.log(where);
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
