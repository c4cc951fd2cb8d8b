/**
 * The speech-recognition target on the demo model's held-out set: remakes
 * `synth.py heldout 300` (the committed held-out sentences in held-out voices,
 * through espeak-ng, flite and sox) in a temporary folder, transcribes it as
 * the server decodes finals (beam search with the shipped token and word
 * LMs at the server's defaults), prints the WER and word count, and asserts
 * the regression bound DEMO_MODEL_WER.heldoutSet.bound (16.5%; the frozen demo
 * model measures 14.8%). bench/heldout.ts prints the same figures with greedy
 * and token-LM rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CtcRecognizer } from '../engine/asr/recognizer.js';
import { DEMO_MODEL_DIR as DEMO } from '../engine/models/resolve.js';
import { corpusWer } from '../eval/wer.js';
import { DEMO_MODEL_WER, describeWer } from './helpers/demo-model.js';
import { HELDOUT_SET_SIZE, makeHeldoutSet, readHeldoutSet, transcribeAll } from '../eval/heldout-set.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'lt-heldout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it(`transcribes the ${HELDOUT_SET_SIZE}-utterance held-out set within the demo model's WER bound, as the server decodes finals`, async () => {
  makeHeldoutSet(dir);
  const { items, audio } = readHeldoutSet(dir);
  expect(items.length).toBe(HELDOUT_SET_SIZE);
  const recognizer = await CtcRecognizer.load({
    modelPath: path.join(DEMO, 'model.onnx'),
    tokensPath: path.join(DEMO, 'tokens.txt'),
    numThreads: 1,
    lmPath: path.join(DEMO, 'lm.arpa.gz'),
    wordLmPath: path.join(DEMO, 'words.arpa.gz'),
  });
  const hyps = await transcribeAll(recognizer, audio);
  await recognizer.close();
  const half = HELDOUT_SET_SIZE / 2;
  const werOf = (from: number, to: number) => corpusWer(items.slice(from, to).map((it, i) => ({ reference: it.text, hypothesis: hyps[from + i] })));
  const all = werOf(0, items.length);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(`${describeWer('held-out set', all.wer, DEMO_MODEL_WER.heldoutSet)} over ${all.referenceWords} words; first half (tuned decoding) ${pct(werOf(0, half).wer)}, second half ${pct(werOf(half, items.length).wer)}`);
  expect(all.wer).toBeLessThanOrEqual(DEMO_MODEL_WER.heldoutSet.bound);
});
