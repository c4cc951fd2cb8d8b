/**
 * The recognition scheduler: one queue of jobs from every live stream, served
 * by batched model calls. Each call takes up to `maxBatch` jobs — finals first
 * (oldest first), then a segment's first partials (what a user waits for when
 * they start to speak), then the partials whose audio grew most since they
 * were last decoded — so a final is never starved by partials and no stream's
 * partials starve another's. A call also holds at most `maxBatchAudioMs` of
 * audio (at least one job): on CPU a batch costs about the sum of its jobs, so
 * a final that arrives while every thread decodes partials waits for a short
 * call, not for sixteen 5 s partials (~400 ms). A stream has at most one
 * pending partial (newer audio replaces it); partials waiting longer than
 * `maxPartialWaitMs` are dropped under overload, finals never are. A failed
 * model call is retried job by job, so a bad input fails only its own
 * stream's job. Up to the recognizer's `parallelism` batches run at once (one
 * per recognizer thread), so a final never waits behind another batch's
 * partials while a thread is free. A final can also be decoded ahead
 * (`finalAhead`, when a segment's speech pauses just before its endpoint):
 * `final` then takes that result if its audio is the same, so the user waits
 * for the endpoint only.
 */
import type { RecognitionResult } from './asr/batch-decoder.js';
import type { Keyterms } from './asr/context-graph.js';
import { SAMPLES_PER_MS } from './audio/format.js';

export interface BatchRecognizer {
  /** `partial[i]`: utterance i is a partial (the recognizer may decode it more cheaply). */
  /** `keyterms[i]`: the keyterms of utterance i's stream, biasing its final. */
  recognizeBatch(utterances16k: Float32Array[], partial: boolean[], keyterms: (Keyterms | undefined)[]): Promise<RecognitionResult[]>;
  /** Batches it can decode at once (default 1). */
  readonly parallelism?: number;
}

export interface SchedulerOptions {
  maxBatch: number;
  /** Most audio in one call, summed over its jobs (a longer single job still goes alone). */
  maxBatchAudioMs: number;
  /** After the first job arrives at an idle scheduler, wait this long to gather a batch. */
  gatherMs: number;
  maxPartialWaitMs: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = { maxBatch: 16, maxBatchAudioMs: 8_000, gatherMs: 8, maxPartialWaitMs: 1_500 };

export interface SchedulerStats {
  onBatch(size: number, seconds: number, finals: number, partials: number): void;
  onPartialDropped(): void;
  /** What became of a final decoded ahead: taken by its final, cancelled while queued, or decoded for nothing. */
  onFinalAhead?(outcome: 'used' | 'cancelled' | 'wasted'): void;
}

interface Job {
  kind: 'final' | 'partial';
  /** Partials of one segment share a key; a newer one replaces the pending one. */
  key: string;
  audio: Float32Array;
  /** The stream's keyterms (finals only). */
  keyterms?: Keyterms;
  /** How many samples the audio grew since this key was last decoded (partial priority). */
  growthSamples: number;
  /** A partial whose segment has shown no words yet: it goes before other partials. */
  first: boolean;
  /** A final decoded ahead of its segment's end: cancellable while queued. */
  ahead: boolean;
  enqueuedAtMs: number;
  resolve: (r: RecognitionResult | null) => void;
  reject: (e: unknown) => void;
}

export class RecognitionScheduler {
  private readonly opts: SchedulerOptions;
  private finals: Job[] = [];
  /** Finals decoded ahead, by key, until `final` takes or `cancelFinalAhead` drops them. */
  private aheads = new Map<string, { audio: Float32Array; result: Promise<RecognitionResult | null> }>();
  private partials = new Map<string, Job>();
  /** Batches being decoded now. */
  private running = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly recognizer: BatchRecognizer,
    opts: Partial<SchedulerOptions> = {},
    private readonly stats?: SchedulerStats,
  ) {
    this.opts = { ...DEFAULT_SCHEDULER_OPTIONS, ...opts };
  }

  get pending(): number {
    return this.finals.length + this.partials.size;
  }

  /** Decode a closed segment; a final decoded ahead of exactly this audio is taken instead. Always answered. */
  final(key: string, audio: Float32Array, keyterms?: Keyterms): Promise<RecognitionResult> {
    this.cancelPartial(key);
    const ahead = this.aheads.get(key);
    if (ahead && sameSamples(ahead.audio, audio)) {
      this.aheads.delete(key);
      this.stats?.onFinalAhead?.('used');
      // Only a cancelled one resolves null, and this one can no longer be cancelled.
      return ahead.result as Promise<RecognitionResult>;
    }
    this.cancelFinalAhead(key);
    return this.enqueueFinal(key, audio, false, keyterms) as Promise<RecognitionResult>;
  }

  /**
   * Decode, as a final, the audio a segment's final will have if it ends
   * before it grows (its speech paused just before the endpoint), and keep
   * the result for `final`. Replaces the key's previous one.
   */
  finalAhead(key: string, audio: Float32Array, keyterms?: Keyterms): void {
    this.cancelPartial(key);
    this.cancelFinalAhead(key);
    const result = this.enqueueFinal(key, audio, true, keyterms);
    // A failure reaches the final that takes this result; one that is never taken must not go unhandled.
    result.catch(() => {});
    this.aheads.set(key, { audio, result });
  }

  /** Forgets the key's final decoded ahead (its segment grew): dropped if still queued, else its decode was wasted. */
  cancelFinalAhead(key: string): void {
    if (!this.aheads.delete(key)) return;
    const i = this.finals.findIndex((job) => job.ahead && job.key === key);
    if (i >= 0) this.finals.splice(i, 1)[0].resolve(null);
    this.stats?.onFinalAhead?.(i >= 0 ? 'cancelled' : 'wasted');
  }

  /** Queues a final; the caller has cancelled the key's pending partial, which a final supersedes. */
  private enqueueFinal(key: string, audio: Float32Array, ahead: boolean, keyterms: Keyterms | undefined): Promise<RecognitionResult | null> {
    return new Promise((resolve, reject) => {
      this.finals.push({ kind: 'final', key, audio, keyterms, growthSamples: audio.length, first: false, ahead, enqueuedAtMs: performance.now(), resolve, reject });
      this.kick();
    });
  }

  /** Decode an open segment (`first`: none of its words shown yet); resolves null if superseded or dropped. */
  partial(key: string, audio: Float32Array, growthSamples: number, first = false): Promise<RecognitionResult | null> {
    const prev = this.partials.get(key);
    return new Promise((resolve, reject) => {
      const job: Job = { kind: 'partial', key, audio, growthSamples: growthSamples + (prev?.growthSamples ?? 0), first, ahead: false, enqueuedAtMs: prev?.enqueuedAtMs ?? performance.now(), resolve, reject };
      if (prev) prev.resolve(null);
      this.partials.set(key, job);
      this.kick();
    });
  }

  cancelPartial(key: string): void {
    const job = this.partials.get(key);
    if (job) {
      this.partials.delete(key);
      job.resolve(null);
    }
  }

  /** Resolves once every queued job has been answered. */
  async drain(): Promise<void> {
    while (this.running > 0 || this.pending > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private get full(): boolean {
    return this.running >= (this.recognizer.parallelism ?? 1);
  }

  private kick(delayMs = this.opts.gatherMs): void {
    if (this.full || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runBatch();
    }, delayMs);
  }

  private takeBatch(): Job[] {
    const now = performance.now();
    for (const [key, job] of this.partials) {
      if (now - job.enqueuedAtMs > this.opts.maxPartialWaitMs) {
        this.partials.delete(key);
        job.resolve(null);
        this.stats?.onPartialDropped();
      }
    }
    const batch: Job[] = [];
    let samples = 0;
    const fits = (job: Job) => batch.length === 0 || (batch.length < this.opts.maxBatch && samples + job.audio.length <= this.opts.maxBatchAudioMs * SAMPLES_PER_MS);
    while (this.finals.length > 0 && fits(this.finals[0])) {
      const job = this.finals.shift()!;
      batch.push(job);
      samples += job.audio.length;
    }
    // Finals left waiting: the next call takes them, not partials.
    if (this.finals.length > 0) return batch;
    const partials = [...this.partials.values()].sort((a, b) => Number(b.first) - Number(a.first) || b.growthSamples - a.growthSamples);
    for (const job of partials) {
      if (!fits(job)) break;
      this.partials.delete(job.key);
      batch.push(job);
      samples += job.audio.length;
    }
    return batch;
  }

  private async runBatch(): Promise<void> {
    const batch = this.takeBatch();
    if (batch.length === 0) return;
    this.running++;
    // Another thread is free and work is waiting: start its batch too.
    if (!this.full && this.pending > 0) this.kick();
    try {
      await this.recognize(batch);
    } catch (err) {
      // One stream's input can make the model throw: retry each job alone so
      // that only the job whose input fails is rejected, not its batch mates.
      if (batch.length === 1) batch[0].reject(err);
      else for (const job of batch) await this.recognize([job]).catch((e: unknown) => job.reject(e));
    } finally {
      this.running--;
      // Work that queued up during the call was already gathered: go at once.
      if (this.pending > 0) this.kick(0);
    }
  }

  /** One model call for `jobs`, resolving each; throws (resolving none) if the call fails. */
  private async recognize(jobs: Job[]): Promise<void> {
    const t0 = performance.now();
    const results = await this.recognizer.recognizeBatch(
      jobs.map((j) => j.audio),
      jobs.map((j) => j.kind === 'partial'),
      jobs.map((j) => j.keyterms),
    );
    const finals = jobs.filter((j) => j.kind === 'final').length;
    this.stats?.onBatch(jobs.length, (performance.now() - t0) / 1000, finals, jobs.length - finals);
    jobs.forEach((job, i) => job.resolve(results[i]));
  }
}

function sameSamples(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
