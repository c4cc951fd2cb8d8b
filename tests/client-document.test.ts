/**
 * TranscriptDocument (client/transcript-document.ts): partials, finals and
 * speaker updates merged into the current transcript, per channel, by time.
 */
import { describe, expect, it } from 'vitest';
import { TranscriptDocument } from '../client/transcript-document.js';
import type { ServerMessage, SpeakerUpdateMessage, TranscriptMessage, Word } from '../protocol/messages.js';

function word(text: string, startMs: number, speaker = ''): Word {
  return { word: text, start_ms: startMs, end_ms: startMs + 200, confidence: 0.9, speaker };
}

function transcript(type: 'partial' | 'final', segmentId: number, startMs: number, text: string, channel = 0, speaker = ''): TranscriptMessage {
  const words = text === '' ? [] : text.split(' ').map((w, i) => word(w, startMs + i * 250, speaker));
  return { type, segment_id: segmentId, channel, start_ms: startMs, end_ms: startMs + 250 * words.length, text, words, speaker };
}

function speakerUpdate(segmentId: number, speaker: string, wordSpeakers: string[], channel = 0): SpeakerUpdateMessage {
  return { type: 'speaker_update', channel, segment_id: segmentId, speaker, word_speakers: wordSpeakers };
}

describe('TranscriptDocument', () => {
  it('a partial replaces the previous partial of its segment, and a final replaces the partial', () => {
    const doc = new TranscriptDocument();
    expect(doc.apply(transcript('partial', 0, 100, 'hello'))).toBe(true);
    expect(doc.apply(transcript('partial', 0, 100, 'hello word'))).toBe(true);
    expect(doc.segments()).toHaveLength(1);
    expect(doc.segments()[0]).toMatchObject({ text: 'hello word', final: false });
    expect(doc.apply(transcript('final', 0, 100, 'hello world'))).toBe(true);
    expect(doc.segments()).toEqual([
      expect.objectContaining({ channel: 0, segment_id: 0, start_ms: 100, text: 'hello world', final: true }),
    ]);
    expect(doc.segments()[0].words.map((w) => w.word)).toEqual(['hello', 'world']);
    expect(doc.text()).toBe('hello world');
  });

  it('a final is definitive: a partial of the same segment arriving after it changes nothing', () => {
    const doc = new TranscriptDocument();
    doc.apply(transcript('final', 3, 0, 'kept text'));
    expect(doc.apply(transcript('partial', 3, 0, 'late partial'))).toBe(false);
    expect(doc.text()).toBe('kept text');
    expect(doc.segments()[0].final).toBe(true);
  });

  it('orders segments by start time within a channel, whatever order they arrive in', () => {
    const doc = new TranscriptDocument();
    doc.apply(transcript('partial', 2, 5000, 'third'));
    doc.apply(transcript('final', 0, 100, 'first'));
    doc.apply(transcript('final', 1, 2000, 'second'));
    expect(doc.segments().map((s) => s.text)).toEqual(['first', 'second', 'third']);
    expect(doc.text()).toBe('first second third');
  });

  it('keeps channels apart, and interleaves them by start time when asked for all', () => {
    const doc = new TranscriptDocument();
    doc.apply(transcript('final', 0, 0, 'left one', 0));
    doc.apply(transcript('final', 0, 1000, 'right one', 1));
    doc.apply(transcript('final', 1, 2000, 'left two', 0));
    doc.apply(transcript('partial', 1, 3000, 'right two', 1));
    expect(doc.channels()).toEqual([0, 1]);
    expect(doc.text(0)).toBe('left one left two');
    expect(doc.text(1)).toBe('right one right two');
    expect(doc.segments(1).map((s) => [s.segment_id, s.final])).toEqual([
      [0, true],
      [1, false],
    ]);
    expect(doc.text()).toBe('left one right one left two right two');
    expect(doc.segments(7)).toEqual([]);
  });

  it('a speaker update relabels the segment and each word by position', () => {
    const doc = new TranscriptDocument();
    doc.apply(transcript('final', 0, 0, 'good morning everyone', 0, 'S1'));
    expect(doc.apply(speakerUpdate(0, 'S2', ['S2', 'S2', 'S1']))).toBe(true);
    const [segment] = doc.segments();
    expect(segment.speaker).toBe('S2');
    expect(segment.words.map((w) => w.speaker)).toEqual(['S2', 'S2', 'S1']);
    expect(segment.text).toBe('good morning everyone');
    expect(segment.final).toBe(true);
  });

  it('a word the update gives no label keeps its old one; an update for an unknown segment changes nothing', () => {
    const doc = new TranscriptDocument();
    doc.apply(transcript('final', 0, 0, 'one two three', 0, 'S1'));
    doc.apply(speakerUpdate(0, 'S3', ['S3']));
    expect(doc.segments()[0].words.map((w) => w.speaker)).toEqual(['S3', 'S1', 'S1']);
    expect(doc.apply(speakerUpdate(9, 'S4', ['S4']))).toBe(false);
    expect(doc.apply(speakerUpdate(0, 'S4', ['S4'], 5))).toBe(false);
  });

  it('ignores messages that do not change the transcript, and empty finals add no text', () => {
    const doc = new TranscriptDocument();
    const others: ServerMessage[] = [
      { type: 'speech_started', channel: 0, segment_id: 0, at_ms: 0 },
      { type: 'utterance_end', channel: 0, segment_id: 0, at_ms: 900 },
      { type: 'keepalive' },
      { type: 'error', code: 'bad_audio', message: 'x', fatal: false },
      { type: 'closed', reason: 'client_close', audio_ms_received: 1000, finals_sent: 1 },
    ];
    for (const m of others) expect(doc.apply(m)).toBe(false);
    expect(doc.segments()).toEqual([]);
    doc.apply(transcript('final', 0, 0, ''));
    doc.apply(transcript('final', 1, 500, 'words'));
    expect(doc.segments()).toHaveLength(2);
    expect(doc.text()).toBe('words');
  });

  it('does not share word objects with the messages it was given', () => {
    const doc = new TranscriptDocument();
    const msg = transcript('final', 0, 0, 'mine', 0, 'S1');
    doc.apply(msg);
    msg.words[0].speaker = 'changed';
    expect(doc.segments()[0].words[0].speaker).toBe('S1');
  });
});
