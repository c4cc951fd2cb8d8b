/**
 * Transcript files: export to TXT, SRT, WebVTT and JSON, and reading the JSON
 * back (`parseTranscriptJson`; the page also encrypts exactly this JSON when
 * it saves a transcript). Pure functions, so they run the same in the browser
 * page and in Node tests. Segments have the field names of the protocol and
 * of TranscriptDocument's segments, which can be passed in as they are.
 *
 * Segments are written in the order given. Text is put on one line, and
 * segments with no text are left out of the subtitle and text formats (the
 * subtitle rules: protocol/subtitles.ts). JSON keeps every segment.
 */
import type { Word } from '../protocol/messages.js';
import { clock, spoken, toSrt, toVtt, wholeMs, type SubtitleSegment } from '../protocol/subtitles.js';

// Part of the client's export API; written by protocol/subtitles.ts, which the server's file route shares.
export { clock, toSrt, toVtt };

export interface ExportSegment extends SubtitleSegment {
  /** 0 when absent */
  channel?: number;
  /** per-word times and labels, kept by JSON only; none when absent */
  words?: readonly Word[];
}

export interface TranscriptFile {
  /** empty when untitled */
  title: string;
  segments: ExportSegment[];
}

export type ExportFormat = 'txt' | 'srt' | 'vtt' | 'json';

export const EXPORT_FORMATS: Record<ExportFormat, { extension: string; mimeType: string }> = {
  txt: { extension: 'txt', mimeType: 'text/plain;charset=utf-8' },
  srt: { extension: 'srt', mimeType: 'application/x-subrip;charset=utf-8' },
  vtt: { extension: 'vtt', mimeType: 'text/vtt;charset=utf-8' },
  json: { extension: 'json', mimeType: 'application/json;charset=utf-8' },
};

export function exportTranscript(format: ExportFormat, transcript: TranscriptFile): string {
  switch (format) {
    case 'txt':
      return toTxt(transcript.segments);
    case 'srt':
      return toSrt(transcript.segments);
    case 'vtt':
      return toVtt(transcript.segments);
    case 'json':
      return toJson(transcript);
  }
}

/** One line per segment: `[HH:MM:SS.mmm - HH:MM:SS.mmm] S1: text`. */
export function toTxt(segments: readonly ExportSegment[]): string {
  return spoken(segments)
    .map((s) => `[${clock(s.start_ms, '.')} - ${clock(s.end_ms, '.')}] ${s.speaker ? `${s.speaker}: ` : ''}${s.text}\n`)
    .join('');
}

/**
 * `{"title", "segments": [{"channel", "start_ms", "end_ms", "speaker", "text", "words"}]}`,
 * every field always present, times in whole milliseconds, pretty-printed.
 */
export function toJson(transcript: TranscriptFile): string {
  const segments = transcript.segments.map((s) => ({
    channel: s.channel ?? 0,
    start_ms: wholeMs(s.start_ms),
    end_ms: wholeMs(s.end_ms),
    speaker: s.speaker,
    text: s.text,
    words: (s.words ?? []).map((w) => ({ word: w.word, start_ms: wholeMs(w.start_ms), end_ms: wholeMs(w.end_ms), confidence: w.confidence, speaker: w.speaker })),
  }));
  return `${JSON.stringify({ title: transcript.title, segments }, null, 2)}\n`;
}

/** Reads `toJson`'s output back; a file of another shape is an Error saying what is wrong. */
export function parseTranscriptJson(text: string): TranscriptFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('not a transcript: the text is not JSON');
  }
  const file = expectRecord(json, 'the transcript');
  if (typeof file.title !== 'string') throw new Error('not a transcript: title must be a string');
  if (!Array.isArray(file.segments)) throw new Error('not a transcript: segments must be a list');
  const segments = file.segments.map((raw: unknown, i: number): ExportSegment => {
    const what = `segment ${i}`;
    const s = expectRecord(raw, what);
    const words = s.words;
    if (!Array.isArray(words)) throw new Error(`not a transcript: ${what}.words must be a list`);
    return {
      channel: expectMs(s.channel, `${what}.channel`),
      start_ms: expectMs(s.start_ms, `${what}.start_ms`),
      end_ms: expectMs(s.end_ms, `${what}.end_ms`),
      speaker: expectString(s.speaker, `${what}.speaker`),
      text: expectString(s.text, `${what}.text`),
      words: words.map((rawWord: unknown, k: number): Word => {
        const w = expectRecord(rawWord, `${what}.words[${k}]`);
        const confidence = w.confidence;
        if (typeof confidence !== 'number' || !(confidence >= 0 && confidence <= 1)) {
          throw new Error(`not a transcript: ${what}.words[${k}].confidence must be a number from 0 to 1`);
        }
        return {
          word: expectString(w.word, `${what}.words[${k}].word`),
          start_ms: expectMs(w.start_ms, `${what}.words[${k}].start_ms`),
          end_ms: expectMs(w.end_ms, `${what}.words[${k}].end_ms`),
          confidence,
          speaker: expectString(w.speaker, `${what}.words[${k}].speaker`),
        };
      }),
    };
  });
  return { title: file.title, segments };
}

function expectRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`not a transcript: ${what} must be an object`);
  return value as Record<string, unknown>;
}

function expectString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`not a transcript: ${what} must be a string`);
  return value;
}

/** Times and channel numbers: non-negative integers. */
function expectMs(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`not a transcript: ${what} must be a non-negative integer`);
  return value;
}
