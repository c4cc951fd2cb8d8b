/**
 * Calls into a TypeScript worker thread: starts it (through tsx's API, so it
 * runs the same under `tsx`, `node --import tsx` and vitest), waits for its
 * `ready`, then matches each call to its answer. The worker side is
 * worker-serve.ts. The engine's model threads (model-thread.ts) and
 * recognizer threads (asr/recognizer.ts) are built on it: heavy work runs
 * beside the event loop, which only posts requests and takes answers back.
 *
 * An idle worker does not keep the process alive; one with a call in flight
 * does. A worker that dies fails every call in flight and every later one.
 */
import { Worker } from 'node:worker_threads';

export type WorkerReply<Info, Res> =
  | { kind: 'ready'; info: Info }
  | { kind: 'failed'; message: string }
  | { kind: 'result'; id: number; body: Res }
  | { kind: 'error'; id: number; message: string };

export type WorkerRequest<Req> = { kind: 'call'; id: number; body: Req } | { kind: 'close' };

interface Pending<Res> {
  resolve: (body: Res) => void;
  reject: (err: Error) => void;
}

export class WorkerRpc<Req, Res, Info> {
  private readonly pending = new Map<number, Pending<Res>>();
  private nextId = 0;
  /** Set once the worker is gone: every later call fails with it. */
  private stopped: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    /** What the worker said when it was ready. */
    readonly info: Info,
    private readonly label: string,
  ) {
    worker.on('message', (reply: WorkerReply<Info, Res>) => this.onReply(reply));
    worker.on('error', (err) => this.stop(new Error(`${label} failed: ${err.message}`)));
    worker.on('exit', (code) => this.stop(new Error(`${label} exited (code ${code})`)));
    worker.unref();
  }

  /** Starts `entry` (a module URL) with `workerData`; rejects with the worker's own message if it cannot get ready. */
  static async start<Req, Res, Info>(entry: string, workerData: unknown, label: string): Promise<WorkerRpc<Req, Res, Info>> {
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`;
    const worker = new Worker(boot, { eval: true, workerData });
    let onMessage!: (reply: WorkerReply<Info, Res>) => void;
    let onError!: (err: Error) => void;
    let onExit!: (code: number) => void;
    const first = await new Promise<WorkerReply<Info, Res>>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`${label} exited (code ${code}) before it was ready`));
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
    // Only our own listeners: the Worker keeps internal ones of its own.
    worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    if (first.kind !== 'ready') {
      await worker.terminate();
      throw new Error(first.kind === 'failed' ? first.message : `${label} sent ${first.kind} before ready`);
    }
    return new WorkerRpc<Req, Res, Info>(worker, first.info, label);
  }

  /** Calls in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** One request, answered in order with the others; `transfer`'s buffers are handed over (do not reuse them). */
  call(body: Req, transfer: ArrayBuffer[] = []): Promise<Res> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    const request: WorkerRequest<Req> = { kind: 'call', id, body };
    // Posted first: a body that cannot be sent throws here, before anything is pending.
    this.worker.postMessage(request, transfer);
    return new Promise<Res>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
    });
  }

  /** Ends the worker once the calls in flight are answered; later calls fail. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = new Error(`${this.label} closed`);
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.ref();
    const request: WorkerRequest<Req> = { kind: 'close' };
    this.worker.postMessage(request);
    await exited;
  }

  private onReply(reply: WorkerReply<Info, Res>): void {
    if (reply.kind !== 'result' && reply.kind !== 'error') return;
    const call = this.pending.get(reply.id);
    if (!call) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.kind === 'result') call.resolve(reply.body);
    else call.reject(new Error(reply.message));
  }

  private stop(reason: Error): void {
    this.stopped ??= reason;
    for (const call of this.pending.values()) call.reject(this.stopped);
    this.pending.clear();
  }
}
