/**
 * How a channel's speech segments become partial and final results: the one
 * seam between a ChannelTranscriber (VAD, segments, events in order) and the
 * recognizer that serves the engine's model. Offline models re-read a growing
 * segment for each partial (offline-recognition.ts); streaming models read
 * each chunk once as it arrives (streaming-recognition.ts). The model's
 * metadata decides which one an engine uses.
 */
import type { RecognitionResult } from './asr/ctc-search.js';
import type { Keyterms } from './asr/context-graph.js';
import type { Segment } from './vad/segmenter.js';

export interface SegmentRecognition {
  /** The segment started or grew: its audio so far is in `seg`. */
  update(seg: Segment): void;
  /** Its speech paused just before the endpoint (the final may be decoded ahead). */
  quiet(seg: Segment): void;
  /** It ended: its final result. Its audio may be released once this returns. */
  end(seg: Segment): Promise<RecognitionResult>;
  /** The channel closed: drop the work of its open segment. */
  close(open: Segment | undefined): void;
}

/** What a channel's recognition is opened with. */
export interface RecognitionOptions {
  /** Partials while a segment grows (finals come either way). */
  interimResults: boolean;
  partialIntervalMs: number;
  /** Bias the finals (partials stay unbiased: greedy, and replaced within a second). */
  keyterms?: Keyterms;
}

/** Where a channel's recognition sends what comes back outside `end`. */
export interface RecognitionSinks {
  /** A partial result of `seg`, covering its first `toSample` samples. */
  partial(seg: Segment, result: RecognitionResult, toSample: number): void;
  /** A partial failed (finals fail through `end`). */
  error(error: unknown): void;
}

/** Opens the recognition of one channel; `key` is unique among all channels of the engine. */
export type OpenRecognition = (key: string, options: RecognitionOptions, sinks: RecognitionSinks) => SegmentRecognition;
