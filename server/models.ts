/**
 * The recognition models one server serves. `--model` is a comma-separated
 * list; each item is a registry name, a pulled folder or a path, optionally
 * named `NAME=SPEC` (so one folder can be served under two names); the first
 * is the default. Each model gets an engine of its own (engine/), so batching
 * happens per model: sessions of one model share its recognition calls, and
 * never wait behind another model's. Every front door picks its model here
 * (`pick`), which also checks the language against the model's.
 */
import { createEngine, SAMPLE_RATE_HZ, type Engine, type EngineConfig, type EngineHooks } from '../engine/index.js';
import { findRegistryModel } from '../engine/models/registry.js';
import { resolveModel } from '../engine/models/resolve.js';
import { ProtocolError, show } from '../protocol/protocol-error.js';

export interface ServedModel {
  /** What clients pass as `model`; also the `modelName` of its engine. */
  name: string;
  /** Primary language subtags (`en`) the model transcribes. */
  languages: string[];
  /** Whether it serves live sessions (every CTC model here does: partials are re-decodes). */
  streaming: boolean;
  /** The rate the model hears; clients may send any rate, the engine resamples. */
  sampleRateHz: number;
  engine: Engine;
}

export interface ModelSpec {
  /** null: named after the model the spec resolves to. */
  name: string | null;
  spec: string;
}

/** `a,b,NAME=DIR` as specs; an empty list is one empty spec, the engine's own default choice. */
export function parseModelList(list: string): ModelSpec[] {
  const items = list.split(',').map((s) => s.trim());
  if (items.length === 1 && items[0] === '') return [{ name: null, spec: '' }];
  return items.map((item) => {
    if (item === '') throw new Error(`config model: empty item in "${list}"`);
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)=(.+)$/.exec(item);
    return m ? { name: m[1], spec: m[2] } : { name: null, spec: item };
  });
}

/** The primary subtag of a BCP 47 tag, lower case: `en-US` -> `en`. */
function primaryLanguage(tag: string): string {
  return tag.split('-')[0].toLowerCase();
}

export class ServedModels {
  private constructor(private readonly byName: Map<string, ServedModel>) {}

  /**
   * Loads every model of `config.model`'s list, one engine each (in turn:
   * loading is CPU-bound); `hooksFor` gives each model's engine its observers.
   */
  static async load(config: EngineConfig, hooksFor: (name: string) => EngineHooks, log: (line: string) => void): Promise<ServedModels> {
    const byName = new Map<string, ServedModel>();
    try {
      for (const { name: given, spec } of parseModelList(config.model)) {
        // The name first, so the engine's hooks can carry it; the engine resolves the spec again, the same way.
        const name = given ?? resolveModel(spec || undefined, { log: () => {} }).name;
        if (byName.has(name)) throw new Error(`config model: two models are named "${name}"; name them apart: NAME=${spec}`);
        const engine = await createEngine({ ...config, model: spec }, hooksFor(name));
        // Registry entries say their language; every other model the engine runs is an English CTC export (the demo model too).
        const language = findRegistryModel(engine.modelName)?.language;
        if (!language) log(`model ${name}: language not recorded for a folder, assuming en`);
        // The alias is the name sessions are told in `ready`, so the engine answers to it.
        byName.set(name, { name, languages: [language ?? 'en'], streaming: true, sampleRateHz: SAMPLE_RATE_HZ, engine: { ...engine, modelName: name } });
      }
    } catch (err) {
      await Promise.all([...byName.values()].map((m) => m.engine.close()));
      throw err;
    }
    if (byName.size > 1) log(`serving ${byName.size} models: ${[...byName.keys()].join(', ')} (default ${[...byName.keys()][0]})`);
    return new ServedModels(byName);
  }

  /** The first model of the list: the one a client gets when it names none. */
  get default(): ServedModel {
    return this.all[0];
  }

  get all(): ServedModel[] {
    return [...this.byName.values()];
  }

  /**
   * The model a client asked for ('' = the default) if it transcribes
   * `language` ('' = any); otherwise a `bad_config` ProtocolError naming the
   * choices.
   */
  pick(model: string, language: string): ServedModel {
    const served = model === '' ? this.default : this.byName.get(model);
    if (!served) throw new ProtocolError('bad_config', `unknown model ${show(model)}; this server serves: ${[...this.byName.keys()].join(', ')}`);
    if (language !== '' && !served.languages.includes(primaryLanguage(language))) {
      throw new ProtocolError('bad_config', `model ${show(served.name)} does not transcribe language ${show(language)}; its languages: ${served.languages.join(', ')}`);
    }
    return served;
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((m) => m.engine.close()));
  }
}
