/**
 * A streaming recognizer thread (the worker side of streaming-recognizer.ts):
 * its own session of a streaming model and its own search with the language
 * models. A `chunks` call is one batched model call over the next window of
 * several streams: features for each window, the windows and the streams'
 * states stacked along axis 0, one run, the log-probabilities and next
 * states taken apart again. A `final` call searches a segment's stored
 * log-probabilities (beam search with the language models and the stream's
 * keyterms). Streams hold their own state (chunk-scheduler.ts), so any thread
 * can serve any stream's next window.
 */
import { readFile } from 'node:fs/promises';
import type { ModelInfo } from '../model-thread.js';
import { ort } from '../onnx-runtime.js';
import { serve } from '../worker-serve.js';
import { CtcSearch } from './ctc-search.js';
import { logMelFrames, putChannelMajor, FRAME_SHIFT_MS, KALDI_FBANK, NUM_MEL_BINS } from './fbank.js';
import type { StreamingReply, StreamingRequest, StreamingThreadInit } from './streaming-recognizer.js';
import { outputFramesPerChunk, stackStates, unstackState, type StreamingModelSpec } from './streaming-model.js';

await serve<StreamingRequest, StreamingReply, ModelInfo>(async (data) => {
  const init = data as StreamingThreadInit;
  const session = await ort.InferenceSession.create(await readFile(init.modelPath), init.options);
  const info = { inputNames: [...session.inputNames], outputNames: [...session.outputNames] };
  const search = new CtcSearch(init.search, FRAME_SHIFT_MS * init.model.subsamplingFactor);
  const spec = init.model;
  return {
    info,
    handle: async (req) => {
      if (req.kind === 'final') {
        return { body: { kind: 'final', result: search.decode(req.logProbs, 0, req.frames, spec.vocabSize, false, req.keyterms) } };
      }
      const body = await runChunks(session, spec, req);
      return { body, transfer: [body.logProbs.buffer as ArrayBuffer] };
    },
    close: () => session.release(),
  };
});

async function runChunks(session: ort.InferenceSession, spec: StreamingModelSpec, req: Extract<StreamingRequest, { kind: 'chunks' }>): Promise<Extract<StreamingReply, { kind: 'chunks' }>> {
  const batch = req.windows.length;
  const w = spec.windowFrames;
  // [B, 80, W]: features channel-major, as NeMo's exports take them.
  const features = new Float32Array(batch * NUM_MEL_BINS * w);
  req.windows.forEach((win, b) => {
    putChannelMajor(logMelFrames(win.samples, win.sliceStart, win.firstFrame, w, KALDI_FBANK), features, b * NUM_MEL_BINS * w, w);
  });
  const states = stackStates(req.windows.map((win) => win.state), spec);
  const [inFeatures, inLength, inChannel, inTime, inChannelLen] = session.inputNames;
  const results = await session.run({
    [inFeatures]: new ort.Tensor('float32', features, [batch, NUM_MEL_BINS, w]),
    // sherpa-onnx passes the window length for every stream.
    [inLength]: new ort.Tensor('int64', new BigInt64Array(batch).fill(BigInt(w)), [batch]),
    [inChannel]: new ort.Tensor('float32', states.channelCache, [batch, ...spec.channelCacheDims]),
    [inTime]: new ort.Tensor('float32', states.timeCache, [batch, ...spec.timeCacheDims]),
    [inChannelLen]: new ort.Tensor('int64', states.channelCacheLen, [batch]),
  });
  const [outLogProbs, , outChannel, outTime, outChannelLen] = session.outputNames;
  const logProbs = results[outLogProbs];
  const [, frames, vocab] = logProbs.dims;
  const expected = outputFramesPerChunk(spec);
  if (frames !== expected || vocab !== spec.vocabSize) {
    throw new Error(`streaming model gave [${logProbs.dims.join(', ')}] log-probs per window; its metadata says [${batch}, ${expected}, ${spec.vocabSize}]`);
  }
  const next = {
    channelCache: results[outChannel].data as Float32Array,
    timeCache: results[outTime].data as Float32Array,
    channelCacheLen: results[outChannelLen].data as BigInt64Array,
  };
  return {
    kind: 'chunks',
    // A copy the thread owns, so it can be transferred rather than cloned.
    logProbs: (logProbs.data as Float32Array).slice(),
    states: req.windows.map((_, b) => unstackState(next, b, spec)),
  };
}
