/**
 * Drives a DiarizationEngine inside the server: steps it on a timer, never
 * two steps at once, and lets a session wait for a step that covers all the
 * audio pushed so far (before its last labels are settled on close).
 */
import type { DiarizationEngine } from './engine.js';

export class DiarizationDriver {
  private running: Promise<void> | null = null;
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

  /** Resolves after a step that started once every earlier push had happened. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    await this.run();
  }

  /** Stops stepping and, after the step in progress, releases the engine. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    while (this.running) await this.running;
    await this.engine.close();
  }

  private run(): Promise<void> {
    const step = this.engine.step().then(
      (windows) => {
        if (windows > 0) this.onStep(windows);
      },
      (err) => this.onError(err),
    );
    this.running = step.finally(() => {
      this.running = null;
    });
    return this.running;
  }
}
