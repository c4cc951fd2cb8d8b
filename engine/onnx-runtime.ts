/**
 * The engine's one import of onnxruntime-node. It switches off the runtime's
 * built-in telemetry before any session exists: left on, every process that
 * creates a session writes a session id file and a log into TMPDIR, and the
 * server promises to write nothing to disk. Set ORT_DISABLE_TELEMETRY=0 to
 * keep it.
 */
import * as ort from 'onnxruntime-node';
import type { ModelFeeds, ModelOutputs } from './model-thread.js';

process.env.ORT_DISABLE_TELEMETRY ??= '1';

export { ort };

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

