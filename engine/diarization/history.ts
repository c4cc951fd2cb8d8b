/**
 * Committed ("final") speaker per frame of one stream, kept for a bounded
 * history so past spans can be asked about: one Int32 per frame holding the
 * dominant global speaker id, or NO_SPEAKER. At the default 10 minutes this is
 * ~36k frames, 140 kB per stream.
 */

export const NO_SPEAKER = -1;

export class SpeakerHistory {
  private readonly speakers: Int32Array;
  private committedEnd = 0;

  constructor(readonly capacityFrames: number) {
    this.speakers = new Int32Array(capacityFrames);
  }

  /** Frames below this are committed. */
  get endFrame(): number {
    return this.committedEnd;
  }

  /** Oldest frame still remembered. */
  get startFrame(): number {
    return Math.max(0, this.committedEnd - this.capacityFrames);
  }

  /** Commits the next frame. */
  push(speaker: number): void {
    this.speakers[this.committedEnd % this.capacityFrames] = speaker;
    this.committedEnd++;
  }

  /** The committed speaker of a frame, or undefined when not committed yet or forgotten. */
  speakerAt(frame: number): number | undefined {
    if (frame < this.startFrame || frame >= this.committedEnd) return undefined;
    return this.speakers[frame % this.capacityFrames];
  }
}

/**
 * Most frequent speaker among frame labels, ignoring NO_SPEAKER; ties go to
 * the speaker seen first. NO_SPEAKER when nobody speaks.
 */
export function majoritySpeaker(frameSpeakers: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const s of frameSpeakers) if (s !== NO_SPEAKER) counts.set(s, (counts.get(s) ?? 0) + 1);
  let best = NO_SPEAKER;
  let bestCount = 0;
  for (const [s, count] of counts) {
    if (count > bestCount) {
      best = s;
      bestCount = count;
    }
  }
  return best;
}
