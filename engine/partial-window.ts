/**
 * Partials that cost what they add, pure: a partial decodes only the open
 * segment's tail (the audio after the words already committed, with
 * CONTEXT_MS of left context for the acoustic model) and keeps the text of
 * the committed words from earlier partials. Once the undecided tail is
 * longer than WINDOW_MS, the words of the latest partial that end more than
 * KEEP_OPEN_MS before its end are committed. So a partial decodes at most
 * about WINDOW_MS + CONTEXT_MS + one partial interval of audio whatever the
 * segment's length, and a segment's partial work grows with its length, not
 * with its square (re-decoding from the segment's start, a 10 s segment cost
 * 33 decodes of growing length). Short utterances (under WINDOW_MS) decode
 * whole, as before. Finals are not affected: they decode the whole segment
 * with beam search and the language models.
 *
 * Times here are milliseconds from the segment's start.
 */
import type { RecognizedWord } from './asr/ctc.js';

/** Longest undecided tail before words are committed. */
export const WINDOW_MS = 4000;
/** Audio before the first undecided word that is decoded again, as context. */
export const CONTEXT_MS = 1000;
/** The newest words stay undecided: the next partial may still change them. */
export const KEEP_OPEN_MS = 1500;

export class PartialWindow {
  private committed: RecognizedWord[] = [];
  /** Everything before this is decided: committed words, or silence. */
  private committedUntilMs = 0;

  /** Where the next partial's audio starts. */
  get audioFromMs(): number {
    return Math.max(0, this.committedUntilMs - CONTEXT_MS);
  }

  /**
   * The partial's words (committed ones first) from a decode of the audio
   * [fromMs, toMs) whose word times are relative to `fromMs`; commits what
   * has become old enough.
   */
  merge(decoded: RecognizedWord[], fromMs: number, toMs: number): RecognizedWord[] {
    const fresh = decoded
      .map((w) => ({ ...w, startMs: w.startMs + fromMs, endMs: w.endMs + fromMs }))
      // Words in the context belong to what is committed already.
      .filter((w) => (w.startMs + w.endMs) / 2 >= this.committedUntilMs);
    const words = [...this.committed, ...fresh];
    if (toMs - this.committedUntilMs > WINDOW_MS) {
      const until = toMs - KEEP_OPEN_MS;
      const settled = fresh.filter((w) => w.endMs <= until);
      this.committed.push(...settled);
      // No word settled (a long pause, or one very long word): the pause is decided too.
      this.committedUntilMs = settled.length > 0 ? settled[settled.length - 1].endMs : until;
    }
    return words;
  }
}
