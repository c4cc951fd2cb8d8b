/**
 * Transcript assembly, pure: a recognizer result for a segment becomes a
 * partial or final Transcript in stream time (whole milliseconds). Words
 * outside the segment's keep range (by midpoint) belong to the neighbouring
 * segment of a forced cut.
 */
import type { RecognitionResult } from './asr/batch-decoder.js';
import { samplesToMs } from './audio/format.js';
import type { Transcript, TranscriptWord } from './events.js';
import { segmentEndMs, segmentStartMs, type Segment } from './vad/segmenter.js';

export function assembleTranscript(
  kind: 'partial' | 'final',
  segment: Segment,
  result: RecognitionResult,
  channel: number,
  audioSamples: number,
): Transcript {
  const offsetMs = segmentStartMs(segment);
  const words: TranscriptWord[] = [];
  for (const w of result.words) {
    const startMs = Math.round(offsetMs + w.startMs);
    const endMs = Math.round(offsetMs + w.endMs);
    const mid = (startMs + endMs) / 2;
    if (mid < segment.keepFromMs || mid >= segment.keepUntilMs) continue;
    words.push({ word: w.word, startMs, endMs, confidence: w.confidence, speaker: '' });
  }
  const endMs = Math.min(kind === 'final' ? segmentEndMs(segment) : offsetMs + samplesToMs(audioSamples), segment.keepUntilMs);
  return {
    channel,
    segmentId: segment.id,
    startMs: Math.round(Math.max(offsetMs, segment.keepFromMs)),
    endMs: Math.round(endMs),
    text: words.map((w) => w.word).join(' '),
    words,
    speaker: '',
  };
}
