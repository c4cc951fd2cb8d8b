/**
 * The demo model's held-out word error rate, the way models/demo-en-ctc/README.md
 * reports it: `npx tsx bench/heldout.ts [--dir=tools/train-demo-model/work] [--model=DIR] [--lms=DIR] [--beams=16,32,64,128]`.
 * --model evaluates another export (a candidate from export.py), --lms other
 * language models (lm.arpa.gz and words.arpa.gz, candidates from lm.py); each
 * defaults to the shipped demo model's (--lms to the model's folder if it has them).
 *
 * Reads the held-out set `synth.py heldout 300` writes (heldout.jsonl and its
 * WAVs: held-out sentences in held-out voices, deterministic) and prints WER
 * for greedy decoding, beam search with the token LM, and beam search with
 * both LMs (the server's finals), over all of it, each half (the first is
 * where decoding settings were tuned) and each engine's voices. --beams adds
 * a row with both LMs per beam size: the accuracy side of choosing the
 * default beam (its cost side: `BEAM_SIZE=N npm run bench -- capacity`).
 * A streaming model (--model=models/demo-en-streaming-ctc) is decoded chunk by
 * chunk, as the server decodes it.
 */
import { readSetOrExit } from './lib/read-set.js';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { CtcRecognizer, DEFAULT_BEAM_DECODING, type RecognizerOptions } from '../engine/asr/recognizer.js';
import { isStreamingModelFile, StreamingRecognizer } from '../engine/asr/streaming-recognizer.js';
import { corpusWer } from '../eval/wer.js';
import { DEMO_MODEL_DIR } from '../engine/models/resolve.js';
import { readHeldoutSet, transcribeAll } from '../eval/heldout-set.js';

const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const dir = option('dir') ?? path.join('tools', 'train-demo-model', 'work');
const modelDir = option('model') ?? DEMO_MODEL_DIR;
// The model's own LMs when its folder has them (the streaming demo's), else the demo model's.
const lmDir = option('lms') ?? (existsSync(path.join(modelDir, 'lm.arpa.gz')) ? modelDir : DEMO_MODEL_DIR);
const set = readSetOrExit(() => readHeldoutSet(dir));
const { items, audio } = set;
const half = Math.ceil(items.length / 2);
const subsets: [string, (i: number) => boolean][] = [
  ['all', () => true],
  ['first half', (i) => i < half],
  ['second half', (i) => i >= half],
  ...[...new Set(items.map((it) => it.engine))].map((e): [string, (i: number) => boolean] => [e, (i) => items[i].engine === e]),
];

const model = { modelPath: path.join(modelDir, 'model.onnx'), tokensPath: path.join(modelDir, 'tokens.txt'), numThreads: 1 };
const tokenLm = path.join(lmDir, 'lm.arpa.gz');
const decodings: [string, RecognizerOptions][] = [
  ['greedy', model],
  ['beam + token LM', { ...model, lmPath: tokenLm }],
  ['beam + token and word LMs', { ...model, lmPath: tokenLm, wordLmPath: path.join(lmDir, 'words.arpa.gz') }],
];
const bothLms = decodings[2][1];
for (const beamSize of (option('beams') ?? '').split(',').filter(Boolean).map(Number)) {
  if (!(Number.isInteger(beamSize) && beamSize > 0)) throw new Error(`--beams takes positive whole numbers (got ${option('beams')})`);
  if (beamSize !== DEFAULT_BEAM_DECODING.beamSize) decodings.push([`both LMs, beam ${beamSize}`, { ...bothLms, beamSize }]);
}

console.log(`${items.length} held-out utterances from ${dir}; ${subsets.map(([name, sel]) => `${name} ${items.filter((_, i) => sel(i)).length}`).join(', ')}`);
const streaming = isStreamingModelFile(model.modelPath);
if (streaming) console.log('a streaming model: each row is its finals, decoded chunk by chunk as the server decodes them (greedy: the running best path)');
for (const [name, options] of decodings) {
  const recognizer = streaming ? await StreamingRecognizer.load(options) : await CtcRecognizer.load(options);
  const started = performance.now();
  const hyps = await transcribeAll(recognizer, audio);
  const msPerUtterance = (performance.now() - started) / audio.length;
  await recognizer.close();
  const wers = subsets.map(([subset, sel]) => {
    const pairs = items.flatMap((it, i) => (sel(i) ? [{ reference: it.text, hypothesis: hyps[i] }] : []));
    return `${subset} ${(corpusWer(pairs).wer * 100).toFixed(1)}%`;
  });
  console.log(`${name.padEnd(26)} ${wers.join(' | ')} (${msPerUtterance.toFixed(0)} ms per utterance, one thread)`);
}
