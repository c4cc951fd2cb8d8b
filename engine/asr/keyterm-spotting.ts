/**
 * Keyterm spotting after the beam search (a CTC word spotter, in the manner
 * of CTC-WS contextual biasing, written afresh): a keyterm may take the place
 * of a run of the best hypothesis's words where the audio under those words
 * fits the keyterm's spelling nearly as well as theirs. The beam's per-token
 * bonus finds a keyterm only if its spelling survives the beam's pruning all
 * along; a name that the model hears as other words ("call sky" for
 * kowalski) does not, though the frames under "call sky" may fit "kowalski"
 * within a few nats. Owns the candidate spans, their scores and the
 * replacement; pure. The search (ctc-search.ts) calls it on a biased final.
 */
import { alignTokens, type CtcHypothesis } from './ctc.js';

/** A phrase in the model's tokens, with the number of characters it spells (its word boundaries aside). */
export interface SpottedPhrase {
  tokenIds: number[];
  chars: number;
}

/** A word of the hypothesis: its tokens [first, end) in the hypothesis's token list, and how many characters it spells. */
interface HypWord {
  first: number;
  end: number;
  chars: number;
}

/** A run of words may be replaced by a keyterm spelling between half and twice its characters. */
const MAX_CHAR_RATIO = 2;

/**
 * Most search cells (frames x path states) spotting may take on one final;
 * past it the final keeps the beam's result. On a 15 s final of 64 words
 * (random CTC-like log-probs): 7 keyterms of ~8 characters take 0.7M cells
 * (14 ms of CPU on the dev machine), 20 of ~10 4M (39 ms), 100 of ~12
 * 20.2M, 100 of ~50 1.6G (6 s): pruning makes most cells cheaper than
 * counted here.
 */
const MAX_SPOTTING_CELLS = 20_000_000;

/** Frames [startFrame, endFrame) of a run of words, with the tokens either side that anchor it (none at the utterance's ends). */
interface Window {
  startFrame: number;
  endFrame: number;
  before: number[];
  words: number[];
  after: number[];
}

/**
 * The hypothesis with keyterms in place of the runs of words they fit best:
 * a phrase replaces words i..j where the best CTC path through the frames
 * from word i-1's last token to word j+1's first token, spelling the phrase,
 * scores at most `allowanceNats` per phrase token below the path spelling the
 * words (anchored on the same neighbouring tokens, so both account for the
 * same frames). Replacements are taken best first, none overlapping; words
 * that already spell a phrase are left alone. `charsOf[v]` is the number of
 * characters token v spells, `startsWord[v]` whether it begins a word.
 */
export function spotKeyterms(
  logProbs: Float32Array,
  offset: number,
  numFrames: number,
  vocabSize: number,
  blankId: number,
  hyp: CtcHypothesis,
  phrases: readonly SpottedPhrase[],
  startsWord: readonly boolean[],
  charsOf: readonly number[],
  allowanceNats: number,
): CtcHypothesis {
  const { tokenIds, frames } = hyp;
  const words: HypWord[] = [];
  tokenIds.forEach((v, k) => {
    if (startsWord[v] || words.length === 0) words.push({ first: k, end: k + 1, chars: charsOf[v] });
    else {
      words[words.length - 1].end = k + 1;
      words[words.length - 1].chars += charsOf[v];
    }
  });
  // Words that already spell a keyterm stay: the beam gave them its bonus, and a run
  // taking them in ("on kubernetes" for "kubernetes") would be granted it again.
  const kept = new Array<boolean>(words.length).fill(false);
  for (let i = 0; i < words.length; i++) {
    for (const phrase of phrases) {
      const end = words[i].first + phrase.tokenIds.length;
      const endsWord = end === tokenIds.length || startsWord[tokenIds[end]];
      if (endsWord && sameTokens(tokenIds.slice(words[i].first, end), phrase.tokenIds)) {
        for (let j = i; j < words.length && words[j].first < end; j++) kept[j] = true;
      }
    }
  }
  // Every run of words a phrase may replace, with the frames it spans, anchored on the tokens either side.
  const tries: { i: number; j: number; phrase: SpottedPhrase; window: Window }[] = [];
  const longestChars = Math.max(0, ...phrases.map((p) => p.chars));
  let cells = 0;
  for (let i = 0; i < words.length; i++) {
    const before = words[i].first - 1;
    let spanChars = 0;
    for (let j = i; j < words.length && !kept[j] && spanChars <= MAX_CHAR_RATIO * longestChars; j++) {
      spanChars += words[j].chars;
      const after = words[j].end;
      const window: Window = {
        startFrame: before >= 0 ? frames[before] : 0,
        endFrame: after < tokenIds.length ? frames[after] + 1 : numFrames,
        before: before >= 0 ? [tokenIds[before]] : [],
        words: tokenIds.slice(words[i].first, after),
        after: after < tokenIds.length ? [tokenIds[after]] : [],
      };
      for (const phrase of phrases) {
        if (spanChars * MAX_CHAR_RATIO < phrase.chars || spanChars > phrase.chars * MAX_CHAR_RATIO) continue;
        tries.push({ i, j, phrase, window });
        cells += (window.endFrame - window.startFrame) * (window.words.length + phrase.tokenIds.length + 4);
      }
    }
  }
  if (cells > MAX_SPOTTING_CELLS) return hyp;
  const score = (w: Window, middle: readonly number[], floor = -Infinity) =>
    bestPathLogProb(logProbs, offset + w.startFrame * vocabSize, w.endFrame - w.startFrame, vocabSize, blankId, [...w.before, ...middle, ...w.after], w.before.length > 0, w.after.length > 0, floor);
  const wordsScores = new Map<Window, number>();
  const candidates: { i: number; j: number; phrase: SpottedPhrase; gainNats: number }[] = [];
  for (const { i, j, phrase, window } of tries) {
    let wordsScore = wordsScores.get(window);
    if (wordsScore === undefined) wordsScores.set(window, (wordsScore = score(window, window.words)));
    const allowance = allowanceNats * phrase.tokenIds.length;
    const gainNats = score(window, phrase.tokenIds, wordsScore - allowance) - wordsScore + allowance;
    if (gainNats > 0) candidates.push({ i, j, phrase, gainNats });
  }
  if (candidates.length === 0) return hyp;
  candidates.sort((a, b) => b.gainNats - a.gainNats);
  const taken: (SpottedPhrase | undefined)[] = new Array(words.length);
  const covered = new Array<boolean>(words.length).fill(false);
  for (const c of candidates) {
    if (covered.slice(c.i, c.j + 1).some((x) => x)) continue;
    covered.fill(true, c.i, c.j + 1);
    taken[c.i] = c.phrase;
  }
  const spotted: number[] = [];
  for (let i = 0; i < words.length; i++) {
    const phrase = taken[i];
    if (phrase) spotted.push(...phrase.tokenIds);
    else if (!covered[i]) spotted.push(...tokenIds.slice(words[i].first, words[i].end));
  }
  return alignTokens(logProbs, offset, numFrames, vocabSize, blankId, spotted);
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, k) => v === b[k]);
}

/**
 * Log-probability of the best CTC path spelling `tokenIds` over `numFrames`
 * frames from `offset`; -Infinity if they do not fit. With `anchoredStart`
 * the path starts on the first token (it was emitted at the first frame),
 * with `anchoredEnd` it ends on the last (emitted at the last frame); else a
 * blank may come first or last. A path's score only falls frame by frame, so
 * once every state is below `floor` the search stops there and gives -Infinity
 * (most candidate keyterms fall that short within a few frames).
 */
export function bestPathLogProb(
  logProbs: Float32Array,
  offset: number,
  numFrames: number,
  vocabSize: number,
  blankId: number,
  tokenIds: readonly number[],
  anchoredStart: boolean,
  anchoredEnd: boolean,
  floor = -Infinity,
): number {
  if (numFrames <= 0) return -Infinity;
  // States: 2k is the blank before token k, 2k + 1 is token k, 2L the final blank.
  const numStates = 2 * tokenIds.length + 1;
  const label = (s: number) => (s % 2 === 0 ? blankId : tokenIds[(s - 1) / 2]);
  let score = new Float64Array(numStates).fill(-Infinity);
  let next = new Float64Array(numStates);
  if (!anchoredStart) score[0] = logProbs[offset + blankId];
  if (tokenIds.length > 0) score[1] = logProbs[offset + tokenIds[0]];
  for (let t = 1; t < numFrames; t++) {
    const row = offset + t * vocabSize;
    let rowBest = -Infinity;
    for (let s = 0; s < numStates; s++) {
      let best = score[s];
      if (s >= 1 && score[s - 1] > best) best = score[s - 1];
      if (s % 2 === 1 && s >= 3 && label(s) !== label(s - 2) && score[s - 2] > best) best = score[s - 2];
      next[s] = best === -Infinity ? -Infinity : best + logProbs[row + label(s)];
      if (next[s] > rowBest) rowBest = next[s];
    }
    if (rowBest < floor) return -Infinity;
    [score, next] = [next, score];
  }
  if (tokenIds.length === 0) return score[0];
  return anchoredEnd ? score[numStates - 2] : Math.max(score[numStates - 1], score[numStates - 2]);
}
