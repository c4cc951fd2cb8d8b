/**
 * OpenAI's `prompt` as keyterms (server/openai/prompt.ts): chunks at commas,
 * line breaks and sentence ends; characters the model has no token for
 * dropped; short chunks kept as phrases, prose as its longer words; within
 * the protocol's limits.
 */
import { describe, expect, it } from 'vitest';
import { promptKeyterms } from '../server/openai/prompt.js';

// The demo model's characters: letters (either case: it lowercases) and '.
const usable = (ch: string) => /^[a-z']$/i.test(ch);

describe('promptKeyterms', () => {
  it('keeps a list of names and terms as phrases, once each', () => {
    expect(promptKeyterms('Priya Ramaswamy, Kubernetes;Grafana Loki\nkubernetes', usable)).toEqual(['Priya Ramaswamy', 'Kubernetes', 'Grafana Loki']);
  });

  it('drops characters the model has no token for, keeping the words around them', () => {
    expect(promptKeyterms("O'Brien & Node.js", usable)).toEqual(["O'Brien Node js"]);
    expect(promptKeyterms("Node.js (v2), O'Brien — 😀 日本", usable)).toEqual(['Node js v', "O'Brien"]);
    expect(promptKeyterms('😀 — ¿? 42', usable)).toEqual([]);
    expect(promptKeyterms('', usable)).toEqual([]);
  });

  it('takes the longer words of prose, each on its own', () => {
    expect(promptKeyterms('Expect words related to technology, like Kubernetes. Also Grafana!', usable)).toEqual(['Expect', 'words', 'related', 'technology', 'like Kubernetes', 'Also Grafana']);
  });

  it('keeps to the protocol limits: at most 100 phrases of at most 50 characters', () => {
    const many = Array.from({ length: 150 }, (_, i) => `term${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`.replace(/\d/g, '')).join(', ');
    const phrases = promptKeyterms(many, usable);
    expect(phrases).toHaveLength(100);
    expect(promptKeyterms(`${'x'.repeat(51)}, ${'y'.repeat(50)}`, usable)).toEqual(['y'.repeat(50)]);
  });
});
