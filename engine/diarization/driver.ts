/**
 * Drives a DiarizationEngine inside the server: steps it on a timer, never
 * two steps at once, and lets a session wait for a step that covers all the
 * audio pushed so far (before its last labels are settled on close).
 */
import type { DiarizationEngine } from './engine.js';

export class DiarizationDriver {
  private running: Promise<number> | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly engine: DiarizationEngine,
    intervalMs: number,
    private readonly onStep: (windows: number) => void,
    private readonly onError: (err: unknown) => void,
  ) {
    this.timer = setInterval(() => {
      if (!this.running && engine.streamCount > 0) void this.run();
    }, intervalMs);
    this.timer.unref();
  }

  /**
   * Resolves once every window of the audio pushed before the call has been
   * analysed: steps until one finds nothing ready (a step takes at most
   * maxBatchWindows windows, and a stream sent faster than real time can be
   * further behind than that).
   */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    while ((await this.run()) > 0);
  }

  /** Stops stepping and, after the step in progress, releases the engine. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    while (this.running) await this.running;
    await this.engine.close();
  }

  /** One step; resolves with how many windows it analysed (0 after an error, which goes to onError). */
  private run(): Promise<number> {
    const step = this.engine.step().then(
      (windows) => {
        if (windows > 0) this.onStep(windows);
        return windows;
      },
      (err) => {
        this.onError(err);
        return 0;
      },
    );
    this.running = step.finally(() => {
      this.running = null;
    });
    return this.running;
  }
}
