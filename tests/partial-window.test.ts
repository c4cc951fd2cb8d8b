/**
 * Windowed partials (engine/partial-window.ts) on known word sequences: an
 * oracle "decoder" returns the true words that lie inside the audio it is
 * given, so every partial must equal the truth so far, with no word lost or
 * repeated, while the decoded audio stays bounded however long the segment
 * grows. And segmentAudio's tail copies.
 */
import { describe, expect, it } from 'vitest';
import type { RecognizedWord } from '../engine/asr/ctc.js';
import { CONTEXT_MS, KEEP_OPEN_MS, PartialWindow, WINDOW_MS } from '../engine/partial-window.js';
import { segmentAudio, type Segment } from '../engine/vad/segmenter.js';

/** Words of 400 ms every 500 ms, from `startMs` to `endMs`. */
function speech(startMs: number, endMs: number): RecognizedWord[] {
  const words: RecognizedWord[] = [];
  for (let t = startMs; t + 400 <= endMs; t += 500) words.push({ word: `w${t}`, startMs: t, endMs: t + 400, confidence: 1 });
  return words;
}

/** What a perfect decoder hears in [fromMs, toMs): the words wholly inside, timed from `fromMs`. */
function oracle(truth: RecognizedWord[], fromMs: number, toMs: number): RecognizedWord[] {
  return truth.filter((w) => w.startMs >= fromMs && w.endMs <= toMs).map((w) => ({ ...w, startMs: w.startMs - fromMs, endMs: w.endMs - fromMs }));
}

/** Partials every `stepMs` up to `lengthMs`: the longest audio decoded, and whether each partial was the truth so far. */
function run(truth: RecognizedWord[], lengthMs: number, stepMs = 300): { longestMs: number; allRight: boolean } {
  const window = new PartialWindow();
  let longestMs = 0;
  let allRight = true;
  for (let toMs = stepMs; toMs <= lengthMs; toMs += stepMs) {
    const fromMs = window.audioFromMs;
    longestMs = Math.max(longestMs, toMs - fromMs);
    const words = window.merge(oracle(truth, fromMs, toMs), fromMs, toMs);
    const expected = truth.filter((w) => w.endMs <= toMs);
    if (JSON.stringify(words.map((w) => [w.word, w.startMs])) !== JSON.stringify(expected.map((w) => [w.word, w.startMs]))) allRight = false;
  }
  return { longestMs, allRight };
}

describe('PartialWindow', () => {
  it('decodes a short segment whole, as before', () => {
    const truth = speech(0, WINDOW_MS - 500);
    const window = new PartialWindow();
    expect(window.audioFromMs).toBe(0);
    expect(window.merge(oracle(truth, 0, WINDOW_MS - 500), 0, WINDOW_MS - 500)).toEqual(truth);
    expect(window.audioFromMs).toBe(0);
  });

  it('keeps every partial of a 60 s segment equal to the words so far while decoding a bounded tail', () => {
    const truth = speech(0, 60_000);
    const { longestMs, allRight } = run(truth, 60_000);
    expect(allRight).toBe(true);
    expect(longestMs).toBeLessThanOrEqual(WINDOW_MS + CONTEXT_MS + 300);
    expect(longestMs).toBeGreaterThan(KEEP_OPEN_MS);
  });

  it('decides a long pause too, so the tail stays bounded through silence', () => {
    const truth = [...speech(0, 3000), ...speech(20_000, 26_000)];
    const { longestMs, allRight } = run(truth, 26_000);
    expect(allRight).toBe(true);
    expect(longestMs).toBeLessThanOrEqual(WINDOW_MS + CONTEXT_MS + 300);
  });
});

describe('segmentAudio', () => {
  const seg: Segment = { id: 0, startSample: 0, chunks: [Float32Array.from([1, 2, 3]), Float32Array.from([4, 5])], numSamples: 5, keepFromMs: 0, keepUntilMs: Infinity, speechStartWallMs: 0, lastSpeechWallMs: 0 };

  it('copies the whole segment, or its tail from any sample', () => {
    expect([...segmentAudio(seg)]).toEqual([1, 2, 3, 4, 5]);
    expect([...segmentAudio(seg, 2)]).toEqual([3, 4, 5]);
    expect([...segmentAudio(seg, 3)]).toEqual([4, 5]);
    expect([...segmentAudio(seg, 5)]).toEqual([]);
  });
});
