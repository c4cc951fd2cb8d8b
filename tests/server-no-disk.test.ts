/**
 * Audio is never persisted: the real server runs as its own process with its
 * working directory and TMPDIR in fresh empty folders, serves a session with
 * speech, shuts down, and neither folder holds a file afterwards.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startServerProcess } from '../testkit/server-process.js';
import { sharedPath } from '../testkit/paths.js';
import { TestClient } from '../testkit/server.js';
import { concat, silence, synthesize } from '../testkit/speech.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'lt-no-disk-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => path.join(e.parentPath, e.name));
}

it('writes no file while streaming and transcribing a session', async () => {
  const cwdDir = mkdtempSync(path.join(root, 'cwd-'));
  const tmpDir = mkdtempSync(path.join(root, 'tmp-'));
  const server = await startServerProcess(['--vad-model', sharedPath('models/silero-vad-v5/silero_vad.onnx')], { TMPDIR: tmpDir, TMP: tmpDir, TEMP: tmpDir }, cwdDir);
  try {
    const client = await TestClient.connect(server.port);
    await client.streamPcm(concat(silence(300), synthesize('the train leaves at seven thirty from platform nine'), silence(1000)), 20, false);
    client.send({ type: 'close' });
    await client.waitClosed();
    expect(client.finalText().split(' ').length).toBeGreaterThan(3);
  } finally {
    await server.stop();
  }
  expect(filesUnder(cwdDir)).toEqual([]);
  expect(filesUnder(tmpDir)).toEqual([]);
});
