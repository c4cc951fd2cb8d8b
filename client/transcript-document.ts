/**
 * The transcript as it stands: merges the stream of `partial`, `final` and
 * `speaker_update` messages into one segment per (channel, segment_id).
 * Pure (no I/O, no timers), for browsers and Node.
 *
 * Public API:
 *
 *   const doc = new TranscriptDocument();
 *   client.on('partial', (m) => doc.apply(m));   // or feed every server message:
 *   doc.apply(msg);               // true when the document changed
 *   doc.segments();               // every segment, by start time (then channel)
 *   doc.segments(1);              // channel 1's segments, by start time
 *   doc.text();  doc.text(1);     // the segments' texts joined by spaces
 *   doc.channels();               // channels seen, ascending
 *
 * Rules, from the protocol: a `partial` replaces the previous partial of its
 * segment; a `final` replaces its partial and is definitive (a partial that
 * arrives after it is ignored); a `speaker_update` relabels a segment already
 * present (its speaker, and each word's, by position). Other messages do not
 * change the document.
 */
import type { ServerMessage, SpeakerUpdateMessage, TranscriptMessage, Word } from '../protocol/messages.js';

export interface DocumentSegment {
  readonly channel: number;
  readonly segment_id: number;
  readonly start_ms: number;
  readonly end_ms: number;
  readonly text: string;
  readonly words: readonly Word[];
  readonly speaker: string;
  /** True once the segment's `final` arrived: its text will not change again. */
  readonly final: boolean;
}

export class TranscriptDocument {
  /** Per channel, segments by segment_id. */
  private readonly byChannel = new Map<number, Map<number, DocumentSegment>>();

  /** Applies one server message; true when the document changed. */
  apply(msg: ServerMessage): boolean {
    switch (msg.type) {
      case 'partial':
      case 'final':
        return this.transcript(msg);
      case 'speaker_update':
        return this.relabel(msg);
      default:
        return false;
    }
  }

  /** Segments of `channel`, or of every channel, ordered by start time (then channel, then id). */
  segments(channel?: number): DocumentSegment[] {
    const maps = channel === undefined ? [...this.byChannel.values()] : [this.byChannel.get(channel) ?? new Map<number, DocumentSegment>()];
    const all = maps.flatMap((m) => [...m.values()]);
    return all.sort((a, b) => a.start_ms - b.start_ms || a.channel - b.channel || a.segment_id - b.segment_id);
  }

  /** The non-empty segment texts of `channel` (or all channels) in `segments()` order, joined by spaces. */
  text(channel?: number): string {
    return this.segments(channel)
      .map((s) => s.text)
      .filter((t) => t !== '')
      .join(' ');
  }

  channels(): number[] {
    return [...this.byChannel.keys()].sort((a, b) => a - b);
  }

  private transcript(msg: TranscriptMessage): boolean {
    let segments = this.byChannel.get(msg.channel);
    if (!segments) this.byChannel.set(msg.channel, (segments = new Map()));
    const current = segments.get(msg.segment_id);
    if (current?.final && msg.type === 'partial') return false;
    segments.set(msg.segment_id, {
      channel: msg.channel,
      segment_id: msg.segment_id,
      start_ms: msg.start_ms,
      end_ms: msg.end_ms,
      text: msg.text,
      words: msg.words.map((w) => ({ ...w })),
      speaker: msg.speaker,
      final: msg.type === 'final',
    });
    return true;
  }

  private relabel(msg: SpeakerUpdateMessage): boolean {
    const segments = this.byChannel.get(msg.channel);
    const current = segments?.get(msg.segment_id);
    if (!segments || !current) return false;
    segments.set(msg.segment_id, {
      ...current,
      speaker: msg.speaker,
      // A word without a new label keeps its old one.
      words: current.words.map((w, i) => ({ ...w, speaker: msg.word_speakers[i] ?? w.speaker })),
    });
    return true;
  }
}
