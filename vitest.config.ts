import { defineConfig } from 'vitest/config';

/**
 * The server tests run twice: against the offline demo model (the engine's
 * default) and against the streaming demo model, whose path through the
 * engine differs (chunk scheduler, not segment re-reads); testkit/server.ts
 * serves LT_TEST_MODEL. Accuracy bounds follow the model
 * (tests/helpers/demo-model.ts).
 */
const SERVER_TESTS = ['tests/server-*.test.ts', 'tests/client-listen.test.ts', 'tests/client-example.test.ts', 'tests/transcript-routes.test.ts', 'tests/browser.test.ts'];

// Tests start real servers and run real ONNX models on a 2-core machine:
// run files one at a time so timings stay sane and ports never collide.
export default defineConfig({
  test: {
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'offline', include: ['tests/**/*.test.ts'] } },
      { extends: true, test: { name: 'streaming', include: SERVER_TESTS, env: { LT_TEST_MODEL: 'demo-en-streaming-ctc' } } },
    ],
  },
});
