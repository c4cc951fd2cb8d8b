/**
 * Segment recognition with an offline model (through the shared
 * RecognitionScheduler): each partial re-decodes the open segment's audio
 * from the start of its partial window (partial-window.ts) at most every
 * `partialIntervalMs` of growth; a final may be decoded ahead when speech
 * pauses just before the endpoint, and is decoded at the endpoint otherwise.
 */
import { SAMPLES_PER_MS } from './audio/format.js';
import { PartialWindow } from './partial-window.js';
import type { RecognitionScheduler } from './scheduler.js';
import type { RecognitionOptions, RecognitionSinks, SegmentRecognition } from './segment-recognition.js';
import { segmentAudio, type Segment } from './vad/segmenter.js';
import type { RecognitionResult } from './asr/ctc-search.js';

/** What an open segment's partials have done so far. */
interface PartialState {
  /** The segment's length when its last partial was asked for. */
  requestedSamples: number;
  /** Whether a partial with words came back (the next ones lose the first partial's priority). */
  shownWords: boolean;
  /** Which audio the next partial decodes, and the words decided so far. */
  window: PartialWindow;
}

export class OfflineSegmentRecognition implements SegmentRecognition {
  /** Per open segment with partials; gone once its final is asked for. */
  private partialStates = new Map<number, PartialState>();

  constructor(
    private readonly key: string,
    private readonly scheduler: RecognitionScheduler,
    private readonly opts: RecognitionOptions,
    private readonly sinks: RecognitionSinks,
  ) {}

  update(seg: Segment): void {
    // Speech went on, so a final decoded ahead is stale.
    this.scheduler.cancelFinalAhead(this.jobKey(seg));
    if (!this.opts.interimResults) return;
    let state = this.partialStates.get(seg.id);
    if (!state) this.partialStates.set(seg.id, (state = { requestedSamples: 0, shownWords: false, window: new PartialWindow() }));
    const growth = seg.numSamples - state.requestedSamples;
    if (growth < this.opts.partialIntervalMs * SAMPLES_PER_MS) return;
    state.requestedSamples = seg.numSamples;
    const { window } = state;
    const fromSample = Math.round(window.audioFromMs * SAMPLES_PER_MS);
    const audio = segmentAudio(seg, fromSample);
    const partialState = state;
    this.scheduler.partial(this.jobKey(seg), audio, growth, !state.shownWords).then((result) => {
      if (!result) return;
      const toSample = fromSample + audio.length;
      const words = window.merge(result.words, fromSample / SAMPLES_PER_MS, toSample / SAMPLES_PER_MS);
      if (words.length > 0) partialState.shownWords = true;
      this.sinks.partial(seg, { ...result, words }, toSample);
    }, this.sinks.error);
  }

  quiet(seg: Segment): void {
    // Its final, if the segment ends now: the scheduler keeps it for `final` to take.
    this.scheduler.finalAhead(this.jobKey(seg), segmentAudio(seg), this.opts.keyterms);
  }

  end(seg: Segment): Promise<RecognitionResult> {
    this.scheduler.cancelPartial(this.jobKey(seg));
    this.partialStates.delete(seg.id);
    return this.scheduler.final(this.jobKey(seg), segmentAudio(seg), this.opts.keyterms);
  }

  close(open: Segment | undefined): void {
    if (!open) return;
    this.scheduler.cancelPartial(this.jobKey(open));
    this.scheduler.cancelFinalAhead(this.jobKey(open));
  }

  private jobKey(seg: Segment): string {
    return `${this.key}/${seg.id}`;
  }
}
