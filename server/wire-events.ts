/**
 * The one place engine events become protocol messages: engine types
 * (camelCase, engine/events.ts) to protocol v1's wire shapes (snake_case,
 * protocol/messages.ts). Confidences are rounded to 3 decimals here, a wire
 * concern: more digits say nothing and cost bytes.
 */
import type { StreamEvent, Transcript } from '../engine/index.js';
import type { ServerMessage, TranscriptMessage } from '../protocol/messages.js';

type MessageEvent = Exclude<StreamEvent, { type: 'error' }>;

export function eventToMessage(event: MessageEvent): ServerMessage {
  switch (event.type) {
    case 'speech_started':
    case 'utterance_end':
      return { type: event.type, channel: event.channel, segment_id: event.segmentId, at_ms: event.atMs };
    case 'partial':
    case 'final':
      return transcriptMessage(event.type, event.transcript);
    case 'speaker_update':
      return { type: 'speaker_update', channel: event.channel, segment_id: event.segmentId, speaker: event.speaker, word_speakers: event.wordSpeakers };
  }
}

function transcriptMessage(type: 'partial' | 'final', t: Transcript): TranscriptMessage {
  return {
    type,
    segment_id: t.segmentId,
    channel: t.channel,
    start_ms: t.startMs,
    end_ms: t.endMs,
    text: t.text,
    words: t.words.map((w) => ({ word: w.word, start_ms: w.startMs, end_ms: w.endMs, confidence: Math.round(w.confidence * 1000) / 1000, speaker: w.speaker })),
    speaker: t.speaker,
  };
}
