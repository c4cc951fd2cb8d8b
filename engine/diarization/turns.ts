/**
 * Speaker turns out of committed frames: a turn is a run of consecutive frames
 * where one speaker is active (several turns overlap when people talk at the
 * same time). Frames are fed in order; a turn is returned when its run ends.
 */

/** A stretch of one speaker's speech in stream time, as the diarizer reports it (and as references are scored, eval/der.ts). */
export interface SpeakerTurn {
  speaker: string;
  startMs: number;
  endMs: number;
}

export interface FrameTurn {
  speaker: number;
  startFrame: number;
  /** exclusive */
  endFrame: number;
}

export class TurnBuilder {
  /** speaker → first frame of its current run */
  private readonly open = new Map<number, number>();

  /** Feeds the next frame with the speakers active on it; returns the turns that ended just before it. */
  next(frame: number, active: readonly number[]): FrameTurn[] {
    const ended: FrameTurn[] = [];
    for (const [speaker, startFrame] of this.open) {
      if (!active.includes(speaker)) {
        ended.push({ speaker, startFrame, endFrame: frame });
        this.open.delete(speaker);
      }
    }
    for (const speaker of active) if (!this.open.has(speaker)) this.open.set(speaker, frame);
    return ended;
  }

  /** Ends every open turn at `endFrame` (stream end). */
  finish(endFrame: number): FrameTurn[] {
    const ended = [...this.open].map(([speaker, startFrame]) => ({ speaker, startFrame, endFrame }));
    this.open.clear();
    return ended;
  }
}
