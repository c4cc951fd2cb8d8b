/**
 * The keyterm evaluation set (eval/keyterms-set.json) is what bench/keyterms.ts
 * says it is, and its scoring counts recall and insertions word for word.
 */
import { describe, expect, it } from 'vitest';
import { phraseCount, readKeytermsSetTexts, scoreKeyterms } from '../eval/keyterms-set.js';

describe('the keyterm set', () => {
  const set = readKeytermsSetTexts();

  it('says each sentence its keyterms, no distractor anywhere, in the demo model tokens', () => {
    expect(set.sentences.length).toBeGreaterThanOrEqual(100);
    expect(set.sentences.length).toBeLessThanOrEqual(150);
    for (const s of set.sentences) {
      expect(s.text).toMatch(/^[a-z']+( [a-z']+)*$/);
      for (const term of s.said) expect(phraseCount(s.text, term)).toBeGreaterThan(0);
      for (const term of s.said) expect(s.keyterms).toContain(term);
      for (const d of set.distractors) expect(phraseCount(s.text, d)).toBe(0);
      expect(s.keyterms.some((k) => set.distractors.includes(k))).toBe(true);
      expect(s.keyterms.length).toBeLessThanOrEqual(100);
    }
    // Every pool term is said somewhere.
    for (const term of set.pool) expect(set.sentences.some((s) => s.said.includes(term))).toBe(true);
  });
});

describe('scoreKeyterms', () => {
  it('counts a keyterm recalled only as whole words, and an insertion only where the reference lacks it', () => {
    const pairs = [
      { reference: 'ask kenji takahashi about grafana', hypothesis: 'ask kenji takahashi about grafanas' },
      { reference: 'the team uses okta', hypothesis: 'the team uses okta and vite' },
      { reference: 'nothing here', hypothesis: 'nothing here vite' },
    ];
    const said = [['kenji takahashi', 'grafana'], ['okta'], []];
    const scores = scoreKeyterms(pairs, (i) => said[i], () => ['okta', 'vite']);
    expect(scores).toMatchObject({ occurrences: 3, recalled: 2, sentencesWithInsertion: 2, sentences: 3 });
    expect(scores.insertions).toEqual(['vite (sentence 1)', 'vite (sentence 2)']);
  });
});
