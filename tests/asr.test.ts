/**
 * The recognizer with the shipped demo model: accuracy on held-out synthetic
 * speech, batched == one-by-one, and parity with sherpa-onnx-node running
 * the same model file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lengthGroups } from '../engine/asr/batch-decoder.js';
import { CtcRecognizer, DEFAULT_BEAM_DECODING } from '../engine/asr/recognizer.js';
import { DEMO_MODEL_DIR as DEMO } from '../engine/models/resolve.js';
import { corpusWer, wordErrorRate } from '../eval/wer.js';
import { PROJECT_ROOT, sharedPath } from '../testkit/paths.js';
import { readAudio16k, synthesize, type Voice } from '../testkit/speech.js';
import { DEMO_MODEL_WER, describeWer } from './helpers/demo-model.js';

const heldout = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'tests/fixtures/heldout-sentences.json'), 'utf8')) as {
  items: Array<{ text: string } & Voice>;
};

let recognizer: CtcRecognizer;
let audio: Float32Array[];

beforeAll(async () => {
  recognizer = await CtcRecognizer.load({ modelPath: path.join(DEMO, 'model.onnx'), tokensPath: path.join(DEMO, 'tokens.txt'), numThreads: 1 });
  audio = heldout.items.map((it) => synthesize(it.text, it));
});

describe('demo model', () => {
  it('transcribes held-out sentences in held-out voices (WER against the 15% target, within the committed model bound)', async () => {
    const results = await recognizer.recognizeBatch(audio);
    const pairs = heldout.items.map((it, i) => ({ reference: it.text, hypothesis: results[i].text }));
    const wer = corpusWer(pairs);
    console.log(`${describeWer('held-out synthetic', wer.wer, DEMO_MODEL_WER.heldout)} over ${wer.referenceWords} words`);
    for (const p of pairs.slice(0, 4)) console.log(`  ref: ${p.reference}\n  hyp: ${p.hypothesis}`);
    expect(wer.wer).toBeLessThan(DEMO_MODEL_WER.heldout.bound);
  });

  it('transcribes jfk.flac (WER printed, no threshold: the demo model knows synthetic voices only)', async () => {
    const [r] = await recognizer.recognizeBatch([readAudio16k(sharedPath('audio/jfk/jfk.flac'))]);
    const reference = 'And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.';
    const wer = wordErrorRate(reference, r.text);
    console.log(`jfk.flac WER ${(wer.wer * 100).toFixed(1)}%: "${r.text}"`);
    expect(r.words.length).toBeGreaterThan(0);
  });

  it('gives word times inside the utterance, in order', async () => {
    const [r] = await recognizer.recognizeBatch([audio[0]]);
    const durationMs = (audio[0].length / 16000) * 1000;
    let prev = 0;
    for (const w of r.words) {
      expect(w.startMs).toBeGreaterThanOrEqual(prev);
      expect(w.endMs).toBeGreaterThan(w.startMs);
      expect(w.endMs).toBeLessThanOrEqual(durationMs + recognizer.outputFrameMs);
      expect(w.confidence).toBeGreaterThan(0);
      expect(w.confidence).toBeLessThanOrEqual(1);
      prev = w.startMs;
    }
  });
});

describe('batching', () => {
  it('groups utterances of similar length into one padded call', () => {
    const lengths = [100, 1000, 110, 120, 900, 5, 980];
    const groups = lengthGroups(lengths.map((_, i) => i), (i) => lengths[i]);
    expect(groups).toEqual([[5], [0, 2, 3], [4, 6, 1]]);
    expect(lengthGroups([], () => 1)).toEqual([]);
  });

  it('decodes 16 utterances of mixed lengths batched exactly as one by one', async () => {
    const utts = Array.from({ length: 16 }, (_, i) => audio[i % audio.length].subarray(0, Math.round(audio[i % audio.length].length * (0.4 + (i % 5) * 0.15))));
    const batched = await recognizer.recognizeBatch(utts);
    for (let i = 0; i < utts.length; i++) {
      const [alone] = await recognizer.recognizeBatch([utts[i]]);
      expect(batched[i].text).toBe(alone.text);
      expect(batched[i].tokenTimesMs).toEqual(alone.tokenTimesMs);
    }
  });

  it('returns empty results for empty or tiny inputs without failing the batch', async () => {
    const [a, b, c] = await recognizer.recognizeBatch([new Float32Array(0), new Float32Array(50), audio[1]]);
    expect(a.text).toBe('');
    expect(b.text).toBe('');
    expect(c.text.length).toBeGreaterThan(0);
  });

  it('prefix beam search is at least as accurate as greedy decoding, and its language models much more', async () => {
    const load = (lmPath?: string, wordLmPath?: string) =>
      CtcRecognizer.load({ modelPath: path.join(DEMO, 'model.onnx'), tokensPath: path.join(DEMO, 'tokens.txt'), numThreads: 1, decoding: 'beam', lmPath, wordLmPath });
    const tokenLm = path.join(DEMO, 'lm.arpa.gz');
    const [beam, withTokenLm, withLm] = await Promise.all([load(), load(tokenLm), load(tokenLm, path.join(DEMO, 'words.arpa.gz'))]);
    const g = await recognizer.recognizeBatch(audio);
    const b = await beam.recognizeBatch(audio);
    const t = await withTokenLm.recognizeBatch(audio);
    const l = await withLm.recognizeBatch(audio);
    // Partials decode greedily whatever the recognizer's decoding is.
    const p = await withLm.recognizeBatch(audio, audio.map(() => true));
    const werOf = (results: typeof g) => corpusWer(heldout.items.map((it, i) => ({ reference: it.text, hypothesis: results[i].text }))).wer;
    console.log(`held-out WER greedy ${(werOf(g) * 100).toFixed(1)}%, prefix beam (${DEFAULT_BEAM_DECODING.beamSize}) ${(werOf(b) * 100).toFixed(1)}%`);
    console.log(`held-out WER beam + token LM ${(werOf(t) * 100).toFixed(1)}%`);
    console.log(describeWer('held-out synthetic, beam search + token and word LMs (what the server sends as finals)', werOf(l), DEMO_MODEL_WER.heldoutLm));
    expect(werOf(b)).toBeLessThanOrEqual(werOf(g) + 0.02);
    expect(b.some((r, i) => r.text !== g[i].text)).toBe(true);
    // Beam search times its tokens by forced alignment: where it agrees with greedy decoding, it times them alike.
    const agreeing = b.flatMap((r, i) => (r.tokens.join(' ') === g[i].tokens.join(' ') ? [i] : []));
    expect(agreeing.length).toBeGreaterThan(0);
    for (const i of agreeing) expect(b[i].tokenTimesMs).toEqual(g[i].tokenTimesMs);
    expect(werOf(t)).toBeLessThan(werOf(g) - 0.05);
    expect(werOf(l)).toBeLessThan(werOf(t));
    expect(werOf(l)).toBeLessThan(DEMO_MODEL_WER.heldoutLm.bound);
    expect(p.map((r) => r.text)).toEqual(g.map((r) => r.text));
    await Promise.all([beam.close(), withTokenLm.close(), withLm.close()]);
  });

  it('refuses a language model of either kind with greedy decoding instead of loading it for nothing', async () => {
    const opts = { modelPath: path.join(DEMO, 'model.onnx'), tokensPath: path.join(DEMO, 'tokens.txt'), lmPath: path.join(DEMO, 'lm.arpa.gz') };
    await expect(CtcRecognizer.load({ ...opts, decoding: 'greedy' })).rejects.toThrow(/needs beam decoding/);
    const wordsOnly = { ...opts, lmPath: undefined, wordLmPath: path.join(DEMO, 'words.arpa.gz') };
    await expect(CtcRecognizer.load({ ...wordsOnly, decoding: 'greedy' })).rejects.toThrow(/words\.arpa\.gz\) needs beam decoding/);
  });
});

describe('parity with sherpa-onnx-node', () => {
  it('gives the same tokens and times for the same audio and model file (greedy)', () => {
    const sherpa = createRequire(import.meta.url)('sherpa-onnx-node');
    const peer = new sherpa.OfflineRecognizer({
      featConfig: { sampleRate: 16000, featureDim: 80 },
      modelConfig: { nemoCtc: { model: path.join(DEMO, 'model.onnx') }, tokens: path.join(DEMO, 'tokens.txt'), numThreads: 1, provider: 'cpu', debug: 0 },
    });
    return (async () => {
      const ours = await recognizer.recognizeBatch(audio.slice(0, 8));
      for (let i = 0; i < 8; i++) {
        const stream = peer.createStream();
        stream.acceptWaveform({ samples: audio[i], sampleRate: 16000 });
        peer.decode(stream);
        const theirs = peer.getResult(stream) as { text: string; tokens: string[]; timestamps: number[] };
        // sherpa-onnx shows the word boundary ▁ as a space.
        expect(ours[i].tokens.map((t) => t.replace('\u2581', ' '))).toEqual(theirs.tokens);
        expect(ours[i].tokenTimesMs.map((ms) => ms / 1000)).toEqual(theirs.timestamps.map((s) => Math.round(s * 1000) / 1000));
        expect(ours[i].text).toBe(theirs.text.trim().replace(/\s+/g, ' '));
      }
    })();
  });
});
