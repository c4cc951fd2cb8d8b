/**
 * What a transcription stream tells its listener, in engine terms (camelCase,
 * milliseconds of stream time from the stream's first sample). The server
 * maps these to protocol messages (server/wire-events.ts); a program using
 * the engine directly reads them as they are.
 */

export interface TranscriptWord {
  word: string;
  startMs: number;
  endMs: number;
  /** 0 to 1. */
  confidence: number;
  /** Speaker label, '' when unknown (no diarization, or not analysed yet). */
  speaker: string;
}

/** One segment of one channel: a partial (superseded by the next) or its final. */
export interface Transcript {
  channel: number;
  /** Increases per channel. */
  segmentId: number;
  startMs: number;
  endMs: number;
  text: string;
  words: TranscriptWord[];
  speaker: string;
}

export type StreamEvent =
  /** The VAD confirmed speech: a segment opened. */
  | { type: 'speech_started'; channel: number; segmentId: number; atMs: number }
  /** `firstLatencyMs`: on a segment's first partial, wall-clock ms from speech detected to this partial. */
  | { type: 'partial'; transcript: Transcript; firstLatencyMs?: number }
  /** `latencyMs`: for a segment ended by silence, wall-clock ms from its last speech audio pushed to this final. */
  | { type: 'final'; transcript: Transcript; latencyMs?: number }
  /** The speaker paused (not sent after a forced cut of a long segment). */
  | { type: 'utterance_end'; channel: number; segmentId: number; atMs: number }
  /** Diarization revised the labels of a segment already given as final. */
  | { type: 'speaker_update'; channel: number; segmentId: number; speaker: string; wordSpeakers: string[] }
  /** Something failed inside the pipeline (a model call); the stream should be closed. */
  | { type: 'error'; error: unknown };

export type StreamListener = (event: StreamEvent) => void;
