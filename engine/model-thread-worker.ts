/**
 * The worker side of model-thread.ts: creates the one session it owns from
 * `workerData` and runs it for each call, sending outputs back without
 * copying them.
 */
import type { ModelInfo, ModelThreadInit } from './model-thread.js';
import { ort, runSession, type ModelFeeds, type ModelOutputs } from './onnx-runtime.js';
import { serve } from './worker-serve.js';

await serve<ModelFeeds, ModelOutputs, ModelInfo>(async (data) => {
  const init = data as ModelThreadInit;
  const session = await ort.InferenceSession.create(init.modelBytes, init.options);
  return {
    info: { inputNames: [...session.inputNames], outputNames: [...session.outputNames] },
    async handle(feeds) {
      const outputs = await runSession(session, feeds);
      return { body: outputs, transfer: [...new Set(Object.values(outputs).map((o) => o.data.buffer as ArrayBuffer))] };
    },
    close: () => session.release(),
  };
});
