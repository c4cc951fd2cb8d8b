/**
 * Evaluation: the keyterm set (issue 40) as eval/keyterms-set.json holds it
 * (sentences with rare names and terms, each with the keyterms a client would
 * send) and `keyterms_set.py speak` speaks it; reading it, transcribing it with
 * keyterms the way the server decodes finals, and scoring keyterm recall and
 * false insertions. Used by bench/keyterms.ts and tests/keyterms-set.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Keyterms } from '../engine/asr/context-graph.js';
import type { CtcRecognizer } from '../engine/asr/recognizer.js';
import { DEFAULT_SCHEDULER_OPTIONS } from '../engine/scheduler.js';
import { PROJECT_ROOT } from '../testkit/paths.js';
import { readAudio16k } from '../testkit/speech.js';

export const KEYTERMS_SET_PATH = path.join(PROJECT_ROOT, 'eval', 'keyterms-set.json');

export interface KeytermSentence {
  text: string;
  /** The pool terms the sentence says. */
  said: string[];
  /** What a client sends with it: those, three other pool terms and two distractors, shuffled. */
  keyterms: string[];
}

export interface KeytermsSet {
  /** Every term some sentence says. */
  pool: string[];
  /** Terms no sentence says. */
  distractors: string[];
  sentences: KeytermSentence[];
}

export function readKeytermsSetTexts(file = KEYTERMS_SET_PATH): KeytermsSet {
  return JSON.parse(readFileSync(file, 'utf8')) as KeytermsSet;
}

/** The spoken set: the sentences `keyterms_set.py speak` wrote into `dir`, with their audio. */
export function readKeytermsSet(dir: string): { sentences: KeytermSentence[]; distractors: string[]; audio: Float32Array[] } {
  const list = path.join(dir, 'keyterms.jsonl');
  if (!existsSync(list)) {
    throw new Error(`${list} not found: speak the keyterm set first (cd tools/train-demo-model && SYNTH_WORK=${dir} /usr/bin/python3 keyterms_set.py speak)`);
  }
  const set = readKeytermsSetTexts();
  const rows = readFileSync(list, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { index: number; wav: string; text: string });
  const sentences = rows.map((r) => {
    const s = set.sentences[r.index];
    if (!s || s.text !== r.text) throw new Error(`${list}: utterance ${r.index} says "${r.text}", not what eval/keyterms-set.json has: speak the set again`);
    return s;
  });
  return { sentences, distractors: set.distractors, audio: rows.map((r) => readAudio16k(path.join(dir, r.wav))) };
}

/** Texts for all of `audio`, utterance i biased by `keyterms[i]`, as many to a model call as the server's scheduler takes. */
export async function transcribeWithKeyterms(recognizer: CtcRecognizer, audio: Float32Array[], keyterms: (Keyterms | undefined)[]): Promise<string[]> {
  const { maxBatch } = DEFAULT_SCHEDULER_OPTIONS;
  const texts: string[] = [];
  for (let i = 0; i < audio.length; i += maxBatch) {
    const batch = audio.slice(i, i + maxBatch);
    texts.push(...(await recognizer.recognizeBatch(batch, [], keyterms.slice(i, i + maxBatch))).map((r) => r.text));
  }
  return texts;
}

const words = (text: string) => text.toLowerCase().split(/\s+/).filter(Boolean);

/** How often `phrase` occurs in `text` as whole words. */
export function phraseCount(text: string, phrase: string): number {
  const t = words(text);
  const p = words(phrase);
  let n = 0;
  for (let i = 0; i + p.length <= t.length; i++) if (p.every((w, k) => t[i + k] === w)) n++;
  return n;
}

export interface KeytermScores {
  /** Keyterm occurrences in the references. */
  occurrences: number;
  /** Of those, how many the hypotheses have, word for word (per sentence, at most as many as the reference has). */
  recalled: number;
  /** Sentences whose hypothesis has a keyterm from `unsaid(i)` that its reference does not. */
  sentencesWithInsertion: number;
  sentences: number;
  /** The inserted phrases, as `phrase (sentence i)`. */
  insertions: string[];
}

/**
 * Recall of `said(i)` and false insertions of `unsaid(i)` over sentence pairs:
 * a keyterm is recalled where the hypothesis spells it as whole words, and
 * inserted where the hypothesis has it and the reference does not.
 */
export function scoreKeyterms(
  pairs: { reference: string; hypothesis: string }[],
  said: (i: number) => string[],
  unsaid: (i: number) => string[],
): KeytermScores {
  const scores: KeytermScores = { occurrences: 0, recalled: 0, sentencesWithInsertion: 0, sentences: pairs.length, insertions: [] };
  pairs.forEach(({ reference, hypothesis }, i) => {
    for (const phrase of new Set(said(i))) {
      const inReference = phraseCount(reference, phrase);
      scores.occurrences += inReference;
      scores.recalled += Math.min(inReference, phraseCount(hypothesis, phrase));
    }
    const inserted = unsaid(i).filter((phrase) => phraseCount(hypothesis, phrase) > phraseCount(reference, phrase));
    if (inserted.length > 0) scores.sentencesWithInsertion++;
    scores.insertions.push(...inserted.map((phrase) => `${phrase} (sentence ${i})`));
  });
  return scores;
}
