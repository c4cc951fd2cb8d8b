/**
 * engine/asr/fbank.ts against its spec, tools/train-demo-model/fbank.py: the
 * committed reference vectors (tests/fixtures/fbank-reference.json, made by
 * make_fbank_reference.py), and fbank.py run live on a random signal when
 * /usr/bin/python3 with numpy is there. The streaming kind (KALDI_FBANK)
 * against kaldi_fbank.py run live, and windows cut from slices against the
 * whole signal.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  computeLogMel,
  frameStartSample,
  KALDI_FBANK,
  logMelFrames,
  NEMO_FBANK,
  normalizePerFeature,
  numFrames,
  NUM_MEL_BINS,
  PAD_LOG_VALUE,
  SAMPLE_RATE_HZ,
  FRAME_SHIFT_MS,
  type LogMel,
} from '../engine/asr/fbank.js';
import { PROJECT_ROOT } from '../testkit/paths.js';

const TOLERANCE = 1e-3;
const PYTHON = '/usr/bin/python3';
const FBANK_PY_DIR = path.join(PROJECT_ROOT, 'tools', 'train-demo-model');

interface SignalSpec {
  numSamples: number;
  /** [amplitude, frequency Hz, phase rad] */
  sines: [number, number, number][];
  /** [amplitude, start Hz, end Hz] */
  chirp: [number, number, number] | null;
  /** [amplitude, LCG seed] */
  noise: [number, number] | null;
}

interface ReferenceCase extends SignalSpec {
  name: string;
  sumAbsSamples: number;
  numFrames: number;
  frameIndices: number[];
  logMel: number[][];
  normalized: number[][];
}

interface Reference {
  generator: { lcgMultiplier: number; lcgIncrement: number; sampleRateHz: number };
  cases: ReferenceCase[];
}

const reference = JSON.parse(
  readFileSync(path.join(PROJECT_ROOT, 'tests', 'fixtures', 'fbank-reference.json'), 'utf8'),
) as Reference;

/** The formula of make_fbank_reference.py, operation for operation, so the float32 samples come out identical. */
function makeSignal(spec: SignalSpec, lcgMultiplier: number, lcgIncrement: number): Float32Array {
  const out = new Float32Array(spec.numSamples);
  const dur = spec.numSamples / 16000;
  let state = spec.noise ? spec.noise[1] : 0;
  for (let n = 0; n < spec.numSamples; n++) {
    let v = 0;
    for (const [amp, freqHz, phaseRad] of spec.sines) v += amp * Math.sin((2 * Math.PI * freqHz * n) / 16000 + phaseRad);
    if (spec.chirp) {
      const [amp, f0, f1] = spec.chirp;
      const t = n / 16000;
      v += amp * Math.sin(2 * Math.PI * (f0 * t + ((f1 - f0) * t * t) / (2 * dur)));
    }
    if (spec.noise) {
      state = (Math.imul(lcgMultiplier, state) + lcgIncrement) >>> 0;
      v += spec.noise[0] * ((2 * state) / 2 ** 32 - 1);
    }
    out[n] = v;
  }
  return out;
}

/** Max |actual[f] - expected row| over the given frames. */
function maxAbsDiff(actual: LogMel, frameIndices: number[], expectedRows: number[][]): number {
  let worst = 0;
  frameIndices.forEach((f, i) => {
    for (let b = 0; b < actual.numBins; b++) {
      worst = Math.max(worst, Math.abs(actual.data[f * actual.numBins + b] - expectedRows[i][b]));
    }
  });
  return worst;
}

describe('fbank constants', () => {
  it('match the model contract', () => {
    expect(SAMPLE_RATE_HZ).toBe(16000);
    expect(NUM_MEL_BINS).toBe(80);
    expect(FRAME_SHIFT_MS).toBe(10);
    expect(PAD_LOG_VALUE).toBeCloseTo(-23.02585093, 8);
  });
});

describe('numFrames', () => {
  // One frame per 160 samples, rounded to nearest: floor((n + 80) / 160).
  const expected: [number, number][] = [
    [0, 0], [1, 0], [79, 0], [80, 1], [159, 1], [160, 1], [239, 1], [240, 2], [241, 2],
    [399, 2], [400, 3], [16000, 100], [16079, 100], [16080, 101],
  ];
  it.each(expected)('%i samples -> %i frames', (numSamples, frames) => {
    expect(numFrames(numSamples)).toBe(frames);
    const m = computeLogMel(new Float32Array(numSamples));
    expect(m.numFrames).toBe(frames);
    expect(m.numBins).toBe(NUM_MEL_BINS);
    expect(m.data.length).toBe(frames * NUM_MEL_BINS);
  });
});

describe('computeLogMel / normalizePerFeature against fbank.py reference vectors', () => {
  const { lcgMultiplier, lcgIncrement } = reference.generator;
  it.each(reference.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const samples = makeSignal(c, lcgMultiplier, lcgIncrement);
    const sumAbs = samples.reduce((s, x) => s + Math.abs(x), 0);
    expect(sumAbs, 'the test signal was not rebuilt as the generator made it').toBeCloseTo(c.sumAbsSamples, 6);

    const logMel = computeLogMel(samples);
    expect(logMel.numFrames).toBe(c.numFrames);
    expect(maxAbsDiff(logMel, c.frameIndices, c.logMel)).toBeLessThan(TOLERANCE);

    const normalized = normalizePerFeature(logMel);
    expect(normalized.numFrames).toBe(c.numFrames);
    expect(normalized.data).not.toBe(logMel.data);
    expect(maxAbsDiff(normalized, c.frameIndices, c.normalized)).toBeLessThan(TOLERANCE);
  });

  it('the reference covers what it should', () => {
    // Guards against a regenerated fixture silently losing its edge cases.
    const lengths = reference.cases.map((c) => c.numSamples);
    expect(lengths).toEqual(expect.arrayContaining([16000, 12345, 4000, 399, 161, 80, 1]));
    expect(reference.cases.reduce((n, c) => n + c.frameIndices.length, 0)).toBeGreaterThan(100);
  });
});

describe('normalizePerFeature', () => {
  it('gives every bin zero mean and unit std and leaves its input alone', () => {
    const spec: SignalSpec = { numSamples: 8000, sines: [[0.3, 700, 0]], chirp: null, noise: [0.1, 42] };
    const logMel = computeLogMel(makeSignal(spec, 1664525, 1013904223));
    const before = Float32Array.from(logMel.data);
    const n = normalizePerFeature(logMel);
    expect(logMel.data).toEqual(before);
    for (let b = 0; b < n.numBins; b++) {
      let sum = 0;
      let sumSquares = 0;
      for (let f = 0; f < n.numFrames; f++) {
        const x = n.data[f * n.numBins + b];
        sum += x;
        sumSquares += x * x;
      }
      const mean = sum / n.numFrames;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(Math.sqrt(sumSquares / n.numFrames - mean * mean)).toBeCloseTo(1, 3);
    }
  });
});

const hasNumpy = spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

describe('computeLogMel against fbank.py run live', () => {
  it.skipIf(!hasNumpy)(`matches on a random signal (needs ${PYTHON} with numpy)`, () => {
    const seed = Math.floor(Math.random() * 2 ** 32);
    const spec: SignalSpec = {
      numSamples: 8000 + Math.floor(Math.random() * 16000),
      sines: [0, 1, 2].map(() => [0.05 + 0.2 * Math.random(), 50 + 7900 * Math.random(), 2 * Math.PI * Math.random()]),
      chirp: null,
      noise: [0.001 + 0.05 * Math.random(), seed],
    };
    const samples = makeSignal(spec, 1664525, 1013904223);
    const dir = mkdtempSync(path.join(tmpdir(), 'fbank-test-'));
    try {
      const inPath = path.join(dir, 'samples.f32');
      const outPath = path.join(dir, 'features.f64');
      writeFileSync(inPath, samples);
      const script = [
        'import sys, numpy as np',
        'sys.path.insert(0, sys.argv[1])',
        'import fbank',
        "x = np.fromfile(sys.argv[2], dtype='<f4').astype(np.float64)",
        'm = fbank.log_mel(x)',
        "np.concatenate([m.ravel(), fbank.normalize_per_feature(m).ravel()]).astype('<f8').tofile(sys.argv[3])",
      ].join('\n');
      execFileSync(PYTHON, ['-c', script, FBANK_PY_DIR, inPath, outPath]);
      const bytes = readFileSync(outPath);
      const expected = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);

      const logMel = computeLogMel(samples);
      const normalized = normalizePerFeature(logMel);
      const size = logMel.data.length;
      expect(expected.length, `signal ${JSON.stringify(spec)}`).toBe(2 * size);
      let worstLogMel = 0;
      let worstNormalized = 0;
      for (let i = 0; i < size; i++) {
        worstLogMel = Math.max(worstLogMel, Math.abs(logMel.data[i] - expected[i]));
        worstNormalized = Math.max(worstNormalized, Math.abs(normalized.data[i] - expected[size + i]));
      }
      expect(worstLogMel, `signal ${JSON.stringify(spec)}`).toBeLessThan(TOLERANCE);
      expect(worstNormalized, `signal ${JSON.stringify(spec)}`).toBeLessThan(TOLERANCE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the streaming kind (KALDI_FBANK)', () => {
  const spec: SignalSpec = { numSamples: 12345, sines: [[0.2, 440, 0.3], [0.05, 3100, 1]], chirp: [0.1, 100, 7000], noise: [0.01, 7] };
  const samples = makeSignal(spec, 1664525, 1013904223);

  it('cut from a slice as the chunk scheduler cuts windows, equals the whole signal frame for frame', () => {
    const whole = computeLogMel(samples, KALDI_FBANK);
    // A window of 24 frames from frame 16 on reads samples [160 * 16 - 120, 160 * 39 + 280).
    const sliceStart = frameStartSample(16);
    const slice = samples.slice(sliceStart, frameStartSample(39) + 400);
    const window = logMelFrames(slice, sliceStart, 16, 24, KALDI_FBANK);
    expect(window.data).toEqual(whole.data.subarray(16 * NUM_MEL_BINS, 40 * NUM_MEL_BINS));
    // The first window reflects the signal's start, as the whole signal does.
    expect(logMelFrames(samples.slice(0, frameStartSample(23) + 400), 0, 0, 24, KALDI_FBANK).data).toEqual(whole.data.subarray(0, 24 * NUM_MEL_BINS));
  });

  it('differs from the offline kind (other window, mel scale, band)', () => {
    const a = computeLogMel(samples, KALDI_FBANK).data;
    const b = computeLogMel(samples, NEMO_FBANK).data;
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i])))).toBeGreaterThan(0.5);
  });

  it.skipIf(!hasNumpy)(`matches kaldi_fbank.py run live on a random signal (needs ${PYTHON} with numpy)`, () => {
    const random: SignalSpec = {
      numSamples: 8000 + Math.floor(Math.random() * 16000),
      sines: [0, 1, 2].map(() => [0.05 + 0.2 * Math.random(), 50 + 7900 * Math.random(), 2 * Math.PI * Math.random()]),
      chirp: null,
      noise: [0.001 + 0.05 * Math.random(), Math.floor(Math.random() * 2 ** 32)],
    };
    const x = makeSignal(random, 1664525, 1013904223);
    const dir = mkdtempSync(path.join(tmpdir(), 'fbank-test-'));
    try {
      writeFileSync(path.join(dir, 'samples.f32'), x);
      const script = [
        'import sys, numpy as np',
        'sys.path.insert(0, sys.argv[1])',
        'import kaldi_fbank',
        "x = np.fromfile(sys.argv[2], dtype='<f4').astype(np.float64)",
        "kaldi_fbank.features(x).astype('<f8').tofile(sys.argv[3])",
      ].join('\n');
      execFileSync(PYTHON, ['-c', script, FBANK_PY_DIR, path.join(dir, 'samples.f32'), path.join(dir, 'features.f64')]);
      const bytes = readFileSync(path.join(dir, 'features.f64'));
      const expected = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
      const ours = computeLogMel(x, KALDI_FBANK).data;
      expect(expected.length, `signal ${JSON.stringify(random)}`).toBe(ours.length);
      let worst = 0;
      for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - expected[i]));
      expect(worst, `signal ${JSON.stringify(random)}`).toBeLessThan(TOLERANCE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
