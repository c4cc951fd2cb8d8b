/**
 * The optional speaker-embedding model, and what the engine feeds it.
 *
 * Any model that maps speech of one person to a fixed-size vector fits
 * (embedding-model.ts runs sherpa-onnx's WeSpeaker, 3D-Speaker and NeMo
 * exports). The engine calls `embed` once per step with every
 * local speaker that has enough clean speech in its window: the window's
 * frames where that speaker, and only that speaker, is active (overlapped
 * speech would blend two voices into one vector, which is what diart's
 * overlap-aware embedding avoids with weights; here the frames are cut out).
 */
import { FRAME_SPAN_SAMPLES, FRAME_STEP_SAMPLES, LOCAL_SPEAKERS, WINDOW_FRAMES } from './frames.js';

export interface SpeakerEmbedder {
  /** One vector per input, same order, same dimension every time. Inputs are 16 kHz mono. */
  embed(speech16k: Float32Array[]): Promise<Float32Array[]>;
  /** Releases what the embedder holds (its model thread). */
  close?(): Promise<void>;
}

/** Activity above which a frame counts as the speaker's (and others' below it as silent). */
const ACTIVE = 0.5;

/** A frame owns the step-long cell centred in its receptive field (see frames.ts). */
const CELL_OFFSET_SAMPLES = Math.round((FRAME_SPAN_SAMPLES - FRAME_STEP_SAMPLES) / 2);

/**
 * Clean speech of each local speaker in one window.
 * @param windowAudio the window's WINDOW_SAMPLES samples
 * @param activities row-major [WINDOW_FRAMES, 3] local activities
 * @param minFrames fewer clean frames than this give null (too short for a reliable vector)
 * @returns per local speaker, the concatenated 270-sample cells of its clean frames, or null
 */
export function cleanSpeechPerSpeaker(
  windowAudio: Float32Array,
  activities: Float32Array,
  minFrames: number,
): (Float32Array | null)[] {
  const speech: (Float32Array | null)[] = [];
  for (let k = 0; k < LOCAL_SPEAKERS; k++) {
    const frames: number[] = [];
    for (let f = 0; f < WINDOW_FRAMES; f++) {
      let clean = activities[f * LOCAL_SPEAKERS + k] >= ACTIVE;
      for (let other = 0; other < LOCAL_SPEAKERS && clean; other++) {
        if (other !== k && activities[f * LOCAL_SPEAKERS + other] >= ACTIVE) clean = false;
      }
      if (clean) frames.push(f);
    }
    if (frames.length < minFrames) {
      speech.push(null);
      continue;
    }
    // Cells of consecutive frames tile the audio without repeats.
    const out = new Float32Array(frames.length * FRAME_STEP_SAMPLES);
    frames.forEach((f, i) => {
      const from = f * FRAME_STEP_SAMPLES + CELL_OFFSET_SAMPLES;
      out.set(windowAudio.subarray(from, from + FRAME_STEP_SAMPLES), i * FRAME_STEP_SAMPLES);
    });
    speech.push(out);
  }
  return speech;
}
