/**
 * Where an utterance's endpoint falls after long real speech, with the
 * default VAD (Silero v4): its recurrent state, carried from a 15 s
 * recording through 1.2 s of silence into a synthetic sentence, keeps the
 * speech probability above the end threshold for ~400 ms after the sentence
 * ends, so the endpoint came 300-400 ms late. The channel transcriber resets
 * the state once the stream has been silent for the endpointing time
 * (Segmenter.reachedEndpoint, VadStreamState.reset); this drives the same
 * loop (VAD call per 32 ms chunk, segmenter, reset) with and without it. The
 * recording's last segment ends at a pause (it is over 8 s), before the
 * endpointing time, so the reset must not wait for a segment's end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE_CONFIG } from '../engine/config.js';
import { DEFAULT_SEGMENTER_OPTIONS, Segmenter } from '../engine/vad/segmenter.js';
import { SileroVad, VAD_CHUNK_SAMPLES } from '../engine/vad/silero.js';
import { concat, readAudio16k, silence, synthesize } from '../testkit/speech.js';
import { sharedPath } from '../testkit/paths.js';

const SPEECH_THRESHOLD = 0.01;
let vad: SileroVad;
let audio: Float32Array;
let speechEndMs: number;

beforeAll(async () => {
  vad = await SileroVad.load(DEFAULT_ENGINE_CONFIG.vadModel);
  const recording = readAudio16k(sharedPath('audio', 'librivox/two_cities_16k.wav')).subarray(0, 15 * 16_000);
  const sentence = synthesize('you will be called upon to help a friend in trouble', { engine: 'espeak', voice: 'en-us' });
  let last = sentence.length - 1;
  while (Math.abs(sentence[last]) < SPEECH_THRESHOLD) last--;
  const before = concat(silence(500), recording, silence(1200));
  speechEndMs = (before.length + last + 1) / 16;
  audio = concat(before, sentence, silence(1500));
});

afterAll(() => vad?.close());

/** How long after the sentence's last sound its segment ends (ms), with or without the reset at each endpoint. */
async function endpointDelayMs(resetAtEndpoint: boolean): Promise<number> {
  const segmenter = new Segmenter(DEFAULT_SEGMENTER_OPTIONS);
  const state = vad.createState();
  for (let i = 0; i + VAD_CHUNK_SAMPLES <= audio.length; i += VAD_CHUNK_SAMPLES) {
    const chunk = audio.subarray(i, i + VAD_CHUNK_SAMPLES);
    const [p] = await vad.score([{ state, chunk }]);
    const atMs = (i + VAD_CHUNK_SAMPLES) / 16;
    for (const e of segmenter.push(chunk, p, 0)) if (e.type === 'ended' && atMs > speechEndMs) return atMs - speechEndMs;
    if (resetAtEndpoint && segmenter.reachedEndpoint) state.reset();
  }
  throw new Error('the sentence never ended');
}

describe('VAD endpoint after long real speech', () => {
  it('comes within the endpointing time plus 200 ms with the reset, 300+ ms later without it', async () => {
    const withReset = await endpointDelayMs(true);
    const without = await endpointDelayMs(false);
    console.log(`endpoint ${Math.round(withReset)} ms after the sentence's end with the reset, ${Math.round(without)} ms without (endpointing ${DEFAULT_SEGMENTER_OPTIONS.endpointingMs} ms)`);
    expect(withReset).toBeLessThanOrEqual(DEFAULT_SEGMENTER_OPTIONS.endpointingMs + 200);
    expect(without - withReset).toBeGreaterThan(200);
  });
});
