/**
 * Segment recognition with a streaming model (through the shared
 * ChunkScheduler): each segment is an OnlineSegment fed its audio as it
 * arrives; every decoded chunk extends its best path, which is sent as the
 * partial when it changes, at most every `partialIntervalMs` (the first one
 * at once). At the endpoint the segment is flushed and its stored log-probs
 * searched with the language models for the final. As offline, the final is
 * decoded ahead when the segment goes `quiet` (its audio is then what the
 * final will have): the endpoint takes it, or speech after it resumes the
 * segment where it was.
 */
import { resultOf, type RecognitionResult } from './asr/ctc-search.js';
import type { ChunkScheduler, OnlineSegment } from './chunk-scheduler.js';
import type { RecognitionOptions, RecognitionSinks, SegmentRecognition } from './segment-recognition.js';
import { segmentAudio, type Segment } from './vad/segmenter.js';
import type { TokenTable } from './asr/tokens.js';

interface OpenSegment {
  seg: Segment;
  online: OnlineSegment;
  /** Samples of the segment handed to `online` so far. */
  fedSamples: number;
  /** When the last partial was sent (performance.now()), or -Infinity. */
  sentAtMs: number;
  /** Tokens in the last partial sent. */
  sentTokens: number;
  timer: NodeJS.Timeout | null;
  /** The final decoded ahead at `quiet`, and the samples it covers. */
  ahead: { samples: number; result: Promise<RecognitionResult> } | null;
}

export class StreamingSegmentRecognition implements SegmentRecognition {
  private open: OpenSegment | null = null;

  constructor(
    private readonly scheduler: ChunkScheduler,
    private readonly tokens: TokenTable,
    private readonly outputFrameMs: number,
    private readonly opts: RecognitionOptions,
    private readonly sinks: RecognitionSinks,
  ) {}

  update(seg: Segment): void {
    if (this.open?.seg.id !== seg.id) {
      this.drop();
      const state: OpenSegment = { seg, online: undefined!, fedSamples: 0, sentAtMs: -Infinity, sentTokens: 0, timer: null, ahead: null };
      state.online = this.scheduler.open(() => this.tokensAdded(state), this.sinks.error);
      this.open = state;
    }
    const open = this.open;
    if (seg.numSamples > open.fedSamples) {
      if (open.ahead) {
        // Speech went on after `quiet`: its final decoded ahead is stale.
        open.ahead.result.catch(() => {});
        open.ahead = null;
        open.online.resume();
        this.scheduler.countFinalAhead('cancelled');
      }
      open.online.accept(segmentAudio(seg, open.fedSamples));
      open.fedSamples = seg.numSamples;
    }
  }

  quiet(seg: Segment): void {
    this.update(seg);
    const open = this.open!;
    this.clearTimer(open);
    open.ahead = { samples: open.fedSamples, result: open.online.finish(this.opts.keyterms) };
  }

  end(seg: Segment): Promise<RecognitionResult> {
    this.update(seg);
    const open = this.open!;
    this.clearTimer(open);
    this.open = null;
    if (open.ahead) {
      this.scheduler.countFinalAhead('used');
      return open.ahead.result;
    }
    return open.online.finish(this.opts.keyterms);
  }

  close(): void {
    this.drop();
  }

  private drop(): void {
    if (!this.open) return;
    this.open.ahead?.result.catch(() => {});
    this.clearTimer(this.open);
    this.open.online.cancel();
    this.open = null;
  }

  private tokensAdded(state: OpenSegment): void {
    if (!this.opts.interimResults || this.open !== state || state.timer || state.ahead) return;
    const waitMs = state.sentAtMs + this.opts.partialIntervalMs - performance.now();
    if (waitMs <= 0) this.sendPartial(state);
    else state.timer = setTimeout(() => this.sendPartial(state), waitMs);
  }

  private sendPartial(state: OpenSegment): void {
    state.timer = null;
    if (this.open !== state || state.ahead) return;
    const { hyp } = state.online.carry;
    if (hyp.tokenIds.length === state.sentTokens) return;
    state.sentAtMs = performance.now();
    state.sentTokens = hyp.tokenIds.length;
    this.sinks.partial(state.seg, resultOf(hyp, this.tokens, this.outputFrameMs), state.online.decodedSamples);
  }

  private clearTimer(state: OpenSegment): void {
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
  }
}
