/**
 * Interleaved multichannel samples to what the transcribers take: one plane
 * per channel (multichannel sessions) or a single mono mix.
 */

/** Interleaved frames to one array per channel. */
export function deinterleave(interleaved: Float32Array, channels: number): Float32Array[] {
  const frames = interleaved.length / channels;
  const planes: Float32Array[] = [];
  for (let ch = 0; ch < channels; ch++) {
    const plane = new Float32Array(frames);
    for (let i = 0, j = ch; i < frames; i++, j += channels) plane[i] = interleaved[j];
    planes.push(plane);
  }
  return planes;
}

/**
 * Interleaved frames to mono, the mean of the channels: the mean (not the sum)
 * keeps a full-scale signal within [-1, 1].
 */
export function downmixInterleaved(interleaved: Float32Array, channels: number): Float32Array {
  if (channels === 1) return interleaved;
  const frames = interleaved.length / channels;
  const mono = new Float32Array(frames);
  for (let i = 0, j = 0; i < frames; i++) {
    let sum = 0;
    for (let ch = 0; ch < channels; ch++) sum += interleaved[j++];
    mono[i] = sum / channels;
  }
  return mono;
}

/** Planes (equal lengths) to mono, the mean of the channels. */
export function downmixPlanes(planes: Float32Array[]): Float32Array {
  if (planes.length === 1) return planes[0];
  const mono = new Float32Array(planes[0].length);
  for (const plane of planes) {
    for (let i = 0; i < mono.length; i++) mono[i] += plane[i];
  }
  for (let i = 0; i < mono.length; i++) mono[i] /= planes.length;
  return mono;
}
