/**
 * The worker side of embedding-model.ts: owns the embedding model's session,
 * reads its contract from the metadata, and for each call computes the
 * features of every speech piece and runs them as one batch, so neither the
 * fbank nor the model runs on the event loop.
 */
import { ort, runSession } from '../onnx-runtime.js';
import { readOnnxMetadata } from '../asr/onnx-metadata.js';
import { serve } from '../worker-serve.js';
import { embeddingContract, embeddingFeatures, embeddingFeeds, type EmbeddingContract } from './embedding-contract.js';

export interface EmbeddingWorkerInit {
  modelBytes: Uint8Array;
  modelPath: string;
  intraOpThreads: number;
}

/** Pieces back to back, and where each ends. */
export interface EmbeddingRequest {
  samples: Float32Array;
  ends: number[];
}

/** Row-major [pieces, dim]. */
export interface EmbeddingReply {
  vectors: Float32Array;
  dim: number;
}

await serve<EmbeddingRequest, EmbeddingReply, EmbeddingContract>(async (data) => {
  const init = data as EmbeddingWorkerInit;
  const session = await ort.InferenceSession.create(init.modelBytes, {
    intraOpNumThreads: init.intraOpThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  let contract: EmbeddingContract;
  try {
    contract = embeddingContract(readOnnxMetadata(init.modelBytes), [...session.inputNames], [...session.outputNames], init.modelPath);
  } catch (err) {
    await session.release();
    throw err;
  }
  return {
    info: contract,
    async handle({ samples, ends }) {
      const features = ends.map((end, i) => embeddingFeatures(samples.subarray(i === 0 ? 0 : ends[i - 1], end), contract));
      const out = (await runSession(session, embeddingFeeds(features, contract)))[contract.output];
      const [n, dim] = out.dims;
      if (out.dims.length !== 2 || n !== ends.length || dim !== contract.outputDim) {
        throw new Error(`${init.modelPath}: embedding output [${out.dims}], expected [${ends.length}, ${contract.outputDim}]`);
      }
      return { body: { vectors: out.data, dim }, transfer: [out.data.buffer as ArrayBuffer] };
    },
    close: () => session.release(),
  };
});
