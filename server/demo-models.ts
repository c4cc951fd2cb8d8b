/**
 * Which served models are shipped demo models (engine/models/resolve.ts:
 * source `demo`), by the names clients see (models.ts names them the same
 * way): they know only synthetic voices, which `ready.demo`, GET /v1/models
 * and /readyz say, and the live page shows.
 */
import { resolveModel } from '../engine/models/resolve.js';
import { parseModelList } from './models.js';

export function demoModelNames(modelList: string): ReadonlySet<string> {
  const names = new Set<string>();
  for (const { name, spec } of parseModelList(modelList)) {
    const resolved = resolveModel(spec || undefined, { log: () => {} });
    if (resolved.source === 'demo') names.add(name ?? resolved.name);
  }
  return names;
}
