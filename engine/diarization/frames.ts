/**
 * Frame geometry of pyannote segmentation-3.0, and the conversions between
 * stream frames, samples and milliseconds that every other module uses.
 *
 * The numbers come from the ONNX metadata (sample_rate 16000, window_size
 * 160000, receptive_field_size 991, receptive_field_shift 270): a 10 s window
 * yields floor((160000 - 991) / 270) + 1 = 589 frames and window frame i looks
 * at window samples [270 i, 270 i + 991). The whole stream uses the same grid:
 * stream frame g is centred on stream sample 270 g + 495.5 and "owns" the
 * 270-sample cell around that centre, so turns built from frames tile time.
 */
import { SAMPLE_RATE_HZ, SAMPLES_PER_MS } from '../audio/format.js';

export { SAMPLE_RATE_HZ };
export const WINDOW_SAMPLES = 160_000;
export const WINDOW_FRAMES = 589;
export const FRAME_STEP_SAMPLES = 270;
export const FRAME_SPAN_SAMPLES = 991;
export const LOCAL_SPEAKERS = 3;
export const POWERSET_CLASSES = 7;

const FRAME_CENTER_OFFSET_SAMPLES = FRAME_SPAN_SAMPLES / 2;

/** Duration of one frame step: 16.875 ms. */
export const FRAME_STEP_MS = FRAME_STEP_SAMPLES / SAMPLES_PER_MS;

export function frameCenterMs(frame: number): number {
  return (frame * FRAME_STEP_SAMPLES + FRAME_CENTER_OFFSET_SAMPLES) / SAMPLES_PER_MS;
}

/** Start of the cell a frame owns (centre minus half a step); it ends where the next frame's starts. */
export function frameStartMs(frame: number): number {
  return frameCenterMs(frame) - FRAME_STEP_MS / 2;
}

/** First frame whose centre is at or after `ms`. */
export function firstFrameFromMs(ms: number): number {
  return Math.ceil((ms * SAMPLES_PER_MS - FRAME_CENTER_OFFSET_SAMPLES) / FRAME_STEP_SAMPLES);
}

/** Frame whose centre is nearest to `ms`. */
export function nearestFrameToMs(ms: number): number {
  return Math.round((ms * SAMPLES_PER_MS - FRAME_CENTER_OFFSET_SAMPLES) / FRAME_STEP_SAMPLES);
}

/** Number of whole frame steps closest to a duration. */
export function msToFrameCount(ms: number): number {
  return Math.round(ms / FRAME_STEP_MS);
}
