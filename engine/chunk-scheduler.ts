/**
 * The chunk scheduler for streaming models: every open segment of every live
 * stream is an `OnlineSegment` (like sherpa-onnx's OnlineStream: its audio,
 * the frame its next window starts at, its model state, the log-probs so far
 * and its running best path). Whenever a recognizer thread is free, the
 * scheduler takes every segment with a full window (up to `maxBatch`,
 * segments that are ending first) and decodes all their windows in one model
 * call with their states stacked; each window is read once. A segment's best
 * path grows chunk by chunk, which is its partial. When a segment ends, its
 * audio is padded with silence until its last frames are decoded, and its
 * stored log-probs are searched with the language models for its final;
 * finals' searches go before windows (a user is waiting for them). An end
 * can be taken back (`resume`): a final decoded ahead of the endpoint whose
 * speech went on is dropped, and the segment goes on from where it was.
 */
import type { Keyterms } from './asr/context-graph.js';
import type { RecognitionResult } from './asr/ctc-search.js';
import { extendGreedy, newGreedyCarry, type GreedyCarry } from './asr/ctc.js';
import { completeFrames, frameEndSample, frameStartSample, numFrames } from './asr/fbank.js';
import type { ChunkWindow } from './asr/streaming-recognizer.js';
import { initialState, outputFramesPerChunk, windowReady, type StreamState, type StreamingModelSpec } from './asr/streaming-model.js';
import type { TokenTable } from './asr/tokens.js';
import type { SchedulerStats } from './scheduler.js';

/** What the scheduler needs of a streaming recognizer (asr/streaming-recognizer.ts). */
export interface ChunkRecognizer {
  readonly spec: StreamingModelSpec;
  readonly tokens: TokenTable;
  readonly parallelism: number;
  decodeChunks(windows: ChunkWindow[]): Promise<{ logProbs: Float32Array[]; states: StreamState[] }>;
  finalResult(logProbs: Float32Array, frames: number, keyterms?: Keyterms): Promise<RecognitionResult>;
}

/**
 * Windows decoded in one call, at most. On CPU a call costs about the sum of
 * its windows, so a cap bounds how long a final's last windows wait for a
 * busy thread; 64 windows of the demo model take a few tens of ms.
 */
export const CHUNK_MAX_BATCH = 64;

export class OnlineSegment {
  private samples = new Float32Array(16_000);
  private numSamples = 0;
  /** The first feature frame of the next window. */
  private nextFrame = 0;
  private state: StreamState;
  private readonly logProbs: Float32Array[] = [];
  /** The running best path: the partial. */
  readonly carry: GreedyCarry = newGreedyCarry();
  /** Feature frames of real audio, once the segment ended (padding follows them). */
  private realFrames: number | null = null;
  private keyterms: Keyterms | undefined;
  private final: { resolve: (r: RecognitionResult) => void; reject: (e: unknown) => void } | null = null;
  /** The segment as it was before `finish`, for `resume`. */
  private beforeFinish: { numSamples: number; nextFrame: number; state: StreamState; logProbs: number; carry: GreedyCarry } | null = null;
  /** Why the segment stopped, if a model call failed for it. */
  private failure: unknown = undefined;
  /** Bumped by `resume`: a window taken before it is stale when it comes back. */
  epoch = 0;
  inFlight = false;
  queued = false;
  cancelled = false;

  constructor(
    private readonly scheduler: ChunkScheduler,
    private readonly spec: StreamingModelSpec,
    /** Called when a window of real audio added tokens to the best path. */
    private readonly onTokens: (segment: OnlineSegment) => void,
    /** Called when a model call failed for the segment while no final was pending. */
    private readonly onError: (error: unknown) => void,
  ) {
    this.state = initialState(spec);
  }

  /** Samples the best path has read: through the last frame of the windows decoded so far. */
  get decodedSamples(): number {
    return this.nextFrame === 0 ? 0 : Math.min(this.numSamples, frameEndSample(this.nextFrame - 1));
  }

  /** Appends the segment's next samples. */
  accept(samples: Float32Array): void {
    if (this.realFrames !== null || this.cancelled) return;
    this.append(samples);
    this.scheduler.wake(this);
  }

  /**
   * The segment ended: pads it with silence so its last real frames get
   * decoded, then resolves with the search of everything it decoded, biased
   * by `keyterms`.
   */
  finish(keyterms?: Keyterms): Promise<RecognitionResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const { hyp } = this.carry;
    const carry = { ...this.carry, hyp: { tokenIds: [...hyp.tokenIds], frames: [...hyp.frames], tokenProbs: [...hyp.tokenProbs] } };
    this.beforeFinish = { numSamples: this.numSamples, nextFrame: this.nextFrame, state: this.state, logProbs: this.logProbs.length, carry };
    this.realFrames = numFrames(this.numSamples);
    this.keyterms = keyterms;
    if (this.realFrames > 0) {
      const lastWindow = Math.floor((this.realFrames - 1) / this.spec.shiftFrames) * this.spec.shiftFrames;
      // windowReady wants one frame past the window, as sherpa-onnx's IsReady does.
      const needed = frameEndSample(lastWindow + this.spec.windowFrames);
      if (needed > this.numSamples) this.append(new Float32Array(needed - this.numSamples));
    }
    const result = new Promise<RecognitionResult>((resolve, reject) => (this.final = { resolve, reject }));
    this.scheduler.wake(this);
    return result;
  }

  /**
   * Takes back `finish` (speech went on after a final decoded ahead): its
   * final is dropped unsettled, the padding and what was decoded since are
   * forgotten, and the segment takes audio again.
   */
  resume(): void {
    const before = this.beforeFinish;
    if (!before || this.cancelled) return;
    this.beforeFinish = null;
    this.final = null;
    this.realFrames = null;
    this.keyterms = undefined;
    this.epoch++;
    this.numSamples = before.numSamples;
    this.nextFrame = before.nextFrame;
    this.state = before.state;
    this.logProbs.length = before.logProbs;
    Object.assign(this.carry, before.carry);
    this.scheduler.wake(this);
  }

  cancel(): void {
    this.cancelled = true;
  }

  /** A model call failed for this segment: it stops, its final (now or when asked for) fails, and its owner hears of it. */
  fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.cancelled = true;
    const pending = this.final;
    this.settle(null, error);
    // A pending final reports the failure itself; otherwise the owner hears of it now.
    if (!pending) this.onError(error);
  }

  /** Whether the next window can be decoded now. */
  get hasWindow(): boolean {
    if (this.cancelled) return false;
    if (this.realFrames !== null && this.nextFrame >= this.realFrames) return false;
    return windowReady(this.spec, this.nextFrame, completeFrames(this.numSamples));
  }

  /** Ended, and every window with real frames decoded: its final can be searched. */
  get readyForFinal(): boolean {
    return this.final !== null && !this.cancelled && !this.inFlight && (this.realFrames === 0 || this.nextFrame >= this.realFrames!);
  }

  get ending(): boolean {
    return this.realFrames !== null;
  }

  /** The next window: the samples its frames read (a copy: it is posted to a thread) and the state. */
  window(): ChunkWindow {
    const first = this.nextFrame;
    const sliceStart = Math.max(0, frameStartSample(first));
    const sliceEnd = frameEndSample(first + this.spec.windowFrames - 1);
    return { samples: this.samples.slice(sliceStart, sliceEnd), sliceStart, firstFrame: first, state: this.state };
  }

  /** Takes a decoded window's output; returns how many tokens it added to the best path. */
  advance(logProbs: Float32Array, state: StreamState, blankId: number): number {
    this.state = state;
    this.nextFrame += this.spec.shiftFrames;
    this.logProbs.push(logProbs);
    return extendGreedy(this.carry, logProbs, 0, outputFramesPerChunk(this.spec), this.spec.vocabSize, blankId);
  }

  notifyTokens(): void {
    // Padding is no speech: a path grown over it is no partial.
    if (!this.cancelled && this.realFrames === null) this.onTokens(this);
  }

  /** The stored log-probs of the real audio, for the final's search. */
  finalInput(): { logProbs: Float32Array; frames: number; keyterms: Keyterms | undefined } {
    const per = outputFramesPerChunk(this.spec);
    const frames = Math.min(this.logProbs.length * per, Math.ceil((this.realFrames ?? 0) / this.spec.subsamplingFactor));
    const all = new Float32Array(frames * this.spec.vocabSize);
    let at = 0;
    for (const chunk of this.logProbs) {
      if (at >= all.length) break;
      const take = Math.min(chunk.length, all.length - at);
      all.set(chunk.subarray(0, take), at);
      at += take;
    }
    return { logProbs: all, frames, keyterms: this.keyterms };
  }

  settle(result: RecognitionResult | null, error?: unknown): void {
    const f = this.final;
    this.final = null;
    if (!f) return;
    if (result) f.resolve(result);
    else f.reject(error);
  }

  private append(samples: Float32Array): void {
    if (this.numSamples + samples.length > this.samples.length) {
      const grown = new Float32Array(Math.max(this.samples.length * 2, this.numSamples + samples.length));
      grown.set(this.samples.subarray(0, this.numSamples));
      this.samples = grown;
    }
    this.samples.set(samples, this.numSamples);
    this.numSamples += samples.length;
  }
}

export class ChunkScheduler {
  /** Segments with a window to decode, in the order they got it. */
  private ready: OnlineSegment[] = [];
  /** Ended segments whose final search waits for a thread. */
  private finals: OnlineSegment[] = [];
  private running = 0;
  /** While a call's results are taken in: wake queues but does not start calls (the call's end does), so its segments go on together. */
  private takingResults = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly recognizer: ChunkRecognizer,
    private readonly maxBatch: number = CHUNK_MAX_BATCH,
    private readonly stats?: SchedulerStats,
  ) {}

  /** A new segment's stream; `onTokens` is called when its best path grows, `onError` when a model call failed for it (default: nothing; its final fails either way). */
  open(onTokens: (segment: OnlineSegment) => void, onError: (error: unknown) => void = () => {}): OnlineSegment {
    return new OnlineSegment(this, this.recognizer.spec, onTokens, onError);
  }

  /** What became of a final decoded ahead (the server's lt_finals_ahead_total). */
  countFinalAhead(outcome: 'used' | 'cancelled'): void {
    this.stats?.onFinalAhead?.(outcome);
  }

  /** Segments waiting for a window or a final. */
  get pending(): number {
    return this.ready.length + this.finals.length;
  }

  /** Queues what `segment` can do next, and starts work if a thread is free. */
  wake(segment: OnlineSegment): void {
    if (segment.inFlight || segment.queued || segment.cancelled) return;
    if (segment.hasWindow) {
      segment.queued = true;
      this.ready.push(segment);
    } else if (segment.readyForFinal) {
      segment.queued = true;
      this.finals.push(segment);
    } else {
      return;
    }
    if (!this.takingResults) this.kick();
  }

  /** Resolves once nothing is queued or running. */
  drain(): Promise<void> {
    if (this.running === 0 && this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private kick(): void {
    while (this.running < this.recognizer.parallelism) {
      const final = this.finals.shift();
      if (final) {
        final.queued = false;
        // Resumed since it was queued: it has windows again, not a final.
        if (final.readyForFinal) this.run(() => this.searchFinal(final));
        else this.wake(final);
        continue;
      }
      const batch = this.takeBatch();
      if (batch.length === 0) break;
      this.run(() => this.decodeWindows(batch));
    }
    if (this.running === 0 && this.pending === 0) for (const done of this.idle.splice(0)) done();
  }

  private run(work: () => Promise<void>): void {
    this.running++;
    void work().finally(() => {
      this.running--;
      this.kick();
    });
  }

  /** Ending segments first (their finals wait on them), then the oldest ready. */
  private takeBatch(): OnlineSegment[] {
    // A segment resumed or cancelled since it was queued may have no window now.
    for (const s of this.ready) if (!s.hasWindow) s.queued = false;
    this.ready = this.ready.filter((s) => s.hasWindow);
    const order = [...this.ready.filter((s) => s.ending), ...this.ready.filter((s) => !s.ending)];
    const batch = order.slice(0, this.maxBatch);
    const taken = new Set(batch);
    this.ready = this.ready.filter((s) => !taken.has(s));
    for (const s of batch) {
      s.queued = false;
      s.inFlight = true;
    }
    return batch;
  }

  private async decodeWindows(batch: OnlineSegment[]): Promise<void> {
    const started = performance.now();
    const epochs = batch.map((s) => s.epoch);
    const windows = batch.map((s) => s.window());
    let outs: ({ logProbs: Float32Array; state: StreamState } | { error: unknown })[];
    try {
      const out = await this.recognizer.decodeChunks(windows);
      outs = batch.map((_, b) => ({ logProbs: out.logProbs[b], state: out.states[b] }));
    } catch (error) {
      // Retried window by window, so a bad input fails only its own segment (a window is a
      // pure function of its samples and state, so a retry decodes the same thing).
      outs = batch.length === 1 ? [{ error }] : await Promise.all(windows.map((w) => this.recognizer.decodeChunks([w]).then((o) => ({ logProbs: o.logProbs[0], state: o.states[0] }), (e: unknown) => ({ error: e }))));
    }
    const ending = batch.filter((s) => s.ending).length;
    this.stats?.onBatch(batch.length, (performance.now() - started) / 1000, ending, batch.length - ending);
    this.takingResults = true;
    try {
      batch.forEach((s, b) => {
        s.inFlight = false;
        const out = outs[b];
        if (s.cancelled) return;
        if ('error' in out) {
          // Its state is lost with the call: the segment cannot go on.
          s.fail(out.error);
          return;
        }
        if (s.epoch !== epochs[b]) {
          // Resumed while its window was out: the window belongs to what was taken back.
          this.wake(s);
          return;
        }
        const added = s.advance(out.logProbs, out.state, this.recognizer.tokens.blankId);
        if (added > 0) s.notifyTokens();
        this.wake(s);
      });
    } finally {
      this.takingResults = false;
    }
  }

  private async searchFinal(segment: OnlineSegment): Promise<void> {
    const { logProbs, frames, keyterms } = segment.finalInput();
    try {
      segment.settle(await this.recognizer.finalResult(logProbs, frames, keyterms));
    } catch (error) {
      segment.settle(null, error);
    }
  }
}
