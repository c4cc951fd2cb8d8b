/**
 * The worker side of model-thread.ts: creates the one session it owns from
 * `workerData`, then answers requests strictly in order (a close waits for the
 * runs posted before it), sending outputs back without copying them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ort } from './onnx-runtime.js';
import type { ModelOutput, ModelReply, ModelRequest, ModelThreadInit } from './model-thread.js';

const port = parentPort!;
const init = workerData as ModelThreadInit;

function send(reply: ModelReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(reply, transfer);
}

async function handle(session: ort.InferenceSession, request: ModelRequest): Promise<void> {
  if (request.kind === 'close') {
    await session.release();
    port.close();
    return;
  }
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, input] of Object.entries(request.feeds)) feeds[name] = new ort.Tensor(input.type, input.data, input.dims);
    const results = await session.run(feeds);
    const outputs: Record<string, ModelOutput> = {};
    for (const [name, out] of Object.entries(results)) {
      if (out.type !== 'float32') throw new Error(`output ${name} is ${out.type}; the model thread passes float32 outputs only`);
      outputs[name] = { data: out.data as Float32Array, dims: [...out.dims] };
    }
    const buffers = new Set(Object.values(outputs).map((o) => o.data.buffer as ArrayBuffer));
    send({ kind: 'output', id: request.id, outputs }, [...buffers]);
  } catch (err) {
    send({ kind: 'error', id: request.id, message: err instanceof Error ? err.message : String(err) });
  }
}

async function open(): Promise<ort.InferenceSession | null> {
  try {
    return await ort.InferenceSession.create(init.modelBytes, init.options);
  } catch (err) {
    send({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
    port.close();
    return null;
  }
}

const session = await open();
if (session) {
  send({ kind: 'ready', inputNames: [...session.inputNames], outputNames: [...session.outputNames] });
  let queue = Promise.resolve();
  port.on('message', (request: ModelRequest) => {
    queue = queue.then(() => handle(session, request));
  });
}
