/**
 * Evaluation (never imported by the runtime): word error rate. The English
 * transcript normaliser both sides go through, and word-level Levenshtein
 * alignment counting substitutions, deletions and insertions, per utterance
 * and summed over a corpus.
 *
 * The normaliser turns written forms into spoken words ("42" → "forty two",
 * "don't" → "do not") because recognizers emit spoken words: a reference
 * written with digits must not count as wrong against a correct recognition.
 */

export interface WerResult {
  /** (substitutions + deletions + insertions) / referenceWords; 1 when the reference is empty and the hypothesis is not. */
  wer: number;
  substitutions: number;
  deletions: number;
  insertions: number;
  referenceWords: number;
}

// ---------------------------------------------------------------- numbers

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES = ['', 'thousand', 'million', 'billion', 'trillion'];
/** Digit strings longer than this are read digit by digit (ids, phone numbers), and stay exact in a double. */
const MAX_CARDINAL_DIGITS = 15;

/** 0..999 in words, without "and" ("one hundred five"). */
function underThousand(n: number): string[] {
  const words: string[] = [];
  if (n >= 100) {
    words.push(ONES[Math.floor(n / 100)], 'hundred');
    n %= 100;
    if (n === 0) return words;
  }
  if (n < 20) words.push(ONES[n]);
  else {
    words.push(TENS[Math.floor(n / 10)]);
    if (n % 10 !== 0) words.push(ONES[n % 10]);
  }
  return words;
}

function digitByDigit(digits: string): string[] {
  return [...digits].map((d) => ONES[Number(d)]);
}

/** A string of digits read as a cardinal number. */
function cardinal(digits: string): string[] {
  const trimmed = digits.replace(/^0+(?=\d)/, '');
  if (trimmed.length > MAX_CARDINAL_DIGITS) return digitByDigit(digits);
  let n = Number(trimmed);
  if (n === 0) return ['zero'];
  const groups: string[][] = [];
  for (let scale = 0; n > 0; scale++, n = Math.floor(n / 1000)) {
    const group = n % 1000;
    if (group !== 0) groups.unshift([...underThousand(group), ...(SCALES[scale] ? [SCALES[scale]] : [])]);
  }
  return groups.flat();
}

/**
 * A plain four-digit number the way years are said: 1999 → "nineteen ninety
 * nine", 1905 → "nineteen oh five", 1900 → "nineteen hundred", 2024 → "twenty
 * twenty four". 2000–2009 and numbers outside 1100–2099 read as cardinals
 * ("two thousand five"), which is also how those years are said.
 */
function yearOrCardinal(digits: string): string[] {
  const n = Number(digits);
  const yearLike = digits.length === 4 && ((n >= 1100 && n <= 1999) || (n >= 2010 && n <= 2099));
  if (!yearLike) return cardinal(digits);
  const high = Math.floor(n / 100);
  const low = n % 100;
  if (low === 0) return [...underThousand(high), 'hundred'];
  if (low < 10) return [...underThousand(high), 'oh', ONES[low]];
  return [...underThousand(high), ...underThousand(low)];
}

/**
 * A written number ("42", "1,000", "3.14", "1999") in words. Commas or
 * decimals mark a cardinal; a plain four-digit number reads as a year unless
 * `asAmount`.
 */
function numberWords(text: string, asAmount = false): string[] {
  const [whole, fraction] = text.replace(/,/g, '').split('.');
  const hasCommas = text.includes(',');
  const words = hasCommas || asAmount || fraction !== undefined ? cardinal(whole) : yearOrCardinal(whole);
  if (fraction !== undefined && fraction !== '') words.push('point', ...digitByDigit(fraction));
  return words;
}

const ORDINAL_EXCEPTIONS: Record<string, string> = { one: 'first', two: 'second', three: 'third', five: 'fifth', eight: 'eighth', nine: 'ninth', twelve: 'twelfth' };

function ordinalWords(digits: string): string[] {
  const words = cardinal(digits.replace(/,/g, ''));
  const last = words[words.length - 1];
  words[words.length - 1] = ORDINAL_EXCEPTIONS[last] ?? (last.endsWith('y') ? `${last.slice(0, -1)}ieth` : `${last}th`);
  return words;
}

/** "1990s" → "nineteen nineties", "80s" → "eighties". */
function pluralWords(digits: string): string[] {
  const words = yearOrCardinal(digits);
  const last = words[words.length - 1];
  words[words.length - 1] = last.endsWith('y') ? `${last.slice(0, -1)}ies` : last.endsWith('x') ? `${last}es` : `${last}s`;
  return words;
}

// A written number: digit groups with commas, or plain digits; optional decimals.
const NUMBER = String.raw`\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?`;
const CURRENCY_RE = new RegExp(String.raw`\$\s?(${NUMBER})(?:\s+(thousand|million|billion|trillion)\b)?`, 'g');
const PERCENT_RE = new RegExp(String.raw`(${NUMBER})\s*%`, 'g');
const ORDINAL_RE = /(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)\b/g;
const PLURAL_RE = /(\d+)'?s\b/g;
const NUMBER_RE = new RegExp(NUMBER, 'g');

function currencyWords(amount: string, scale: string | undefined): string[] {
  const [whole, cents = ''] = amount.replace(/,/g, '').split('.');
  if (scale) return [...numberWords(amount, true), scale, 'dollars'];
  const dollars = Number(whole);
  const centsValue = cents === '' ? 0 : Number(cents.padEnd(2, '0').slice(0, 2));
  const words: string[] = [];
  if (dollars !== 0 || centsValue === 0) words.push(...cardinal(whole), dollars === 1 ? 'dollar' : 'dollars');
  if (centsValue !== 0) words.push(...underThousand(centsValue), centsValue === 1 ? 'cent' : 'cents');
  return words;
}

/** Rewrites every written number in lower-cased text as spaced words. */
function spellNumbers(text: string): string {
  const spaced = (words: string[]): string => ` ${words.join(' ')} `;
  return text
    .replace(CURRENCY_RE, (_m, amount: string, scale: string | undefined) => spaced(currencyWords(amount, scale)))
    .replace(PERCENT_RE, (_m, n: string) => spaced([...numberWords(n, true), 'percent']))
    .replace(ORDINAL_RE, (_m, n: string) => spaced(ordinalWords(n)))
    .replace(PLURAL_RE, (_m, n: string) => spaced(pluralWords(n)))
    .replace(NUMBER_RE, (n) => spaced(numberWords(n)));
}

// ---------------------------------------------------------------- contractions

/** Whole-word contractions whose expansion is not regular. */
const IRREGULAR: Record<string, string> = {
  "can't": 'can not',
  cannot: 'can not',
  "won't": 'will not',
  "shan't": 'shall not',
  "let's": 'let us',
  // No single expansion ("am/is/are/has/have not"); kept whole rather than split into "ai not".
  "ain't": "ain't",
};
/** Words whose "'s" means "is"; everywhere else "'s" is a possessive and stays. */
const S_MEANS_IS = new Set(['it', 'he', 'she', 'that', 'what', 'where', 'who', 'there', 'here', 'how', 'when', 'why']);
const SUFFIXES: Array<[string, string]> = [
  ["n't", 'not'],
  ["'re", 'are'],
  ["'ve", 'have'],
  ["'ll", 'will'],
  ["'d", 'would'],
  ["'m", 'am'],
];

function expandContraction(word: string): string[] {
  const irregular = IRREGULAR[word];
  if (irregular) return irregular.split(' ');
  for (const [suffix, expansion] of SUFFIXES) {
    if (word.endsWith(suffix) && word.length > suffix.length) return [word.slice(0, -suffix.length), expansion];
  }
  if (word.endsWith("'s") && S_MEANS_IS.has(word.slice(0, -2))) return [word.slice(0, -2), 'is'];
  return [word];
}

// ---------------------------------------------------------------- normaliser

const NUMBER_WORDS = new Set([...ONES, ...TENS.filter(Boolean), 'hundred', ...SCALES.filter(Boolean)]);
const SCALE_WORDS = new Set(['hundred', ...SCALES.filter(Boolean)]);

/**
 * English transcript → comparable words: lower case; digits, ordinals, "$"
 * and "%" spelled out; hyphens and other punctuation split or removed
 * (apostrophes inside words kept); common contractions expanded; "and" inside
 * spelled numbers ("one hundred and five") dropped, as spelled-out digits
 * never contain it.
 */
export function normalizeTranscript(text: string): string[] {
  let t = text.toLowerCase().replace(/[\u2018\u2019\u02bc`]/g, "'");
  t = spellNumbers(t);
  t = t.replace(/&/g, ' and ').replace(/%/g, ' percent ');
  // Keep letters, digits and apostrophes; everything else (hyphens, dashes, slashes, punctuation) separates words.
  t = t.replace(/[^\p{L}\p{N}']+/gu, ' ');
  const words: string[] = [];
  for (const raw of t.split(' ')) {
    const word = raw.replace(/^'+|'+$/g, '');
    if (word !== '') words.push(...expandContraction(word));
  }
  return words.filter((w, i) => !(w === 'and' && i > 0 && SCALE_WORDS.has(words[i - 1]) && NUMBER_WORDS.has(words[i + 1] ?? '')));
}

// ---------------------------------------------------------------- alignment

interface EditCounts {
  substitutions: number;
  deletions: number;
  insertions: number;
}

/**
 * Minimum-edit alignment of word sequences. Two DP rows carry, besides the
 * cost, the S/D/I counts of the path that reached each cell, so memory is
 * linear in the hypothesis length. Ties prefer match/substitution, then
 * deletion, then insertion.
 */
function alignCounts(ref: string[], hyp: string[]): EditCounts {
  const width = hyp.length + 1;
  let cost = new Int32Array(width);
  let subs = new Int32Array(width);
  let dels = new Int32Array(width);
  let ins = new Int32Array(width);
  for (let j = 0; j < width; j++) {
    cost[j] = j;
    ins[j] = j;
  }
  for (let i = 1; i <= ref.length; i++) {
    const nCost = new Int32Array(width);
    const nSubs = new Int32Array(width);
    const nDels = new Int32Array(width);
    const nIns = new Int32Array(width);
    nCost[0] = i;
    nDels[0] = i;
    for (let j = 1; j < width; j++) {
      const mismatch = ref[i - 1] === hyp[j - 1] ? 0 : 1;
      const diagonal = cost[j - 1] + mismatch;
      const deletion = cost[j] + 1;
      const insertion = nCost[j - 1] + 1;
      if (diagonal <= deletion && diagonal <= insertion) {
        nCost[j] = diagonal;
        nSubs[j] = subs[j - 1] + mismatch;
        nDels[j] = dels[j - 1];
        nIns[j] = ins[j - 1];
      } else if (deletion <= insertion) {
        nCost[j] = deletion;
        nSubs[j] = subs[j];
        nDels[j] = dels[j] + 1;
        nIns[j] = ins[j];
      } else {
        nCost[j] = insertion;
        nSubs[j] = nSubs[j - 1];
        nDels[j] = nDels[j - 1];
        nIns[j] = nIns[j - 1] + 1;
      }
    }
    cost = nCost;
    subs = nSubs;
    dels = nDels;
    ins = nIns;
  }
  return { substitutions: subs[hyp.length], deletions: dels[hyp.length], insertions: ins[hyp.length] };
}

function rate(counts: EditCounts, referenceWords: number): number {
  const errors = counts.substitutions + counts.deletions + counts.insertions;
  // An empty reference has no rate; 1 ("all wrong") keeps it finite and JSON-safe.
  if (referenceWords === 0) return errors === 0 ? 0 : 1;
  return errors / referenceWords;
}

export function wordErrorRate(reference: string, hypothesis: string): WerResult {
  const ref = normalizeTranscript(reference);
  const counts = alignCounts(ref, normalizeTranscript(hypothesis));
  return { wer: rate(counts, ref.length), ...counts, referenceWords: ref.length };
}

/** Corpus WER: errors summed over all pairs divided by all reference words (not a mean of per-utterance rates). */
export function corpusWer(pairs: Array<{ reference: string; hypothesis: string }>): WerResult {
  const total = { substitutions: 0, deletions: 0, insertions: 0 };
  let referenceWords = 0;
  for (const pair of pairs) {
    const r = wordErrorRate(pair.reference, pair.hypothesis);
    total.substitutions += r.substitutions;
    total.deletions += r.deletions;
    total.insertions += r.insertions;
    referenceWords += r.referenceWords;
  }
  return { wer: rate(total, referenceWords), ...total, referenceWords };
}
