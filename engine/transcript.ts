/**
 * Transcript assembly, pure: a recognizer result for a segment becomes a
 * protocol `partial` / `final` in stream time. Words outside the segment's
 * keep range (by midpoint) belong to the neighbouring segment of a forced cut.
 */
import type { TranscriptMessage, Word } from '../protocol/messages.js';
import type { RecognitionResult } from './asr/recognizer.js';
import { segmentEndMs, segmentStartMs, type Segment } from './vad/segmenter.js';

export function assembleTranscript(
  kind: 'partial' | 'final',
  segment: Segment,
  result: RecognitionResult,
  channel: number,
  audioSamples: number,
): TranscriptMessage {
  const offsetMs = segmentStartMs(segment);
  const words: Word[] = [];
  for (const w of result.words) {
    const startMs = Math.round(offsetMs + w.startMs);
    const endMs = Math.round(offsetMs + w.endMs);
    const mid = (startMs + endMs) / 2;
    if (mid < segment.keepFromMs || mid >= segment.keepUntilMs) continue;
    words.push({ word: w.word, start_ms: startMs, end_ms: endMs, confidence: Math.round(w.confidence * 1000) / 1000, speaker: '' });
  }
  const endMs = Math.min(kind === 'final' ? segmentEndMs(segment) : offsetMs + audioSamples / 16, segment.keepUntilMs);
  return {
    type: kind,
    segment_id: segment.id,
    channel,
    start_ms: Math.round(Math.max(offsetMs, segment.keepFromMs)),
    end_ms: Math.round(endMs),
    text: words.map((w) => w.word).join(' '),
    words,
    speaker: '',
  };
}
