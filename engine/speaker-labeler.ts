/**
 * Speaker labels for one transcript stream: feeds its audio to a rolling
 * diarization stream, labels each final (every word by the speaker heard most
 * over the word's span, the segment by the speaker heard most over the
 * segment) and, when diarization later revises a label it gave, emits a
 * speaker update with the segment's new labels.
 *
 * Labels given at final time may be provisional ('' when the diarizer has not
 * analysed that audio yet); they settle once the diarizer's latency has
 * passed, which is when this module stops asking about the segment. With
 * speaker embeddings, two labels may later turn out to be one person (a
 * merge): every remembered final carrying the merged label gets a speaker
 * update, settled or not (the last MAX_REMEMBERED_FINALS finals).
 */
import type { DiarizationEngine, DiarizationStream, LabelChange, SpeakerHints, SpeakerMerge } from './diarization/index.js';
import type { StreamEvent, Transcript } from './events.js';

type SpeakerUpdate = Extract<StreamEvent, { type: 'speaker_update' }>;

/** Finals whose labels a merge may still rewrite (older ones keep the label they had). */
const MAX_REMEMBERED_FINALS = 2000;

/** Where a queried span's label lives: the segment's own label (word -1) or one word's. */
interface SpanOwner {
  segmentId: number;
  word: number;
}

export class SpeakerLabeler {
  private readonly stream: DiarizationStream;
  /** The last finals sent, as labelled now, oldest first. */
  private readonly finals = new Map<number, Transcript>();
  /** Finals whose audio the diarizer has not made final yet: their spans are still asked about. */
  private readonly unsettled = new Set<number>();
  private readonly spans = new Map<string, SpanOwner[]>();
  private closed = false;

  constructor(
    engine: DiarizationEngine,
    id: string,
    private readonly channel: number,
    private readonly onUpdate: (update: SpeakerUpdate) => void,
    hints: SpeakerHints = {},
  ) {
    this.stream = engine.openStream(id, { onRelabel: (changes) => this.relabel(changes), onMerge: (merge) => this.merge(merge) }, hints);
  }

  pushAudio(samples16k: Float32Array): void {
    this.stream.pushAudio(samples16k);
  }

  /** Fills the speaker fields of a final about to be sent. */
  labelFinal(final: Transcript): void {
    final.speaker = this.ask(final.startMs, final.endMs, { segmentId: final.segmentId, word: -1 });
    final.words.forEach((w, i) => {
      w.speaker = this.ask(w.startMs, w.endMs, { segmentId: final.segmentId, word: i });
    });
    // A copy: the caller's transcript goes on to the listener, which may keep or change it.
    this.finals.set(final.segmentId, { ...final, words: final.words.map((w) => ({ ...w })) });
    this.unsettled.add(final.segmentId);
    for (const id of this.finals.keys()) {
      if (this.finals.size <= MAX_REMEMBERED_FINALS) break;
      this.finals.delete(id);
    }
    this.forgetSettled();
  }

  /** Settles every label (last relabels go out) and leaves the diarization engine. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.close();
    this.finals.clear();
    this.unsettled.clear();
    this.spans.clear();
  }

  private ask(startMs: number, endMs: number, owner: SpanOwner): string {
    const key = `${startMs}:${endMs}`;
    const owners = this.spans.get(key);
    if (owners) owners.push(owner);
    else this.spans.set(key, [owner]);
    return this.stream.speakerFor(startMs, endMs);
  }

  private relabel(changes: LabelChange[]): void {
    const touched = new Set<number>();
    for (const change of changes) {
      for (const owner of this.spans.get(`${change.startMs}:${change.endMs}`) ?? []) {
        const final = this.finals.get(owner.segmentId);
        if (!final) continue;
        if (owner.word < 0) final.speaker = change.speaker;
        else final.words[owner.word].speaker = change.speaker;
        touched.add(owner.segmentId);
      }
    }
    this.sendUpdates(touched);
    this.forgetSettled();
  }

  /** Rewrites a merged label in every remembered final. */
  private merge({ from, into }: SpeakerMerge): void {
    const touched = new Set<number>();
    for (const [id, final] of this.finals) {
      for (const span of [final, ...final.words]) {
        if (span.speaker !== from) continue;
        span.speaker = into;
        touched.add(id);
      }
    }
    this.sendUpdates(touched);
  }

  private sendUpdates(segmentIds: Set<number>): void {
    for (const id of [...segmentIds].sort((a, b) => a - b)) {
      const final = this.finals.get(id)!;
      this.onUpdate({ type: 'speaker_update', channel: this.channel, segmentId: id, speaker: final.speaker, wordSpeakers: final.words.map((w) => w.speaker) });
    }
  }

  /** Segments whose audio is all final in the diarizer can no longer change. */
  private forgetSettled(): void {
    const until = this.stream.finalUntilMs;
    for (const id of this.unsettled) {
      const final = this.finals.get(id);
      if (final && final.endMs > until) continue;
      this.unsettled.delete(id);
      if (!final) continue;
      for (const span of [final, ...final.words]) {
        const key = `${span.startMs}:${span.endMs}`;
        const owners = this.spans.get(key)?.filter((o) => o.segmentId !== id) ?? [];
        if (owners.length > 0) this.spans.set(key, owners);
        else this.spans.delete(key);
      }
    }
  }
}
