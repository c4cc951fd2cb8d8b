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

/** `hh:mm:ss` plus `,mmm` (SRT) or `.mmm` (WebVTT). */
function timestamp(ms: number, separator: ',' | '.'): string {
  const total = Math.max(0, Math.round(ms));
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(Math.floor(total / 3_600_000))}:${pad(Math.floor(total / 60_000) % 60)}:${pad(Math.floor(total / 1000) % 60)}${separator}${pad(total % 1000, 3)}`;
}

function cues(segments: Transcript[], separator: ',' | '.', numbered: boolean): string {
  return segments.map((s, i) => `${numbered ? `${i + 1}\n` : ''}${timestamp(s.startMs, separator)} --> ${timestamp(s.endMs, separator)}\n${s.text}\n\n`).join('');
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
      return text(cues(t.segments, ',', true));
    case 'vtt':
      return text(`WEBVTT\n\n${cues(t.segments, '.', false)}`);
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
