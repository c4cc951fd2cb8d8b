/**
 * Speed of the filterbank (engine/asr/fbank.ts, fft.js inside) on 60 s of
 * 16 kHz audio: ms per audio second and real-time factor, median of 15 runs.
 *
 * Run: npx tsx bench/fbank.ts
 */
import { performance } from 'node:perf_hooks';
import { computeLogMel, SAMPLE_RATE_HZ } from '../engine/asr/fbank.js';

const AUDIO_SECONDS = 60;
const WARMUP_RUNS = 3;
const TIMED_RUNS = 15;

/** Speech-like enough for timing: a few tones plus noise; fbank cost does not depend on content. */
function testAudio(seconds: number): Float32Array {
  const out = new Float32Array(seconds * SAMPLE_RATE_HZ);
  let state = 12345;
  for (let n = 0; n < out.length; n++) {
    state = (Math.imul(1664525, state) + 1013904223) >>> 0;
    const t = n / SAMPLE_RATE_HZ;
    out[n] = 0.3 * Math.sin(2 * Math.PI * 220 * t) + 0.1 * Math.sin(2 * Math.PI * 1800 * t) + 0.05 * ((2 * state) / 2 ** 32 - 1);
  }
  return out;
}

const audio = testAudio(AUDIO_SECONDS);
const runsMs: number[] = [];
for (let run = 0; run < WARMUP_RUNS + TIMED_RUNS; run++) {
  const start = performance.now();
  computeLogMel(audio);
  if (run >= WARMUP_RUNS) runsMs.push(performance.now() - start);
}
const ms = [...runsMs].sort((a, b) => a - b)[Math.floor(runsMs.length / 2)];
const msPerAudioSecond = ms / AUDIO_SECONDS;
console.log(
  `computeLogMel on ${AUDIO_SECONDS} s of audio, median of ${TIMED_RUNS} runs (node ${process.version}): ` +
    `${msPerAudioSecond.toFixed(3)} ms per audio second, RTF ${(msPerAudioSecond / 1000).toExponential(2)} (${ms.toFixed(1)} ms total)`,
);
