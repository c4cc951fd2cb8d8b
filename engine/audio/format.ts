/**
 * The engine's one audio format: after the decoder, every stream is 16 kHz
 * mono float32 in [-1, 1] per transcript channel, the rate every model here
 * (VAD, recognizer, diarization) takes. Stream times are in milliseconds of
 * that audio.
 */
export const SAMPLE_RATE_HZ = 16_000;
export const SAMPLES_PER_MS = SAMPLE_RATE_HZ / 1000;

/** Stream time covered by `samples` 16 kHz samples. */
export function samplesToMs(samples: number): number {
  return samples / SAMPLES_PER_MS;
}
