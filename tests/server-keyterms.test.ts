/**
 * Keyterms on the real server on 127.0.0.1: a session's `keyterm`
 * parameters bias its finals and no other session's, and keyterms beyond
 * the limits, or with characters the model has no token for, get a clear
 * `bad_config`.
 */
import { expectBadConfigRefusals } from './helpers/refusals.js';
import { TEST_MODEL_IS_STREAMING } from './helpers/demo-model.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../server/app.js';
import { startTestServer, TestClient } from '../testkit/server.js';
import { concat, silence, synthesize } from '../testkit/speech.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.shutdown();
});

describe('keyterms', () => {
  it("bias a session's finals, and only that session's", async () => {
    // The offline demo model hears "cuban it's" here, and "kubernetes" is in neither of its LMs.
    const said = 'we deployed the service on kubernetes last night';
    const audio = concat(silence(300), synthesize(said), silence(300));
    const finalOf = async (query: string) => {
      const client = await TestClient.connect(server.port, query);
      await client.streamPcm(audio, 20, false);
      client.send({ type: 'close' });
      await client.waitClosed();
      return client.finalText();
    };
    const [biased, plain] = await Promise.all([finalOf('keyterm=Kubernetes&keyterm=Grafana'), finalOf('')]);
    console.log(`biased: "${biased}"; plain: "${plain}"`);
    expect(biased).toContain('kubernetes');
    expect(plain).not.toContain('kubernetes');
    if (!TEST_MODEL_IS_STREAMING) {
      expect(biased).toBe(said);
      expect(plain).toBe("we deployed the service on cuban it's last night");
    }
  });

  it('refuses too many, too long or empty keyterms at the upgrade, and a boost out of range', async () => {
    const many = Array.from({ length: 101 }, (_, i) => `keyterm=term${i}`).join('&');
    const cases: [string, RegExp][] = [
      [many, /keyterms must be a list of at most 100 strings \(got 101 items\)/],
      [`keyterm=${'x'.repeat(51)}`, /at most 50 characters/],
      ['keyterm=', /non-empty string/],
      ['keyterm=abc&keyterm_boost=11', /keyterm_boost must be a number from 0 to 10/],
    ];
    await expectBadConfigRefusals(server.port, cases);
  });

  it('refuses a keyterm with a character the model has no token for, naming it', async () => {
    const client = await TestClient.connect(server.port, 'keyterm=Kubernetes&keyterm=C%2B%2B');
    // The session starts (and checks its config against the model) with its first audio.
    await client.streamPcm(silence(100), 20, false);
    await client.waitFor((m) => m.some((x) => x.type === 'error'));
    expect(client.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'bad_config', fatal: true, message: expect.stringMatching(/keyterm "C\+\+": the model has no token for "\+"/) });
  });
});
