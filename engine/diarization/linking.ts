/**
 * Links a new window's local speakers to global speakers by how their activity
 * agrees with the previous window's (already relabelled) output on the frames
 * both windows cover. The model numbers speakers arbitrarily in every window,
 * so this is what keeps a person's label from window to window while they
 * speak within one window length (diart's stitching / pyannote's permutate
 * idea). The previous window is the reference rather than the aggregated
 * timeline because the timeline's mean is diluted wherever earlier windows
 * heard the frames differently; the previous window is crisp.
 *
 * Score(k, j) = sum over shared frames of local(k) * previous(j): the expected
 * time both are active. The Hungarian algorithm picks the one-to-one pairing
 * with the largest total; a pair is kept only when it covers at least
 * `minAgreement` of the local speaker's shared activity and at least
 * `minSharedFrames` frames, so a speaker who only starts in the new part of the
 * window (or barely overlaps anyone) is left unmatched for the caller.
 */
import { LOCAL_SPEAKERS } from './frames.js';
import { maxScoreAssignment } from './hungarian.js';

export interface LinkOptions {
  /** Fraction of the local speaker's shared activity that must coincide with the global speaker. */
  minAgreement: number;
  /** Expected co-active frames below which a pairing is not trusted. */
  minSharedFrames: number;
}

/**
 * @param local row-major [frames, 3] local activities on the shared frames
 * @param globals per candidate global speaker, its activity on the same frames
 * @returns for each of the 3 local speakers the index into `globals`, or -1
 */
export function linkLocalSpeakers(
  local: Float32Array,
  frames: number,
  globals: readonly Float32Array[],
  opts: LinkOptions,
): number[] {
  const links = new Array<number>(LOCAL_SPEAKERS).fill(-1);
  if (frames === 0 || globals.length === 0) return links;
  const score = Array.from({ length: LOCAL_SPEAKERS }, () => new Array<number>(globals.length).fill(0));
  const localMass = new Array<number>(LOCAL_SPEAKERS).fill(0);
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < LOCAL_SPEAKERS; k++) {
      const a = local[f * LOCAL_SPEAKERS + k];
      if (a === 0) continue;
      localMass[k] += a;
      for (let j = 0; j < globals.length; j++) score[k][j] += a * globals[j][f];
    }
  }
  maxScoreAssignment(score).forEach((j, k) => {
    if (j < 0) return;
    const shared = score[k][j];
    if (shared >= opts.minSharedFrames && shared >= opts.minAgreement * localMass[k]) links[k] = j;
  });
  return links;
}
