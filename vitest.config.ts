import { defineConfig } from 'vitest/config';

// Tests start real servers and run real ONNX models on a 2-core machine:
// run files one at a time so timings stay sane and ports never collide.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
