import { describe, expect, it } from 'vitest';
import { SpeakerClustering, cosineDistance } from '../engine/diarization/clustering.js';

/** Deterministic PRNG so failures reproduce. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) % 2 ** 32;
    return s / 2 ** 32;
  };
}

const DIM = 32;
const random = lcg(42);
const direction = () => Float32Array.from({ length: DIM }, () => random() * 2 - 1);
/** A speaker's embedding: its direction plus noise, at a random scale (models do not normalise). */
const sample = (center: Float32Array, noise: number) =>
  Float32Array.from(center, (x) => (x + (random() * 2 - 1) * noise) * (0.5 + random()));

describe('cosine distance', () => {
  it('is 0 for parallel, 1 for orthogonal, 2 for opposite vectors', () => {
    expect(cosineDistance(Float32Array.of(1, 2), Float32Array.of(2, 4))).toBeCloseTo(0, 9);
    expect(cosineDistance(Float32Array.of(1, 0), Float32Array.of(0, 3))).toBeCloseTo(1, 9);
    expect(cosineDistance(Float32Array.of(1, 1), Float32Array.of(-1, -1))).toBeCloseTo(2, 9);
  });
});

describe('online speaker clustering', () => {
  it('re-identifies returning speakers and opens new ones when far from all', () => {
    const speakers = [direction(), direction(), direction()];
    const clustering = new SpeakerClustering({ maxCosineDistance: 0.4, maxCentroids: 10 });
    const idOf = new Map<number, number>(); // true speaker → assigned id
    let nextId = 0;
    // Speakers come and go in turns, as in a meeting: 0, 1, 0, 2, 1, 2, 0 ...
    const order = [0, 1, 0, 2, 1, 2, 0, 0, 1, 2, 2, 1, 0];
    for (const truth of order) {
      for (let i = 0; i < 3; i++) {
        const e = sample(speakers[truth], 0.15);
        const found = clustering.identify(e, new Set());
        if (!idOf.has(truth)) {
          expect(found).toBeUndefined(); // first time: far from every centroid
          idOf.set(truth, nextId++);
        } else {
          expect(found).toBe(idOf.get(truth));
        }
        clustering.update(idOf.get(truth)!, e);
      }
    }
    expect(nextId).toBe(3);
  });

  it('skips excluded speakers (already taken in the same window)', () => {
    const a = direction();
    const clustering = new SpeakerClustering({ maxCosineDistance: 0.4, maxCentroids: 10 });
    clustering.update(7, a);
    expect(clustering.identify(sample(a, 0.05), new Set())).toBe(7);
    expect(clustering.identify(sample(a, 0.05), new Set([7]))).toBeUndefined();
  });

  it('picks the nearest of several centroids within the threshold', () => {
    const clustering = new SpeakerClustering({ maxCosineDistance: 1, maxCentroids: 10 });
    clustering.update(1, Float32Array.of(1, 0));
    clustering.update(2, Float32Array.of(0.6, 0.8));
    expect(clustering.identify(Float32Array.of(0.5, 0.5), new Set())).toBe(2);
    expect(clustering.identify(Float32Array.of(1, 0.1), new Set())).toBe(1);
  });

  it('moves a centroid with updates', () => {
    const clustering = new SpeakerClustering({ maxCosineDistance: 0.1, maxCentroids: 10 });
    clustering.update(1, Float32Array.of(1, 0));
    const drifted = Float32Array.of(0.8, 0.6); // ~0.2 away from the first centroid
    expect(clustering.identify(drifted, new Set())).toBeUndefined();
    clustering.update(1, drifted);
    // Centroid is now between (1, 0) and (0.8, 0.6): within 0.1 of the drifted vector.
    expect(clustering.identify(drifted, new Set())).toBe(1);
  });

  it('forgets the least recently used centroid beyond the limit', () => {
    const clustering = new SpeakerClustering({ maxCosineDistance: 0.05, maxCentroids: 2 });
    clustering.update(1, Float32Array.of(1, 0, 0));
    clustering.update(2, Float32Array.of(0, 1, 0));
    clustering.update(1, Float32Array.of(1, 0, 0)); // 1 used again, 2 is now the oldest
    clustering.update(3, Float32Array.of(0, 0, 1));
    expect(clustering.identify(Float32Array.of(0, 1, 0), new Set())).toBeUndefined();
    expect(clustering.identify(Float32Array.of(1, 0, 0), new Set())).toBe(1);
    expect(clustering.identify(Float32Array.of(0, 0, 1), new Set())).toBe(3);
  });
});
