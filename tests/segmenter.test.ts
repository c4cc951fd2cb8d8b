/**
 * Endpointing (engine/vad/segmenter.ts) on known probability sequences: each
 * 32 ms chunk's samples hold its own index, so a segment's audio shows which
 * chunks it holds, in which order, and none twice.
 */
import { describe, expect, it } from 'vitest';
import { Segmenter, segmentAudio, VAD_CHUNK_SAMPLES, type SegmentEvent, type SegmenterOptions } from '../engine/vad/segmenter.js';

const SPEECH = 0.9;
const SILENCE = 0.1;

/** Pushes one chunk per probability; returns every event with the index of the chunk that caused it. */
function run(probabilities: number[], opts: Partial<SegmenterOptions>): Array<{ at: number; event: SegmentEvent; chunks: number[] }> {
  const seg = new Segmenter(opts);
  const out: Array<{ at: number; event: SegmentEvent; chunks: number[] }> = [];
  probabilities.forEach((p, i) => {
    for (const event of seg.push(new Float32Array(VAD_CHUNK_SAMPLES).fill(i), p, i)) out.push({ at: i, event, chunks: chunksOf(event) });
  });
  return out;
}

/** The chunk indices in the event's segment audio, as it is when the event comes. */
function chunksOf(event: SegmentEvent): number[] {
  const audio = segmentAudio(event.segment);
  const chunks: number[] = [];
  for (let i = 0; i < audio.length; i += VAD_CHUNK_SAMPLES) chunks.push(audio[i]);
  return chunks;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

// Chunks of 32 ms: speech confirmed after 3 (96 ms), post-roll 6 (192 ms), endpoint after 10 silent chunks (320 ms >= 300).
const OPTS: Partial<SegmenterOptions> = { endpointingMs: 300, finalAheadMs: 150 };

describe('Segmenter', () => {
  it('says `quiet` once the post-roll is in, and the final holds exactly that audio', () => {
    // 10 silent chunks, 20 speech chunks (10..29), then silence.
    const probs = [...Array(10).fill(SILENCE), ...Array(20).fill(SPEECH), ...Array(15).fill(SILENCE)];
    const events = run(probs, OPTS);
    const quiet = events.filter((e) => e.event.type === 'quiet');
    const ended = events.filter((e) => e.event.type === 'ended');
    // Quiet at max(300 - 150, 192) ms of silence: the 6th silent chunk (index 35); the end at the 10th (index 39).
    expect(quiet.map((e) => e.at)).toEqual([35]);
    expect(ended.map((e) => e.at)).toEqual([39]);
    // The pre-roll (the 9 chunks before the speech, kept while it was confirmed), the speech, the 6 post-roll chunks.
    const expected = range(1, 36);
    expect(quiet[0].chunks).toEqual(expected);
    expect(ended[0].chunks).toEqual(expected);
  });

  it('after `quiet`, more speech grows the same segment with every chunk once, in order', () => {
    // Speech 10..29, 7 silent chunks (quiet at the 6th), speech again 37..46, then silence to the end.
    const probs = [...Array(10).fill(SILENCE), ...Array(20).fill(SPEECH), ...Array(7).fill(SILENCE), ...Array(10).fill(SPEECH), ...Array(15).fill(SILENCE)];
    const events = run(probs, OPTS);
    expect(events.filter((e) => e.event.type === 'quiet').map((e) => e.at)).toEqual([35, 52]);
    const ended = events.filter((e) => e.event.type === 'ended');
    expect(ended).toHaveLength(1);
    expect(ended[0].chunks).toEqual(range(1, 53));
  });

  it('never says `quiet` with finalAheadMs 0, and ends the same segment', () => {
    const probs = [...Array(10).fill(SILENCE), ...Array(20).fill(SPEECH), ...Array(15).fill(SILENCE)];
    const events = run(probs, { ...OPTS, finalAheadMs: 0 });
    expect(events.some((e) => e.event.type === 'quiet')).toBe(false);
    expect(events.filter((e) => e.event.type === 'ended')[0].chunks).toEqual(range(1, 36));
  });

  it('a cut at the maximum length after `quiet` carries no chunk twice into the next segment', () => {
    // maxSegmentMs 1000 ms: 32 chunks. Speech from 10, a pause long enough for quiet but not the endpoint, then speech.
    const probs = [...Array(10).fill(SILENCE), ...Array(14).fill(SPEECH), ...Array(7).fill(SILENCE), ...Array(30).fill(SPEECH), ...Array(15).fill(SILENCE)];
    const events = run(probs, { ...OPTS, maxSegmentMs: 1000, overlapMs: 320 });
    const ended = events.filter((e) => e.event.type === 'ended');
    expect(ended.length).toBeGreaterThan(1);
    for (const e of ended) expect(new Set(e.chunks).size).toBe(e.chunks.length);
    // Each segment after the first starts with the last 10 chunks (320 ms) of the one before it, then goes on in order.
    for (let k = 1; k < ended.length; k++) {
      const prev = ended[k - 1].chunks;
      expect(ended[k].chunks.slice(0, 10)).toEqual(prev.slice(-10));
      expect(ended[k].chunks).toEqual(range(ended[k].chunks[0], ended[k].chunks[0] + ended[k].chunks.length));
    }
  });

  it('ends a segment longer than pauseCutAfterMs at its first pause of pauseCutMs, as a pause, and goes on with the next', () => {
    // Speech 10..49 with a 1-chunk dip at 20 (too short) and 2-chunk pauses at 30..31 (segment too short yet) and 45..46.
    const probs = Array<number>(70).fill(SILENCE).map((_, i) => (i >= 10 && i < 60 && i !== 20 && i !== 30 && i !== 31 && i !== 45 && i !== 46 ? SPEECH : SILENCE));
    const events = run(probs, { ...OPTS, pauseCutAfterMs: 1000, pauseCutMs: 64 });
    const ended = events.filter((e) => e.event.type === 'ended');
    // The segment started at chunk 12 holding chunks 1.. : 32 chunks (1024 ms) by chunk 32, so the pause at 30..31 is too early; 45..46 cuts.
    expect(ended.map((e) => [e.at, e.event.type === 'ended' && e.event.reason])).toEqual([
      [46, 'pause'],
      [69, 'silence'],
    ]);
    expect(ended[0].chunks).toEqual(range(1, 47));
    // The next segment starts with the pause (its pre-roll) and holds the rest of the speech once.
    expect(ended[1].chunks[0]).toBe(45);
    expect(ended[1].chunks).toEqual(range(45, ended[1].chunks.at(-1)! + 1));
    expect(ended[1].chunks).toContain(59);
  });

  it('says reachedEndpoint once per silence of the endpointing time, whether the segment ended at it or at an earlier pause', () => {
    const opts = { endpointingMs: 320, pauseCutAfterMs: 640, pauseCutMs: 64, finalAheadMs: 0 };
    // 10 chunks of silence, 30 of speech (over pauseCutAfterMs), 12 of silence, 6 of speech, 12 of silence.
    const probs = [...Array(10).fill(SILENCE), ...Array(30).fill(SPEECH), ...Array(12).fill(SILENCE), ...Array(6).fill(SPEECH), ...Array(12).fill(SILENCE)];
    const seg = new Segmenter(opts);
    const reached: number[] = [];
    const ends: Array<{ at: number; reason: string }> = [];
    probs.forEach((p, i) => {
      for (const e of seg.push(new Float32Array(VAD_CHUNK_SAMPLES), p, i)) if (e.type === 'ended') ends.push({ at: i, reason: e.reason });
      if (seg.reachedEndpoint) reached.push(i);
    });
    // 320 ms is 10 chunks: the lead-in silence, then 10 chunks into each silence.
    expect(ends).toEqual([{ at: 41, reason: 'pause' }, { at: 67, reason: 'silence' }]);
    expect(reached).toEqual([9, 49, 67]);
  });
});
