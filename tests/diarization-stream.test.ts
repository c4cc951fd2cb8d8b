/**
 * The per-stream logic (windowing, linking, aggregation, commit, answers,
 * relabels, re-identification) driven by synthetic model outputs: each window
 * reports the true speakers of its frames under a fresh arbitrary numbering of
 * local speakers, as the real model does. The real model runs in
 * diarization-engine.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { LOCAL_SPEAKERS, WINDOW_FRAMES, WINDOW_SAMPLES, frameCenterMs } from '../engine/diarization/frames.js';
import { streamConfig } from '../engine/diarization/options.js';
import { StreamDiarizer, windowStartFrame, type LabelChange, type SpeakerHints } from '../engine/diarization/stream.js';
import type { SpeakerTurn } from '../engine/diarization/index.js';

const STEP_SAMPLES = 8000; // 500 ms

/** Who speaks at a time (ms) of the stream. */
type Truth = (ms: number) => string[];

const PERMUTATIONS = [
  [0, 1, 2],
  [2, 0, 1],
  [1, 2, 0],
  [2, 1, 0],
];

/** Window k as the model would see it: local index = a permutation of the true speakers' order of appearance. */
function syntheticWindow(k: number, truth: Truth, speakers: string[]): Float32Array {
  const startFrame = windowStartFrame(k, STEP_SAMPLES);
  const perm = PERMUTATIONS[k % PERMUTATIONS.length];
  const activities = new Float32Array(WINDOW_FRAMES * LOCAL_SPEAKERS);
  for (let f = 0; f < WINDOW_FRAMES; f++) {
    for (const who of truth(frameCenterMs(startFrame + f))) {
      activities[f * LOCAL_SPEAKERS + perm[speakers.indexOf(who)]] = 1;
    }
  }
  return activities;
}

function openStream(opts: { embeddings?: boolean; onRelabel?: (c: LabelChange[]) => void; hints?: SpeakerHints } = {}) {
  const turns: SpeakerTurn[] = [];
  const config = streamConfig({ segmentationModelPath: '', embedding: opts.embeddings ? { embed: async () => [] } : undefined });
  const stream = new StreamDiarizer('test', config, { onTurn: (t) => turns.push(t), onRelabel: opts.onRelabel }, () => {}, opts.hints);
  return { stream, turns };
}

/** Feeds windows 0..count-1; `embeddingOf` gives each true speaker's vector (with embeddings on). */
function feed(
  stream: StreamDiarizer,
  truth: Truth,
  speakers: string[],
  from: number,
  to: number,
  embeddingOf?: (who: string) => Float32Array,
) {
  for (let k = from; k < to; k++) {
    const activities = syntheticWindow(k, truth, speakers);
    const perm = PERMUTATIONS[k % PERMUTATIONS.length];
    const embeddings: (Float32Array | null)[] = [null, null, null];
    if (embeddingOf) {
      speakers.forEach((who, i) => {
        const heard = activities.some((a, j) => a > 0 && j % LOCAL_SPEAKERS === perm[i]);
        if (heard) embeddings[perm[i]] = embeddingOf(who);
      });
    }
    stream.applyWindow(k, activities, embeddings);
  }
}

const between = (ms: number, fromS: number, toS: number) => ms >= fromS * 1000 && ms < toS * 1000;
/** Windows whose end is at or before `seconds`. */
const windowsUntil = (seconds: number) => (seconds * 16000) / STEP_SAMPLES;

function expectTurns(turns: SpeakerTurn[], expected: [string, number, number][]) {
  expect(turns.map((t) => t.speaker)).toEqual(expected.map(([s]) => s));
  turns.forEach((t, i) => {
    // Frame cells are 16.875 ms: boundaries land within one cell of the truth.
    expect(Math.abs(t.startMs - expected[i][1] * 1000)).toBeLessThan(17);
    expect(Math.abs(t.endMs - expected[i][2] * 1000)).toBeLessThan(17);
  });
}

describe('stream diarizer on synthetic windows', () => {
  it('keeps labels through local renumbering and brings a speaker back within the window', () => {
    const truth: Truth = (ms) => (between(ms, 1, 6) || between(ms, 12, 15) ? ['A'] : between(ms, 6, 12) ? ['B'] : []);
    const { stream, turns } = openStream();
    feed(stream, truth, ['A', 'B'], 0, windowsUntil(16));
    stream.close();
    expectTurns(turns, [
      ['S1', 1, 6],
      ['S2', 6, 12],
      ['S1', 12, 15],
    ]);
  });

  it('answers spans, final after the latency', () => {
    const truth: Truth = (ms) => (between(ms, 1, 6) ? ['A'] : between(ms, 6, 12) ? ['B'] : []);
    const { stream } = openStream();
    feed(stream, truth, ['A', 'B'], 0, windowsUntil(13));
    expect(stream.finalUntilMs).toBeGreaterThan(13000 - 1000 - 50); // default latency 1000 ms
    expect(stream.finalUntilMs).toBeLessThanOrEqual(13000 - 1000);
    expect(stream.speakerFor(2000, 3000)).toBe('S1');
    expect(stream.speakerFor(5500, 7500)).toBe('S2'); // 1.5 s of B against 0.5 s of A
    expect(stream.speakerFor(500, 900)).toBe(''); // silence
    expect(stream.speakerFor(20000, 21000)).toBe(''); // not heard yet
  });

  it('relabels an answer that changes when its frames become final', () => {
    // The window ending at 11.5 s hears A on [11, 11.5); every later window hears B there.
    const truthAt = (k: number): Truth => (ms) =>
      between(ms, 1, 6) || (k === windowsUntil(11.5) - 1 && between(ms, 11, 11.5)) ? ['A'] : between(ms, 6, 12) ? ['B'] : [];
    const changes: LabelChange[] = [];
    const { stream } = openStream({ onRelabel: (c) => changes.push(...c) });
    for (let k = 0; k < windowsUntil(11.5); k++) feed(stream, truthAt(k), ['A', 'B'], k, k + 1);
    expect(stream.speakerFor(11000, 11500)).toBe('S1'); // provisional
    expect(stream.speakerFor(8000, 9000)).toBe('S2'); // provisional, will stay
    for (let k = windowsUntil(11.5); k < windowsUntil(14); k++) feed(stream, truthAt(k), ['A', 'B'], k, k + 1);
    expect(changes).toEqual([{ startMs: 11000, endMs: 11500, previous: 'S1', speaker: 'S2' }]);
    expect(stream.speakerFor(11000, 11500)).toBe('S2');
  });

  it('without embeddings a speaker back after a long silence gets a new label', () => {
    const truth: Truth = (ms) => (between(ms, 1, 4) || between(ms, 20, 23) ? ['A'] : []);
    const { stream, turns } = openStream();
    feed(stream, truth, ['A'], 0, windowsUntil(24));
    stream.close();
    expectTurns(turns, [
      ['S1', 1, 4],
      ['S2', 20, 23],
    ]);
  });

  it('with max_speakers a speaker back after a long silence takes the known label heard least recently', () => {
    const truth: Truth = (ms) => (between(ms, 1, 4) || between(ms, 20, 23) ? ['A'] : between(ms, 5, 8) || between(ms, 26, 28) ? ['B'] : []);
    const capped = openStream({ hints: { maxSpeakers: 2 } });
    feed(capped.stream, truth, ['A', 'B'], 0, windowsUntil(30));
    capped.stream.close();
    expectTurns(capped.turns, [
      ['S1', 1, 4],
      ['S2', 5, 8],
      ['S1', 20, 23],
      ['S2', 26, 28],
    ]);
    // Uncapped, both returns are new labels.
    const free = openStream();
    feed(free.stream, truth, ['A', 'B'], 0, windowsUntil(30));
    free.stream.close();
    expect(new Set(free.turns.map((t) => t.speaker)).size).toBe(4);
  });

  it('with max_speakers=1 overlapping speakers come out as one at a time', () => {
    const truth: Truth = (ms) => (between(ms, 1, 6) ? ['A'] : []).concat(between(ms, 3, 8) ? ['B'] : []);
    const { stream, turns } = openStream({ hints: { maxSpeakers: 1 } });
    feed(stream, truth, ['A', 'B'], 0, windowsUntil(10));
    stream.close();
    expect(new Set(turns.map((t) => t.speaker))).toEqual(new Set(['S1']));
    for (let i = 1; i < turns.length; i++) expect(turns[i].startMs).toBeGreaterThanOrEqual(turns[i - 1].endMs);
  });

  it('refuses speaker hints that are not positive integers or with min above max', () => {
    expect(() => openStream({ hints: { maxSpeakers: 0 } })).toThrow(/maxSpeakers must be a positive integer/);
    expect(() => openStream({ hints: { minSpeakers: 1.5 } })).toThrow(/minSpeakers must be a positive integer/);
    expect(() => openStream({ hints: { minSpeakers: 3, maxSpeakers: 2 } })).toThrow(/must not exceed/);
  });

  it('with embeddings the returning speaker is re-identified and a new voice is not', () => {
    const truth: Truth = (ms) =>
      between(ms, 1, 4) || between(ms, 20, 23) ? ['A'] : between(ms, 26, 28) ? ['C'] : [];
    const vectors: Record<string, Float32Array> = { A: Float32Array.of(1, 0.1, 0), C: Float32Array.of(0, 0.2, 1) };
    const { stream, turns } = openStream({ embeddings: true });
    feed(stream, truth, ['A', 'C'], 0, windowsUntil(30), (who) => vectors[who]);
    stream.close();
    expectTurns(turns, [
      ['S1', 1, 4],
      ['S1', 20, 23],
      ['S2', 26, 28],
    ]);
  });
});

describe('stream audio windows', () => {
  it('zero-pads the first window and becomes ready one step after the window end', () => {
    const { stream } = openStream();
    const ramp = Float32Array.from({ length: STEP_SAMPLES }, (_, i) => i + 1);
    expect(stream.readyWindows()).toEqual([]);
    stream.pushAudio(ramp.subarray(0, STEP_SAMPLES - 300));
    expect(stream.readyWindows()).toEqual([]);
    stream.pushAudio(ramp.subarray(STEP_SAMPLES - 300));
    expect(stream.readyWindows()).toEqual([0]);

    const window = new Float32Array(WINDOW_SAMPLES);
    stream.copyWindowAudio(0, window);
    const startSample = windowStartFrame(0, STEP_SAMPLES) * 270; // negative: reaches before the stream
    expect(window[-startSample - 1]).toBe(0);
    expect(window[-startSample]).toBe(1);
    expect(window[WINDOW_SAMPLES - 1]).toBe(WINDOW_SAMPLES + startSample); // last sample of the window
    stream.pushAudio(new Float32Array(2 * STEP_SAMPLES));
    expect(stream.readyWindows()).toEqual([0, 1, 2]);
  });

  it('drops audio no later window needs', () => {
    const { stream } = openStream();
    const seconds = 30;
    const audio = Float32Array.from({ length: seconds * 16000 }, (_, i) => i);
    stream.pushAudio(audio);
    const ready = stream.readyWindows();
    expect(ready.length).toBe(windowsUntil(seconds));
    const silence = new Float32Array(WINDOW_FRAMES * LOCAL_SPEAKERS);
    for (const k of ready.slice(0, -1)) stream.applyWindow(k, silence, [null, null, null]);
    const last = ready[ready.length - 1];
    const window = new Float32Array(WINDOW_SAMPLES);
    stream.copyWindowAudio(last, window);
    expect(window[0]).toBe(windowStartFrame(last, STEP_SAMPLES) * 270);
    expect(() => stream.copyWindowAudio(last - 1, window)).toThrow(/dropped/);
    expect(() => stream.applyWindow(last + 1, silence, [null, null, null])).toThrow(/order/);
  });
});
