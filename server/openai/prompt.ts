/**
 * OpenAI's `prompt` as keyterms. OpenAI describes it as free text "to guide
 * the model's style or continue a previous audio segment" (for whisper-1 a
 * list of keywords, for its newer models a sentence such as "expect words
 * related to technology"); what it can do for a CTC model is name the words to
 * expect, so it becomes the file's keyterms (engine/asr/context-graph.ts), at
 * the session default boost:
 *
 * - the prompt is cut into chunks at commas, semicolons, line breaks and
 *   sentence ends (`.`, `!` or `?` before a space or the end);
 * - in a chunk, each character the model has no token for becomes a space
 *   ("Node.js" gives "node js", "O'Brien" stays), unlike a `keyterm`, which is
 *   refused for one: a prompt is free text;
 * - a chunk of up to three words is one phrase ("Priya Ramaswamy"); a longer
 *   one is prose, and gives its words of four letters or more, each a phrase
 *   of its own (short function words gain nothing from biasing, and biasing
 *   every "the" and "of" would only move the search);
 * - phrases are kept once each (ignoring case), in order, within the
 *   protocol's limits: at most 100, each at most 50 characters (a longer one
 *   is dropped).
 */
import { CONFIG_RULES } from '../../protocol/session-config.js';

const KEYTERM_RULE = CONFIG_RULES.keyterms;
const MAX_PHRASES = KEYTERM_RULE.kind === 'strings' ? KEYTERM_RULE.maxItems : 100;
const MAX_PHRASE_CHARS = KEYTERM_RULE.kind === 'strings' ? KEYTERM_RULE.maxLength : 50;
const MAX_PHRASE_WORDS = 3;
const MIN_PROSE_WORD_CHARS = 4;

/**
 * The keyterms `prompt` asks for. `usable(ch)` says whether the model has a
 * token for a character (whitespace aside).
 */
export function promptKeyterms(prompt: string, usable: (ch: string) => boolean): string[] {
  const phrases: string[] = [];
  const seen = new Set<string>();
  const add = (phrase: string) => {
    const key = phrase.toLowerCase();
    if (phrase.length > MAX_PHRASE_CHARS || seen.has(key) || phrases.length === MAX_PHRASES) return;
    seen.add(key);
    phrases.push(phrase);
  };
  const usableCache = new Map<string, boolean>();
  const keep = (ch: string) => {
    let ok = usableCache.get(ch);
    if (ok === undefined) usableCache.set(ch, (ok = !/\s/u.test(ch) && usable(ch)));
    return ok;
  };
  for (const chunk of prompt.split(/[,;\r\n]+|[.!?]+(?=\s|$)/u)) {
    const words = [...chunk]
      .map((ch) => (keep(ch) ? ch : ' '))
      .join('')
      .split(/\s+/u)
      .filter((w) => w !== '');
    if (words.length === 0) continue;
    if (words.length <= MAX_PHRASE_WORDS) add(words.join(' '));
    else for (const word of words) if ([...word].length >= MIN_PROSE_WORD_CHARS) add(word);
  }
  return phrases;
}
