/**
 * Aggregation of overlapping windows into one timeline per stream (diart's
 * DelayedAggregation idea, "mean" strategy): each window adds its speaker
 * activities, already relabelled to global speakers, to the frames it covers;
 * a frame's activity for a speaker is the mean over all windows that covered
 * the frame so far (a window that did not see the speaker counts as 0). The
 * caller decides when a frame stops changing (its latency) and commits it.
 *
 * Memory is a ring of RING_FRAMES recent frames: enough for one window, the
 * latency and one step (each at most 10 s, checked in options.ts). Speakers
 * with no activity left in the ring are forgotten.
 */
import { WINDOW_FRAMES } from './frames.js';

export const RING_FRAMES = 2048;

interface SpeakerSums {
  sums: Float32Array;
  lastActiveFrame: number;
}

export class ActivityTimeline {
  private readonly windowCounts = new Uint16Array(RING_FRAMES);
  /** Per frame, the sum over covering windows of how many local speakers each window heard there. */
  private readonly speakerCountSums = new Float32Array(RING_FRAMES);
  private readonly speakers = new Map<number, SpeakerSums>();
  /** Frames below this have been covered by at least one window. */
  private coveredEnd = 0;

  get endFrame(): number {
    return this.coveredEnd;
  }

  /**
   * @param startFrame stream frame of the window's first frame (negative while
   *   the window still reaches before the stream start; those frames are skipped)
   * @param activities global speaker id → WINDOW_FRAMES activities, index 0 = startFrame
   * @param speakerCounts per window frame, how many speakers the window hears
   *   there, whether or not they became global speakers (default: the sum of
   *   `activities`)
   */
  addWindow(startFrame: number, activities: ReadonlyMap<number, Float32Array>, speakerCounts?: Float32Array): void {
    const endFrame = startFrame + WINDOW_FRAMES;
    if (startFrame > this.coveredEnd) throw new Error('windows must overlap or touch the covered timeline');
    if (endFrame < this.coveredEnd) throw new Error('windows must move forward');
    const firstFrame = Math.max(0, startFrame);
    // Reuse ring slots for the frames this window is the first to reach.
    for (let g = this.coveredEnd; g < endFrame; g++) {
      const slot = g % RING_FRAMES;
      this.windowCounts[slot] = 0;
      this.speakerCountSums[slot] = 0;
      for (const s of this.speakers.values()) s.sums[slot] = 0;
    }
    this.coveredEnd = Math.max(this.coveredEnd, endFrame);
    for (let g = firstFrame; g < endFrame; g++) this.windowCounts[g % RING_FRAMES]++;
    if (speakerCounts) {
      for (let g = firstFrame; g < endFrame; g++) this.speakerCountSums[g % RING_FRAMES] += speakerCounts[g - startFrame];
    } else {
      for (const activity of activities.values()) {
        for (let g = firstFrame; g < endFrame; g++) this.speakerCountSums[g % RING_FRAMES] += activity[g - startFrame];
      }
    }
    for (const [speaker, activity] of activities) {
      let s = this.speakers.get(speaker);
      if (!s) {
        s = { sums: new Float32Array(RING_FRAMES), lastActiveFrame: -1 };
        this.speakers.set(speaker, s);
      }
      for (let g = firstFrame; g < endFrame; g++) {
        const a = activity[g - startFrame];
        if (a === 0) continue;
        s.sums[g % RING_FRAMES] += a;
        s.lastActiveFrame = Math.max(s.lastActiveFrame, g);
      }
    }
    for (const [speaker, s] of this.speakers) {
      if (s.lastActiveFrame < this.coveredEnd - RING_FRAMES) this.speakers.delete(speaker);
    }
  }

  /** Adds `from`'s activity to `into`'s on every frame in the ring and forgets `from` (two labels found to be one person). */
  mergeSpeaker(from: number, into: number): void {
    const f = this.speakers.get(from);
    if (!f) return;
    const t = this.speakers.get(into);
    if (!t) {
      this.speakers.set(into, f);
    } else {
      for (let slot = 0; slot < RING_FRAMES; slot++) t.sums[slot] += f.sums[slot];
      t.lastActiveFrame = Math.max(t.lastActiveFrame, f.lastActiveFrame);
    }
    this.speakers.delete(from);
  }

  /** Mean activity of a speaker on a covered frame still in the ring (0 otherwise). */
  mean(speaker: number, frame: number): number {
    const s = this.speakers.get(speaker);
    if (!s || !this.holds(frame)) return 0;
    const slot = frame % RING_FRAMES;
    const count = this.windowCounts[slot];
    return count === 0 ? 0 : s.sums[slot] / count;
  }

  /** Speakers whose mean activity on `frame` reaches `threshold`, most active first. */
  activeAt(frame: number, threshold: number): number[] {
    const active: { speaker: number; activity: number }[] = [];
    for (const speaker of this.speakers.keys()) {
      const activity = this.mean(speaker, frame);
      if (activity >= threshold) active.push({ speaker, activity });
    }
    return active.sort((a, b) => b.activity - a.activity).map((a) => a.speaker);
  }

  /** Mean over the covering windows of how many speakers each heard on `frame` (0 when not covered). */
  meanSpeakerCount(frame: number): number {
    if (!this.holds(frame)) return 0;
    const slot = frame % RING_FRAMES;
    const count = this.windowCounts[slot];
    return count === 0 ? 0 : this.speakerCountSums[slot] / count;
  }

  /**
   * Speakers on a frame by count (pyannote's reconstruction): the windows'
   * mean speaker count, rounded, says how many speak; the speakers with the
   * highest mean activity fill those places, most active first. Unlike a
   * threshold on each speaker's mean, speech is kept where windows agree that
   * someone speaks but disagree on who (a mean split between two labels).
   * Speakers with mean activity under `minActivity` are not picked.
   */
  activeByCount(frame: number, minActivity: number, maxSpeakers = Infinity): number[] {
    const count = Math.min(Math.round(this.meanSpeakerCount(frame)), maxSpeakers);
    if (count <= 0) return [];
    const active: { speaker: number; activity: number }[] = [];
    for (const speaker of this.speakers.keys()) {
      const activity = this.mean(speaker, frame);
      if (activity > 0 && activity >= minActivity) active.push({ speaker, activity });
    }
    return active
      .sort((a, b) => b.activity - a.activity)
      .slice(0, count)
      .map((a) => a.speaker);
  }

  private holds(frame: number): boolean {
    return frame >= 0 && frame < this.coveredEnd && frame >= this.coveredEnd - RING_FRAMES;
  }
}
