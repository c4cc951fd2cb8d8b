/**
 * Batches VAD across live streams: every tick, one model call scores the
 * oldest unscored 32 ms chunk of every stream that has one. A stream that
 * fell behind (a burst of audio) is served over the following calls, which
 * run back to back until nothing is pending.
 */
import { SileroVad, VadStreamState } from './silero.js';

export interface VadStats {
  onBatch(size: number, seconds: number): void;
}

interface PendingChunk {
  samples: Float32Array;
  wallMs: number;
}

export type ScoredCallback = (samples: Float32Array, probability: number, wallMs: number) => void;

export class VadStream {
  readonly state: VadStreamState;
  readonly queue: PendingChunk[] = [];
  closed = false;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly batcher: VadBatcher,
    vad: SileroVad,
    readonly onScored: ScoredCallback,
    readonly onError: (err: unknown) => void,
  ) {
    this.state = vad.createState();
  }

  push(samples: Float32Array, wallMs: number): void {
    if (this.closed) return;
    this.queue.push({ samples, wallMs });
    this.batcher.schedule();
  }

  /** Resolves when every chunk pushed so far has been scored. */
  drained(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  notifyIfDrained(): void {
    if (this.queue.length > 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.notifyIfDrained();
    this.batcher.remove(this);
  }
}

/** Hands a stream the score of its oldest chunk. */
function deliver(stream: VadStream, probability: number): void {
  if (stream.closed) return;
  const chunk = stream.queue.shift()!;
  try {
    stream.onScored(chunk.samples, probability, chunk.wallMs);
  } catch (err) {
    stream.onError(err);
  }
  stream.notifyIfDrained();
}

export class VadBatcher {
  private streams = new Set<VadStream>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    private readonly vad: SileroVad,
    private readonly tickMs = 16,
    private readonly stats?: VadStats,
  ) {}

  open(onScored: ScoredCallback, onError: (err: unknown) => void): VadStream {
    const s = new VadStream(this, this.vad, onScored, onError);
    this.streams.add(s);
    return s;
  }

  remove(s: VadStream): void {
    this.streams.delete(s);
  }

  schedule(delayMs = this.tickMs): void {
    if (this.busy || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, delayMs);
  }

  private async run(): Promise<void> {
    const ready = [...this.streams].filter((s) => s.queue.length > 0);
    if (ready.length === 0) return;
    this.busy = true;
    const items = ready.map((s) => ({ stream: s, chunk: s.queue[0] }));
    const t0 = performance.now();
    try {
      const probs = await this.vad.score(items.map((it) => ({ state: it.stream.state, chunk: it.chunk.samples })));
      this.stats?.onBatch(items.length, (performance.now() - t0) / 1000);
      items.forEach((it, i) => deliver(it.stream, probs[i]));
    } catch (err) {
      // One stream's input may have failed the whole call: score each alone so only that one fails.
      for (const it of items) {
        try {
          if (items.length === 1) throw err;
          const [prob] = await this.vad.score([{ state: it.stream.state, chunk: it.chunk.samples }]);
          deliver(it.stream, prob);
        } catch (itemErr) {
          it.stream.onError(itemErr);
          it.stream.close();
        }
      }
    } finally {
      this.busy = false;
      if ([...this.streams].some((s) => s.queue.length > 0)) this.schedule(0);
    }
  }
}
