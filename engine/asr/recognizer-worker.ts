/**
 * A recognizer thread (the worker side of asr/recognizer.ts): its own model
 * session, language models and BatchDecoder; each call is one whole batch,
 * features to words, answered as plain data.
 */
import { readFile } from 'node:fs/promises';
import type { ModelInfo } from '../model-thread.js';
import { ort, runSession } from '../onnx-runtime.js';
import { serve } from '../worker-serve.js';
import { BatchDecoder, type RecognitionResult } from './batch-decoder.js';
import type { RecognizeRequest, RecognizerThreadInit } from './recognizer.js';

await serve<RecognizeRequest, RecognitionResult[], ModelInfo>(async (data) => {
  const init = data as RecognizerThreadInit;
  const session = await ort.InferenceSession.create(await readFile(init.modelPath), init.options);
  const info = { inputNames: [...session.inputNames], outputNames: [...session.outputNames] };
  const decoder = new BatchDecoder(init.spec, (feeds) => runSession(session, feeds), info.outputNames[0]);
  return {
    info,
    handle: async ({ utterances, partial, keyterms }) => ({ body: await decoder.recognizeBatch(utterances, partial, keyterms) }),
    close: () => session.release(),
  };
});
