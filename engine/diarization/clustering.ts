/**
 * Online speaker clustering on embeddings (diart's OnlineSpeakerClustering
 * idea): one centroid per global speaker, the running sum of that speaker's
 * unit-normalised embeddings; a new embedding belongs to the nearest centroid
 * by cosine distance when it is within `maxCosineDistance`, otherwise it is a
 * new speaker. This is what re-identifies a person who comes back after a
 * silence longer than a window, which overlap linking cannot do.
 *
 * Bounded: at most `maxCentroids`; adding beyond that forgets the centroid
 * used least recently.
 */

export interface ClusteringOptions {
  /** Cosine distance (1 - cosine similarity, 0..2) under which an embedding joins a centroid; depends on the embedding model. */
  maxCosineDistance: number;
  maxCentroids: number;
}

interface Centroid {
  sum: Float32Array;
  /** Embeddings summed. */
  count: number;
  lastUsed: number;
}

export class SpeakerClustering {
  private readonly centroids = new Map<number, Centroid>();
  private uses = 0;

  constructor(private readonly opts: ClusteringOptions) {}

  /**
   * Nearest known speaker within the distance threshold, skipping `exclude`
   * (speakers already taken by another local speaker of the same window).
   * @param maxDistance the threshold (default the configured maxCosineDistance; Infinity: the nearest whatever its distance)
   * @returns the speaker id, or undefined when the embedding is far from all
   */
  identify(embedding: Float32Array, exclude: ReadonlySet<number>, maxDistance = this.opts.maxCosineDistance): number | undefined {
    return this.nearest(embedding, maxDistance, (speaker) => !exclude.has(speaker));
  }

  /** Adds an embedding to a speaker's centroid, creating the centroid if needed. */
  update(speaker: number, embedding: Float32Array): void {
    let c = this.centroids.get(speaker);
    if (!c) {
      if (this.centroids.size >= this.opts.maxCentroids) this.forgetLeastRecent();
      c = { sum: new Float32Array(embedding.length), count: 0, lastUsed: 0 };
      this.centroids.set(speaker, c);
    }
    if (c.sum.length !== embedding.length) throw new Error('embedding dimension changed');
    // Unit vectors, so every embedding weighs the same in the centroid.
    let squares = 0;
    for (const x of embedding) squares += x * x;
    const norm = Math.sqrt(squares) || 1;
    for (let i = 0; i < embedding.length; i++) c.sum[i] += embedding[i] / norm;
    c.count++;
    c.lastUsed = ++this.uses;
  }

  /**
   * The known speaker whose centroid is nearest to `speaker`'s, within
   * `maxDistance`, skipping `exclude`; both centroids must hold at least
   * `minEmbeddings` embeddings (one vector is too noisy to call two labels
   * one person). Undefined when there is none.
   */
  sameAs(speaker: number, exclude: ReadonlySet<number>, maxDistance: number, minEmbeddings: number): number | undefined {
    const c = this.centroids.get(speaker);
    if (!c || c.count < minEmbeddings) return undefined;
    return this.nearest(c.sum, maxDistance, (other, o) => other !== speaker && !exclude.has(other) && o.count >= minEmbeddings);
  }

  /** The speaker whose centroid is nearest to `vector` within `maxDistance`, among those `eligible` says may be. */
  private nearest(vector: Float32Array, maxDistance: number, eligible: (speaker: number, c: Centroid) => boolean): number | undefined {
    let best: number | undefined;
    let bestDistance = maxDistance;
    for (const [speaker, c] of this.centroids) {
      if (!eligible(speaker, c)) continue;
      const distance = cosineDistance(vector, c.sum);
      if (distance <= bestDistance) {
        best = speaker;
        bestDistance = distance;
      }
    }
    return best;
  }

  /** Folds `from`'s centroid into `into`'s (two labels found to be one person). */
  merge(from: number, into: number): void {
    const f = this.centroids.get(from);
    const t = this.centroids.get(into);
    if (!f || !t) throw new Error(`no centroid for speaker ${f ? into : from}`);
    for (let i = 0; i < t.sum.length; i++) t.sum[i] += f.sum[i];
    t.count += f.count;
    t.lastUsed = Math.max(t.lastUsed, f.lastUsed);
    this.centroids.delete(from);
  }

  private forgetLeastRecent(): void {
    let oldest: number | undefined;
    let oldestUse = Infinity;
    for (const [speaker, c] of this.centroids) {
      if (c.lastUsed < oldestUse) {
        oldest = speaker;
        oldestUse = c.lastUsed;
      }
    }
    if (oldest !== undefined) this.centroids.delete(oldest);
  }
}

export function cosineDistance(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error('embedding dimension mismatch');
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  if (normA === 0 || normB === 0) return 1;
  return 1 - dot / Math.sqrt(normA * normB);
}
