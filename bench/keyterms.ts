/**
 * Keyterm biasing on the demo model (issue 40): `npm run bench -- keyterms
 * [--dir=tools/train-demo-model/work] [--heldout-dir=DIR] [--boosts=1.5,...] [--no-heldout]`.
 *
 * Reads the keyterm set (`keyterms_set.py speak`: eval/keyterms-set.json's
 * sentences in held-out voices) and decodes it the way the server decodes
 * finals (beam search with both LMs), without keyterms and with each
 * sentence's keyterms at each boost (default: the protocol's default), and
 * prints keyterm recall (occurrences of the said terms transcribed word for
 * word), WER, and false insertions: the share of sentences whose transcript
 * has one of its distractors (keyterms no sentence says) that the reference
 * has not, and the same counting every keyterm sent that the sentence does
 * not say. Then the held-out set (`synth.py heldout 300`) with no keyterms
 * and with 20 unrelated ones (pool terms, said in none of its sentences):
 * their WER and the change. Times are wall and CPU ms per utterance, model
 * included, one recognizer thread.
 */
import { readSetOrExit } from './lib/read-set.js';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Keyterms } from '../engine/asr/context-graph.js';
import { DEMO_MODEL_DIR } from '../engine/models/resolve.js';
import { CtcRecognizer } from '../engine/asr/recognizer.js';
import { readHeldoutSet } from '../eval/heldout-set.js';
import { phraseCount, readKeytermsSet, readKeytermsSetTexts, scoreKeyterms, transcribeWithKeyterms } from '../eval/keyterms-set.js';
import { corpusWer } from '../eval/wer.js';
import { DEFAULT_SESSION_CONFIG } from '../protocol/session-config.js';

const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const dir = option('dir') ?? path.join('tools', 'train-demo-model', 'work');
const heldoutDir = option('heldout-dir') ?? dir;
const boosts = (option('boosts') ?? String(DEFAULT_SESSION_CONFIG.keyterm_boost)).split(',').map(Number);
if (boosts.some((b) => !(b >= 0))) throw new Error(`--boosts takes non-negative numbers (got ${option('boosts')})`);

const set = readSetOrExit(() => readKeytermsSet(dir));
const { sentences, distractors, audio } = set;
const recognizer = await CtcRecognizer.load({
  modelPath: path.join(DEMO_MODEL_DIR, 'model.onnx'),
  tokensPath: path.join(DEMO_MODEL_DIR, 'tokens.txt'),
  lmPath: path.join(DEMO_MODEL_DIR, 'lm.arpa.gz'),
  wordLmPath: path.join(DEMO_MODEL_DIR, 'words.arpa.gz'),
  numThreads: 1,
});
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Transcripts, and wall and CPU ms per utterance (CPU: the whole process's, which on a shared machine varies less). */
async function timed(audio: Float32Array[], keyterms: (Keyterms | undefined)[]): Promise<{ texts: string[]; ms: number; cpuMs: number }> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const texts = await transcribeWithKeyterms(recognizer, audio, keyterms);
  const cpu = process.cpuUsage(cpuStarted);
  return { texts, ms: (performance.now() - started) / audio.length, cpuMs: (cpu.user + cpu.system) / 1000 / audio.length };
}

const occurrences = sentences.reduce((n, s) => n + s.said.length, 0);
console.log(`${sentences.length} keyterm sentences from ${dir} (${occurrences} keyterm occurrences; ${sentences[0].keyterms.length} keyterms sent with each, ${distractors.length} distractors in all)`);
console.log('decoding                 recall          WER     distractor ins.  any unsaid ins.  ms/utt (CPU)');
// The model's first calls are slower (onnxruntime warms up): one unscored pass first.
await transcribeWithKeyterms(recognizer, audio.slice(0, 8), []);
for (const boost of [undefined, ...boosts]) {
  const keyterms = sentences.map((s) => (boost === undefined ? undefined : { phrases: s.keyterms, boostNats: boost }));
  const { texts, ms, cpuMs } = await timed(audio, keyterms);
  const pairs = sentences.map((s, i) => ({ reference: s.text, hypothesis: texts[i] }));
  const said = (i: number) => sentences[i].said;
  const byDistractors = scoreKeyterms(pairs, said, (i) => sentences[i].keyterms.filter((k) => distractors.includes(k)));
  const byUnsaid = scoreKeyterms(pairs, said, (i) => sentences[i].keyterms.filter((k) => !sentences[i].said.includes(k)));
  const name = boost === undefined ? 'no keyterms' : `keyterms, boost ${boost}`;
  console.log(
    `${name.padEnd(24)} ${`${byDistractors.recalled}/${byDistractors.occurrences} ${pct(byDistractors.recalled / byDistractors.occurrences)}`.padEnd(15)} ` +
      `${pct(corpusWer(pairs).wer).padEnd(7)} ${`${byDistractors.sentencesWithInsertion}/${sentences.length} ${pct(byDistractors.sentencesWithInsertion / sentences.length)}`.padEnd(16)} ` +
      `${`${byUnsaid.sentencesWithInsertion}/${sentences.length} ${pct(byUnsaid.sentencesWithInsertion / sentences.length)}`.padEnd(16)} ${ms.toFixed(0)} (${cpuMs.toFixed(0)})`,
  );
  if (boost !== undefined && byUnsaid.insertions.length > 0) console.log(`  inserted: ${byUnsaid.insertions.join(', ')}`);
  if (process.argv.includes('--misses') && boost !== undefined) {
    pairs.forEach((p, i) => {
      const missed = sentences[i].said.filter((k) => phraseCount(p.hypothesis, k) < phraseCount(p.reference, k));
      if (missed.length > 0) console.log(`  missed ${missed.join(', ')}: "${p.hypothesis}"`);
    });
  }
}

if (!process.argv.includes('--no-heldout')) {
  const heldout = readSetOrExit(() => readHeldoutSet(heldoutDir));
  // Twenty pool terms that no held-out sentence says: a session's keyterms that have nothing to do with what is said.
  const unrelated = readKeytermsSetTexts()
    .pool.filter((term) => heldout.items.every((it) => phraseCount(it.text, term) === 0))
    .slice(0, 20);
  console.log(`\n${heldout.items.length} held-out utterances from ${heldoutDir}, with no keyterms and with 20 unrelated ones (${unrelated.slice(0, 4).join(', ')}, ...)`);
  const wers: number[] = [];
  for (const boost of [undefined, ...boosts]) {
    const keyterms = heldout.audio.map(() => (boost === undefined ? undefined : { phrases: unrelated, boostNats: boost }));
    const { texts, ms, cpuMs } = await timed(heldout.audio, keyterms);
    const wer = corpusWer(heldout.items.map((it, i) => ({ reference: it.text, hypothesis: texts[i] }))).wer;
    wers.push(wer);
    const change = boost === undefined ? '' : ` (${((wer - wers[0]) * 100 >= 0 ? '+' : '')}${((wer - wers[0]) * 100).toFixed(2)} points)`;
    console.log(`${(boost === undefined ? 'no keyterms' : `20 unrelated, boost ${boost}`).padEnd(24)} WER ${pct(wer)}${change}, ${ms.toFixed(0)} ms per utterance (CPU ${cpuMs.toFixed(0)})`);
  }
}
await recognizer.close();
