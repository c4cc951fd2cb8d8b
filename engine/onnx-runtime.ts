/**
 * The engine's one import of onnxruntime-node. It switches off the runtime's
 * built-in telemetry before any session exists: left on, every process that
 * creates a session writes a session id file and a log into TMPDIR, and the
 * server promises to write nothing to disk. Set ORT_DISABLE_TELEMETRY=0 to
 * keep it.
 */
import * as ort from 'onnxruntime-node';

process.env.ORT_DISABLE_TELEMETRY ??= '1';

export { ort };

/** A model input as plain data, which a worker thread can be sent. */
export interface ModelInput {
  type: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
  dims: number[];
}

/** One output of a session (float32: every output of the engine's models is). */
export interface ModelOutput {
  data: Float32Array;
  dims: number[];
}

export type ModelFeeds = Record<string, ModelInput>;
export type ModelOutputs = Record<string, ModelOutput>;

/** Runs `session` on plain feeds; outputs as plain float32 data (what every model of the engine gives). */
export async function runSession(session: ort.InferenceSession, feeds: ModelFeeds): Promise<ModelOutputs> {
  const tensors: Record<string, ort.Tensor> = {};
  for (const [name, input] of Object.entries(feeds)) tensors[name] = new ort.Tensor(input.type, input.data, input.dims);
  const results = await session.run(tensors);
  const outputs: ModelOutputs = {};
  for (const [name, out] of Object.entries(results)) {
    if (out.type !== 'float32') throw new Error(`output ${name} is ${out.type}; the engine passes float32 outputs only`);
    outputs[name] = { data: out.data as Float32Array, dims: [...out.dims] };
  }
  return outputs;
}

