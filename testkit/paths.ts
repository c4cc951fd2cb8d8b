/**
 * Test kit: where tests and benches find the project root, and the read-only
 * data beside the project (models, recordings): env SHARED_DIR, default
 * `../shared` from the project root.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED_DIR = path.resolve(PROJECT_ROOT, process.env.SHARED_DIR ?? '../shared');

export function sharedPath(...parts: string[]): string {
  return path.join(SHARED_DIR, ...parts);
}
