/**
 * The demo model's held-out word error rate, the way models/demo-en-ctc/README.md
 * reports it: `npx tsx bench/heldout.ts [--dir=tools/train-demo-model/work] [--model=DIR] [--lms=DIR]`.
 * --model evaluates another export (a candidate from export.py), --lms other
 * language models (lm.arpa.gz and words.arpa.gz, candidates from lm.py); each
 * defaults to the shipped demo model's.
 *
 * Reads the held-out set `synth.py heldout 300` writes (heldout.jsonl and its
 * WAVs: held-out sentences in held-out voices, deterministic) and prints WER
 * for greedy decoding, beam search with the token LM, and beam search with
 * both LMs (the server's finals), over all of it, each half (the first is
 * where decoding settings were tuned) and each engine's voices.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CtcRecognizer, type RecognizerOptions } from '../engine/asr/recognizer.js';
import { corpusWer } from '../engine/asr/wer.js';
import { DEMO_MODEL_DIR } from '../engine/models/resolve.js';
import { readAudio16k } from '../tests/helpers/speech.js';

interface HeldoutItem {
  wav: string;
  text: string;
  engine: string;
  voice: string;
}

const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const dir = option('dir') ?? path.join('tools', 'train-demo-model', 'work');
const modelDir = option('model') ?? DEMO_MODEL_DIR;
const lmDir = option('lms') ?? DEMO_MODEL_DIR;
const list = path.join(dir, 'heldout.jsonl');
if (!existsSync(list)) {
  console.error(`${list} not found: make the held-out set first (cd tools/train-demo-model && python3 synth.py heldout 300)`);
  process.exit(2);
}
const items = readFileSync(list, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as HeldoutItem);
const audio = items.map((it) => readAudio16k(path.join(dir, it.wav)));
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

console.log(`${items.length} held-out utterances from ${list}; ${subsets.map(([name, sel]) => `${name} ${items.filter((_, i) => sel(i)).length}`).join(', ')}`);
for (const [name, options] of decodings) {
  const recognizer = await CtcRecognizer.load(options);
  const started = performance.now();
  const hyps: string[] = [];
  for (let i = 0; i < audio.length; i += 16) hyps.push(...(await recognizer.recognizeBatch(audio.slice(i, i + 16))).map((r) => r.text));
  const msPerUtterance = (performance.now() - started) / audio.length;
  await recognizer.close();
  const wers = subsets.map(([subset, sel]) => {
    const pairs = items.flatMap((it, i) => (sel(i) ? [{ reference: it.text, hypothesis: hyps[i] }] : []));
    return `${subset} ${(corpusWer(pairs).wer * 100).toFixed(1)}%`;
  });
  console.log(`${name.padEnd(26)} ${wers.join(' | ')} (${msPerUtterance.toFixed(0)} ms per utterance, one thread)`);
}
