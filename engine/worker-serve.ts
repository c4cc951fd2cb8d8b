/**
 * The worker side of worker-rpc.ts: opens what the worker owns from its
 * `workerData`, says `ready` (or `failed` with the reason), then answers
 * calls strictly in order (a close waits for the calls posted before it).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerReply, WorkerRequest } from './worker-rpc.js';

export interface Served<Req, Res, Info> {
  info: Info;
  /** One call's answer, and the buffers to hand back without copying. */
  handle(body: Req): Promise<{ body: Res; transfer?: ArrayBuffer[] }> | { body: Res; transfer?: ArrayBuffer[] };
  close(): Promise<void> | void;
}

export async function serve<Req, Res, Info>(open: (data: unknown) => Promise<Served<Req, Res, Info>>): Promise<void> {
  const port = parentPort!;
  const send = (reply: WorkerReply<Info, Res>, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);
  let served: Served<Req, Res, Info>;
  try {
    served = await open(workerData);
  } catch (err) {
    send({ kind: 'failed', message: errorMessage(err) });
    port.close();
    return;
  }
  send({ kind: 'ready', info: served.info });
  let queue = Promise.resolve();
  port.on('message', (request: WorkerRequest<Req>) => {
    queue = queue.then(async () => {
      if (request.kind === 'close') {
        await served.close();
        port.close();
        return;
      }
      try {
        const { body, transfer } = await served.handle(request.body);
        send({ kind: 'result', id: request.id, body }, transfer);
      } catch (err) {
        send({ kind: 'error', id: request.id, message: errorMessage(err) });
      }
    });
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
