import { describe, expect, it } from 'vitest';
import { WINDOW_FRAMES } from '../engine/diarization/frames.js';
import { ActivityTimeline, RING_FRAMES } from '../engine/diarization/timeline.js';
import { NO_SPEAKER, SpeakerHistory, majoritySpeaker } from '../engine/diarization/history.js';
import { TurnBuilder } from '../engine/diarization/turns.js';
import { linkLocalSpeakers } from '../engine/diarization/linking.js';

const constant = (value: number) => new Float32Array(WINDOW_FRAMES).fill(value);

describe('activity timeline (mean over the windows covering each frame)', () => {
  it('averages overlapping windows, counting a window without the speaker as 0', () => {
    const t = new ActivityTimeline();
    t.addWindow(0, new Map([[1, constant(0.9)]]));
    t.addWindow(100, new Map([[1, constant(0.3)], [2, constant(0.6)]]));
    expect(t.endFrame).toBe(100 + WINDOW_FRAMES);
    expect(t.mean(1, 50)).toBeCloseTo(0.9, 6); // first window only
    expect(t.mean(1, 150)).toBeCloseTo(0.6, 6); // (0.9 + 0.3) / 2
    expect(t.mean(2, 150)).toBeCloseTo(0.3, 6); // (0 + 0.6) / 2
    expect(t.mean(2, 650)).toBeCloseTo(0.6, 6); // second window only
    expect(t.mean(1, 100 + WINDOW_FRAMES)).toBe(0); // not covered yet
  });

  it('skips frames before the stream start', () => {
    const t = new ActivityTimeline();
    t.addWindow(-500, new Map([[1, constant(1)]]));
    expect(t.endFrame).toBe(WINDOW_FRAMES - 500);
    expect(t.mean(1, 0)).toBe(1);
    expect(t.mean(1, -1)).toBe(0);
  });

  it('lists active speakers on a frame, most active first', () => {
    const t = new ActivityTimeline();
    t.addWindow(0, new Map([[1, constant(0.55)], [2, constant(0.8)], [3, constant(0.2)]]));
    expect(t.activeAt(10, 0.5)).toEqual([2, 1]);
    expect(t.activeAt(10, 0.9)).toEqual([]);
  });

  it('by count: keeps speech whose windows disagree on who, filled by the most active speakers', () => {
    const t = new ActivityTimeline();
    // Three windows hear one speaker on the same frames but link it to three different ids:
    // each id's mean is 1/3, under any 0.5 threshold, yet every window heard speech.
    t.addWindow(0, new Map([[1, constant(1)]]));
    t.addWindow(0, new Map([[2, constant(1)]]));
    t.addWindow(0, new Map([[3, constant(1)], [4, constant(0.05)]]));
    expect(t.activeAt(10, 0.5)).toEqual([]);
    expect(t.meanSpeakerCount(10)).toBeCloseTo(1, 1); // (1 + 1 + 1.05) / 3
    expect(t.activeByCount(10, 0.1)).toHaveLength(1);
    // A window's count includes local speakers that got no global id.
    const u = new ActivityTimeline();
    u.addWindow(0, new Map([[1, constant(0.9)], [2, constant(0.6)]]), constant(2));
    u.addWindow(0, new Map([[1, constant(0.9)]]), constant(2));
    expect(u.activeByCount(10, 0.1)).toEqual([1, 2]);
    expect(u.activeByCount(10, 0.1, 1)).toEqual([1]); // capped
    expect(u.activeByCount(10, 0.5)).toEqual([1]); // speaker 2's mean 0.3 is under the floor
    expect(u.activeByCount(u.endFrame, 0.1)).toEqual([]); // not covered
  });

  it('reuses ring slots and forgets speakers once their frames leave the ring', () => {
    const t = new ActivityTimeline();
    t.addWindow(0, new Map([[1, constant(1)]]));
    let start = 0;
    while (start + WINDOW_FRAMES < RING_FRAMES + 2 * WINDOW_FRAMES) {
      start += 30;
      t.addWindow(start, new Map([[2, constant(0.5)]]));
    }
    // Frame 0 is out of the ring; its slot now holds a recent frame where speaker 1 never spoke.
    expect(t.mean(1, 0)).toBe(0);
    expect(t.mean(1, RING_FRAMES)).toBe(0);
    expect(t.activeAt(t.endFrame - 1, 0.1)).toEqual([2]);
  });

  it('rejects windows that leave a gap or move back', () => {
    const t = new ActivityTimeline();
    t.addWindow(0, new Map());
    expect(() => t.addWindow(WINDOW_FRAMES + 1, new Map())).toThrow();
    expect(() => t.addWindow(-1, new Map())).toThrow();
  });
});

describe('speaker history', () => {
  it('remembers committed frames within its capacity', () => {
    const h = new SpeakerHistory(4);
    for (const s of [1, 1, NO_SPEAKER, 2, 2, 3]) h.push(s);
    expect(h.endFrame).toBe(6);
    expect(h.startFrame).toBe(2);
    expect(h.speakerAt(1)).toBeUndefined(); // forgotten
    expect(h.speakerAt(2)).toBe(NO_SPEAKER);
    expect(h.speakerAt(5)).toBe(3);
    expect(h.speakerAt(6)).toBeUndefined(); // not committed
  });

  it('takes the majority speaker, ignoring silence, first seen on ties', () => {
    expect(majoritySpeaker([NO_SPEAKER, NO_SPEAKER, 2, 1, 2])).toBe(2);
    expect(majoritySpeaker([3, 1, 1, 3])).toBe(3);
    expect(majoritySpeaker([NO_SPEAKER])).toBe(NO_SPEAKER);
    expect(majoritySpeaker([])).toBe(NO_SPEAKER);
  });
});

describe('turn builder', () => {
  it('emits runs per speaker, overlapping when speakers overlap', () => {
    const b = new TurnBuilder();
    const frames = [[1], [1], [1, 2], [2], [], [1]];
    const turns = frames.flatMap((active, g) => b.next(g, active));
    turns.push(...b.finish(frames.length));
    expect(turns).toEqual([
      { speaker: 1, startFrame: 0, endFrame: 3 },
      { speaker: 2, startFrame: 2, endFrame: 4 },
      { speaker: 1, startFrame: 5, endFrame: 6 },
    ]);
  });
});

describe('linking local speakers to global ones', () => {
  const opts = { minAgreement: 0.5, minSharedFrames: 2 };
  /** [frames, 3] local activities from per-speaker 0/1 patterns. */
  const local = (patterns: number[][]) =>
    Float32Array.from({ length: patterns[0].length * 3 }, (_, i) => patterns[i % 3][Math.floor(i / 3)]);

  it('follows the permutation the model chose in the new window', () => {
    const a = Float32Array.of(1, 1, 1, 0, 0, 0, 0, 0);
    const b = Float32Array.of(0, 0, 0, 0, 1, 1, 1, 1);
    // Local 0 sounds like b, local 2 like a, local 1 is silent.
    const l = local([[0, 0, 0, 0, 1, 1, 1, 0.8], [0, 0, 0, 0, 0, 0, 0, 0], [0.9, 1, 1, 0, 0, 0, 0, 0]]);
    expect(linkLocalSpeakers(l, 8, [a, b], opts)).toEqual([1, -1, 0]);
  });

  it('leaves a speaker unmatched when it mostly talks over nobody known', () => {
    const a = Float32Array.of(1, 1, 0, 0, 0, 0, 0, 0);
    // Local 0 is active on 6 frames, only 2 of them with a: agreement 1/3.
    const l = local([[1, 1, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]]);
    expect(linkLocalSpeakers(l, 8, [a], opts)).toEqual([-1, -1, -1]);
  });

  it('needs a minimum of shared time', () => {
    const a = Float32Array.of(0, 0, 0, 0, 0, 0, 0, 1);
    const l = local([[0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]]);
    expect(linkLocalSpeakers(l, 8, [a], opts)).toEqual([-1, -1, -1]);
    expect(linkLocalSpeakers(l, 8, [a], { ...opts, minSharedFrames: 1 })).toEqual([0, -1, -1]);
  });

  it('links nobody without shared frames or candidates', () => {
    expect(linkLocalSpeakers(new Float32Array(0), 0, [], opts)).toEqual([-1, -1, -1]);
  });
});
