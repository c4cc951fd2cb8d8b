/**
 * client/examples/stream-wav.ts, run as a user would (tsx, its own process)
 * against the real server: it streams a recording and prints the summary.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../server/app.js';
import { startTestServer } from '../testkit/server.js';
import { PROJECT_ROOT, sharedPath } from '../testkit/paths.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.shutdown();
});

describe('examples/stream-wav.ts', () => {
  it('streams a file through ListenClient and prints its finals and the summary', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      path.join(PROJECT_ROOT, 'node_modules/.bin/tsx'),
      ['client/examples/stream-wav.ts', sharedPath('audio/jfk/jfk.flac'), '--url', `ws://127.0.0.1:${server.port}/v1/listen`, '--speed', '4'],
      { cwd: PROJECT_ROOT, timeout: 60_000 },
    );
    expect(stderr).toBe('');
    const lines = stdout.trim().split('\n');
    // jfk.flac is 11.0 s long; the words themselves are not checked (the demo model is still in training).
    expect(lines.at(-1)).toMatch(/^done: [1-9]\d* finals, 11\.0 s of audio \(client_close\)$/);
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^\[\d+\.\ds\] \S/);
  });

  it('explains its usage when called wrongly', async () => {
    const run = promisify(execFile)(path.join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['client/examples/stream-wav.ts', '--speed', '0', 'x.wav'], { cwd: PROJECT_ROOT });
    await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^usage: npx tsx client\/examples\/stream-wav\.ts FILE/) });
  });
});
