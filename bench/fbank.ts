/**
 * Speed of the filterbank (engine/asr/fbank.ts) on 60 s of 16 kHz audio, with
 * the FFT it uses (engine/asr/fft.ts, radix-2 with the half-size complex
 * packing) and with fft.js's radix-4 realTransform, the alternative it was
 * chosen over. Both run through the same filterbank code (computeLogMelWith)
 * and are interleaved run by run so background load hits them alike.
 *
 * Run: npx tsx bench/fbank.ts
 */
import FFTJS from 'fft.js';
import { performance } from 'node:perf_hooks';
import { computeLogMel, computeLogMelWith, SAMPLE_RATE_HZ, type PowerSpectrumFn } from '../engine/asr/fbank.js';
import { RealFft } from '../engine/asr/fft.js';

const AUDIO_SECONDS = 60;
const WARMUP_RUNS = 3;
const TIMED_RUNS = 15;
const FFT_SIZE = 512;
const SPECTRA_PER_RUN = 20_000;

function fftJsPowerSpectrum(): PowerSpectrumFn {
  const fft = new FFTJS(FFT_SIZE);
  const out = fft.createComplexArray() as number[];
  return (frame512, power257) => {
    fft.realTransform(out, frame512);
    for (let k = 0; k <= FFT_SIZE / 2; k++) power257[k] = out[2 * k] * out[2 * k] + out[2 * k + 1] * out[2 * k + 1];
  };
}

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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeMs(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

const audio = testAudio(AUDIO_SECONDS);
const own = new RealFft(FFT_SIZE);
const viaFftJs = fftJsPowerSpectrum();
const variants: { name: string; fbank: () => unknown; spectrum: PowerSpectrumFn }[] = [
  {
    name: 'engine/asr/fft.ts RealFft (in use)',
    fbank: () => computeLogMel(audio),
    spectrum: (frame512, power257) => own.powerSpectrum(frame512, power257),
  },
  { name: 'fft.js realTransform', fbank: () => computeLogMelWith(audio, viaFftJs), spectrum: viaFftJs },
];
const frame = new Float64Array(FFT_SIZE).map((_, i) => Math.sin(i));
const power = new Float64Array(FFT_SIZE / 2 + 1);

const fbankMs = variants.map(() => [] as number[]);
const spectrumMs = variants.map(() => [] as number[]);
for (let run = 0; run < WARMUP_RUNS + TIMED_RUNS; run++) {
  variants.forEach((v, i) => {
    const a = timeMs(v.fbank);
    const b = timeMs(() => {
      for (let k = 0; k < SPECTRA_PER_RUN; k++) v.spectrum(frame, power);
    });
    if (run >= WARMUP_RUNS) {
      fbankMs[i].push(a);
      spectrumMs[i].push(b);
    }
  });
}

console.log(`computeLogMel on ${AUDIO_SECONDS} s of audio, median of ${TIMED_RUNS} runs (node ${process.version})`);
variants.forEach((v, i) => {
  const ms = median(fbankMs[i]);
  const msPerAudioSecond = ms / AUDIO_SECONDS;
  const usPerSpectrum = (median(spectrumMs[i]) * 1000) / SPECTRA_PER_RUN;
  console.log(
    `  ${v.name.padEnd(36)} ${msPerAudioSecond.toFixed(3)} ms per audio second, ` +
      `RTF ${(msPerAudioSecond / 1000).toExponential(2)} (${ms.toFixed(1)} ms total); ` +
      `${usPerSpectrum.toFixed(2)} us per 512-point power spectrum alone`,
  );
});
