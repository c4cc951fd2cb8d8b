/**
 * Subtitle text, pure: SubRip (SRT) and WebVTT from timed segments, written
 * the same by the client's transcript export (client/export.ts) and the
 * server's OpenAI-compatible file route (server/openai/formats.ts). Segments
 * are written in the order given; text is put on one line (ASR text has no
 * line breaks, but a blank line would end a cue early); segments with no text
 * are left out, since an empty cue is invalid SRT; WebVTT cue text is escaped.
 */

export interface SubtitleSegment {
  /** stream time, milliseconds */
  start_ms: number;
  end_ms: number;
  text: string;
  /** speaker label ('S1', ...), empty when unknown */
  speaker: string;
}

/** SubRip: numbered cues from 1, `HH:MM:SS,mmm` times, the speaker as a `S1: ` prefix. */
export function toSrt(segments: readonly SubtitleSegment[]): string {
  return spoken(segments)
    .map((s, i) => `${i + 1}\n${clock(s.start_ms, ',')} --> ${clock(s.end_ms, ',')}\n${s.speaker ? `${s.speaker}: ` : ''}${s.text}\n`)
    .join('\n');
}

/** WebVTT: `HH:MM:SS.mmm` times, the speaker as a voice span (`<v S1>`), cue text escaped. */
export function toVtt(segments: readonly SubtitleSegment[]): string {
  const cues = spoken(segments).map((s) => {
    const text = escapeVtt(s.text);
    return `${clock(s.start_ms, '.')} --> ${clock(s.end_ms, '.')}\n${s.speaker ? `<v ${escapeVtt(s.speaker)}>${text}</v>` : text}\n`;
  });
  return ['WEBVTT\n', ...cues].join('\n');
}

/** `HH:MM:SS<sep>mmm`; hours keep growing past 99 rather than wrapping. */
export function clock(ms: number, msSeparator: '.' | ','): string {
  const total = wholeMs(ms);
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor(total / 60_000) % 60;
  const seconds = Math.floor(total / 1000) % 60;
  return `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}${msSeparator}${pad(total % 1000, 3)}`;
}

/** Segments with text, their text and speaker on one line. */
export function spoken<T extends SubtitleSegment>(segments: readonly T[]): T[] {
  return segments
    .map((s) => ({ ...s, text: oneLine(s.text), speaker: oneLine(s.speaker) }))
    .filter((s) => s.text !== '');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Cue text may not hold a raw `&`, `<` or `>` (and so never `-->`). */
function escapeVtt(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A time as whole milliseconds; refuses negative and non-finite ones. */
export function wholeMs(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`a time must be a non-negative number of milliseconds, got ${ms}`);
  return Math.round(ms);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
