import { describe, expect, it } from 'vitest';
import { powersetToActivities } from '../engine/diarization/powerset.js';
import {
  FRAME_STEP_MS,
  firstFrameFromMs,
  frameCenterMs,
  frameStartMs,
  nearestFrameToMs,
} from '../engine/diarization/frames.js';

// Two frames of log-probabilities over {}, {1}, {2}, {3}, {1,2}, {1,3}, {2,3}.
const probs = [
  [0.1, 0.2, 0, 0, 0.7, 0, 0], // mostly speakers 1 and 2 together
  [0.05, 0, 0.05, 0.6, 0, 0, 0.3], // mostly speaker 3, sometimes with 2
];
const logProbs = Float32Array.from(probs.flat().map(Math.log));

describe('powerset decoding', () => {
  it('soft: marginal probability of each speaker', () => {
    const a = powersetToActivities(logProbs, 2, 'soft');
    expect(Array.from(a)).toEqual([0.9, 0.7, 0, 0, 0.35, 0.9].map((x) => expect.closeTo(x, 5)));
  });

  it('hard: the argmax class decides', () => {
    expect(Array.from(powersetToActivities(logProbs, 2, 'hard'))).toEqual([1, 1, 0, 0, 0, 1]);
  });

  it('rejects a buffer of the wrong size', () => {
    expect(() => powersetToActivities(new Float32Array(13), 2, 'soft')).toThrow();
  });
});

describe('frame geometry (270-sample step, 991-sample receptive field at 16 kHz)', () => {
  it('places frame centres and cells', () => {
    expect(FRAME_STEP_MS).toBe(16.875);
    expect(frameCenterMs(0)).toBeCloseTo(30.96875, 6);
    expect(frameCenterMs(588)).toBeCloseTo((588 * 270 + 495.5) / 16, 6);
    expect(frameStartMs(11) - frameStartMs(10)).toBeCloseTo(FRAME_STEP_MS, 9);
    expect(frameStartMs(0)).toBeCloseTo((495.5 - 135) / 16, 9);
  });

  it('converts ms to frames', () => {
    expect(firstFrameFromMs(frameCenterMs(40))).toBe(40);
    expect(firstFrameFromMs(frameCenterMs(40) + 0.1)).toBe(41);
    expect(nearestFrameToMs(frameCenterMs(40) + 8)).toBe(40);
    expect(nearestFrameToMs(frameCenterMs(40) + 9)).toBe(41);
  });
});
