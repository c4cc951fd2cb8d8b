/**
 * A file's transcript in OpenAI's transcription response formats: `json`
 * (`{text}`), `text`, `srt`, `vtt` and `verbose_json` (language, duration,
 * segments and / or words with times in seconds, as `timestamp_granularities`
 * asks). Segments are the engine's finals. Whisper's per-segment decoding
 * statistics are filled from what this engine has: `avg_logprob` is the mean
 * log of the word confidences, `compression_ratio` the text's deflate ratio,
 * `no_speech_prob` 0 (the VAD only sends speech), `temperature` 0 (no
 * sampling), `tokens` empty (token ids are the model's own).
 */
import { deflateRawSync } from 'node:zlib';
import type { Transcript } from '../../engine/index.js';
import { toSrt, toVtt, type SubtitleSegment } from '../../protocol/subtitles.js';
import type { FileTranscript } from '../file-transcription.js';

export const RESPONSE_FORMATS = ['json', 'text', 'srt', 'vtt', 'verbose_json'] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];
export const GRANULARITIES = ['segment', 'word'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export interface FormattedResponse {
  contentType: string;
  body: string;
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

function fullText(t: FileTranscript): string {
  return t.segments.map((s) => s.text).join(' ');
}

/** The finals as subtitle cues (no speaker prefix: OpenAI's formats have none). */
function cuesOf(segments: Transcript[]): SubtitleSegment[] {
  return segments.map((s) => ({ start_ms: s.startMs, end_ms: s.endMs, text: s.text, speaker: '' }));
}

function segmentStats(s: Transcript) {
  const logprobs = s.words.map((w) => Math.log(Math.max(w.confidence, 1e-6)));
  const textBytes = Buffer.byteLength(s.text);
  return {
    avg_logprob: Math.round((logprobs.reduce((a, b) => a + b, 0) / Math.max(1, logprobs.length)) * 1000) / 1000,
    compression_ratio: textBytes === 0 ? 0 : Math.round((textBytes / deflateRawSync(s.text).length) * 1000) / 1000,
    no_speech_prob: 0,
    temperature: 0,
    tokens: [] as number[],
  };
}

/** `languageName` is the language as OpenAI names it (`english`). */
export function formatTranscript(t: FileTranscript, format: ResponseFormat, granularities: Granularity[], languageName: string): FormattedResponse {
  const json = (value: object): FormattedResponse => ({ contentType: 'application/json', body: JSON.stringify(value) });
  const text = (body: string): FormattedResponse => ({ contentType: 'text/plain; charset=utf-8', body });
  switch (format) {
    case 'json':
      return json({ text: fullText(t) });
    case 'text':
      return text(`${fullText(t)}\n`);
    case 'srt':
      return text(toSrt(cuesOf(t.segments)));
    case 'vtt':
      return text(toVtt(cuesOf(t.segments)));
    case 'verbose_json':
      return json({
        task: 'transcribe',
        language: languageName,
        duration: seconds(t.audioMs),
        text: fullText(t),
        ...(granularities.includes('segment')
          ? { segments: t.segments.map((s, id) => ({ id, seek: 0, start: seconds(s.startMs), end: seconds(s.endMs), text: s.text, ...segmentStats(s) })) }
          : {}),
        ...(granularities.includes('word') ? { words: t.segments.flatMap((s) => s.words.map((w) => ({ word: w.word, start: seconds(w.startMs), end: seconds(w.endMs) }))) } : {}),
      });
  }
}
