/** Test helper: a registry entry for a test archive, with the fields every test archive shares. */
import type { RegistryModel } from '../../engine/models/registry.js';

export function testRegistryEntry(fields: Pick<RegistryModel, 'name' | 'description' | 'url' | 'archiveBytes' | 'sha256'> & Partial<RegistryModel>): RegistryModel {
  return { modelFile: 'model.onnx', tokensFile: 'tokens.txt', language: 'en', licence: null, streaming: null, ...fields };
}
