/** Test helper: queries the server must refuse at the upgrade with `bad_config`, each with its message. */
import { expect } from 'vitest';
import { refusedUpgrade } from '../../testkit/server.js';

export async function expectBadConfigRefusals(port: number, cases: [query: string, message: RegExp][]): Promise<void> {
  for (const [query, message] of cases) {
    const { status, body } = await refusedUpgrade(port, query);
    expect(status, query).toBe(400);
    expect(body.code, query).toBe('bad_config');
    expect(body.message, query).toMatch(message);
  }
}
