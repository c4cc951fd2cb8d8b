/**
 * Transcript files (client/export.ts): exact TXT, SRT, WebVTT and JSON text
 * for a small transcript with speakers, words, times past an hour, text that
 * needs escaping, and segments without text or speaker; JSON read back.
 */
import { describe, expect, it } from 'vitest';
import { clock, exportTranscript, parseTranscriptJson, toJson, toSrt, toTxt, toVtt, type ExportSegment } from '../client/export.js';

const segments: ExportSegment[] = [
  {
    start_ms: 420,
    end_ms: 1500,
    text: 'hello world',
    speaker: 'S1',
    channel: 1,
    words: [
      { word: 'hello', start_ms: 450, end_ms: 800, confidence: 0.9, speaker: 'S1' },
      { word: 'world', start_ms: 840, end_ms: 1260, confidence: 0.75, speaker: 'S1' },
    ],
  },
  { start_ms: 1600, end_ms: 1900, text: '', speaker: 'S1' },
  { start_ms: 2100, end_ms: 62_999.6, text: 'fish <&> chips --> now', speaker: 'S2' },
  { start_ms: 3_723_004, end_ms: 3_725_010, text: ' no\nspeaker  here ', speaker: '' },
];

describe('clock', () => {
  it('formats hours, minutes, seconds and milliseconds with the given separator', () => {
    expect(clock(0, ',')).toBe('00:00:00,000');
    expect(clock(59_999, '.')).toBe('00:00:59.999');
    expect(clock(3_723_004, ',')).toBe('01:02:03,004');
    expect(clock(1.4, '.')).toBe('00:00:00.001');
    expect(clock(360_000_000, '.')).toBe('100:00:00.000');
  });

  it('refuses negative and non-finite times', () => {
    expect(() => clock(-1, '.')).toThrow(/non-negative/);
    expect(() => clock(Number.NaN, '.')).toThrow(/non-negative/);
  });
});

describe('exports', () => {
  it('TXT: one line per spoken segment with its times and speaker', () => {
    expect(toTxt(segments)).toBe(
      '[00:00:00.420 - 00:00:01.500] S1: hello world\n' +
        '[00:00:02.100 - 00:01:03.000] S2: fish <&> chips --> now\n' +
        '[01:02:03.004 - 01:02:05.010] no speaker here\n',
    );
  });

  it('SRT: numbered cues, comma milliseconds, speaker prefix', () => {
    expect(toSrt(segments)).toBe(
      '1\n00:00:00,420 --> 00:00:01,500\nS1: hello world\n' +
        '\n2\n00:00:02,100 --> 00:01:03,000\nS2: fish <&> chips --> now\n' +
        '\n3\n01:02:03,004 --> 01:02:05,010\nno speaker here\n',
    );
  });

  it('VTT: header, voice spans for speakers, escaped cue text', () => {
    expect(toVtt(segments)).toBe(
      'WEBVTT\n' +
        '\n00:00:00.420 --> 00:00:01.500\n<v S1>hello world</v>\n' +
        '\n00:00:02.100 --> 00:01:03.000\n<v S2>fish &lt;&amp;&gt; chips --&gt; now</v>\n' +
        '\n01:02:03.004 --> 01:02:05.010\nno speaker here\n',
    );
  });

  it('JSON: title and every segment with every field, whole milliseconds, snake_case', () => {
    const json = toJson({ title: 'Team call', segments });
    expect(JSON.parse(json)).toEqual({
      title: 'Team call',
      segments: [
        {
          channel: 1,
          start_ms: 420,
          end_ms: 1500,
          speaker: 'S1',
          text: 'hello world',
          words: [
            { word: 'hello', start_ms: 450, end_ms: 800, confidence: 0.9, speaker: 'S1' },
            { word: 'world', start_ms: 840, end_ms: 1260, confidence: 0.75, speaker: 'S1' },
          ],
        },
        { channel: 0, start_ms: 1600, end_ms: 1900, speaker: 'S1', text: '', words: [] },
        { channel: 0, start_ms: 2100, end_ms: 63_000, speaker: 'S2', text: 'fish <&> chips --> now', words: [] },
        { channel: 0, start_ms: 3_723_004, end_ms: 3_725_010, speaker: '', text: ' no\nspeaker  here ', words: [] },
      ],
    });
    expect(json.startsWith('{\n  "title": "Team call",\n  "segments": [\n    {\n      "channel": 1,\n      "start_ms": 420,')).toBe(true);
    expect(json.endsWith('}\n')).toBe(true);
  });

  it('JSON reads back to the same transcript, and the other formats come out the same from it', () => {
    const back = parseTranscriptJson(toJson({ title: 'Team call', segments }));
    expect(back.title).toBe('Team call');
    expect(toJson(back)).toBe(toJson({ title: 'Team call', segments }));
    expect(toSrt(back.segments)).toBe(toSrt(segments));
  });

  it('reading JSON that is not a transcript names what is wrong', () => {
    expect(() => parseTranscriptJson('hello')).toThrow('not a transcript: the text is not JSON');
    expect(() => parseTranscriptJson('[]')).toThrow('not a transcript: the transcript must be an object');
    expect(() => parseTranscriptJson('{"title":"x"}')).toThrow('segments must be a list');
    const ok = { channel: 0, start_ms: 0, end_ms: 10, speaker: '', text: 'a', words: [] };
    expect(() => parseTranscriptJson(JSON.stringify({ title: '', segments: [{ ...ok, start_ms: -5 }] }))).toThrow(
      'segment 0.start_ms must be a non-negative integer',
    );
    const badWord = { word: 'a', start_ms: 0, end_ms: 10, confidence: 2, speaker: '' };
    expect(() => parseTranscriptJson(JSON.stringify({ title: '', segments: [ok, { ...ok, words: [badWord] }] }))).toThrow(
      'segment 1.words[0].confidence must be a number from 0 to 1',
    );
  });

  it('an empty transcript gives empty TXT and SRT, a bare VTT header, an empty JSON list', () => {
    expect(toTxt([])).toBe('');
    expect(toSrt([])).toBe('');
    expect(toVtt([])).toBe('WEBVTT\n');
    expect(toJson({ title: '', segments: [] })).toBe('{\n  "title": "",\n  "segments": []\n}\n');
  });

  it('exportTranscript dispatches on the format name', () => {
    const file = { title: 't', segments };
    expect(exportTranscript('txt', file)).toBe(toTxt(segments));
    expect(exportTranscript('srt', file)).toBe(toSrt(segments));
    expect(exportTranscript('vtt', file)).toBe(toVtt(segments));
    expect(exportTranscript('json', file)).toBe(toJson(file));
  });
});
