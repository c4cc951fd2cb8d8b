/**
 * Decoding of the segmentation model's powerset output into per-frame activity
 * of its 3 local speakers. Class c of the 7 is a set of simultaneously active
 * local speakers: {}, {1}, {2}, {3}, {1,2}, {1,3}, {2,3}.
 *
 * - soft: P(speaker k active) = sum of exp(log-prob) over the classes holding k
 *   (marginal probability; what the aggregation averages, so windows that
 *   disagree blend instead of flipping).
 * - hard: the argmax class decides, each speaker is 0 or 1 (pyannote's
 *   to_multilabel default).
 */
import { LOCAL_SPEAKERS, POWERSET_CLASSES } from './frames.js';

/** Local speakers (0-based) active in each powerset class. */
const POWERSET_SPEAKERS: readonly (readonly number[])[] = [[], [0], [1], [2], [0, 1], [0, 2], [1, 2]];

export type PowersetDecoding = 'soft' | 'hard';

/**
 * @param logProbs row-major [frames, 7] log-probabilities of one window
 * @returns row-major [frames, 3] activities in [0, 1]
 */
export function powersetToActivities(
  logProbs: Float32Array,
  frames: number,
  decoding: PowersetDecoding,
): Float32Array {
  if (logProbs.length !== frames * POWERSET_CLASSES) {
    throw new Error(`expected ${frames * POWERSET_CLASSES} log-probabilities, got ${logProbs.length}`);
  }
  const activities = new Float32Array(frames * LOCAL_SPEAKERS);
  for (let f = 0; f < frames; f++) {
    const row = f * POWERSET_CLASSES;
    const out = f * LOCAL_SPEAKERS;
    if (decoding === 'soft') {
      for (let c = 0; c < POWERSET_CLASSES; c++) {
        const p = Math.exp(logProbs[row + c]);
        for (const k of POWERSET_SPEAKERS[c]) activities[out + k] += p;
      }
    } else {
      let best = 0;
      for (let c = 1; c < POWERSET_CLASSES; c++) if (logProbs[row + c] > logProbs[row + best]) best = c;
      for (const k of POWERSET_SPEAKERS[best]) activities[out + k] = 1;
    }
  }
  return activities;
}
