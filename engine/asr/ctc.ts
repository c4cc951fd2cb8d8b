/**
 * CTC decoding, pure: log-probabilities of one utterance in, token ids with
 * the output frame each was emitted at out. Greedy (best path) and prefix
 * beam search (language-model scores from lm-fusion.ts). Also the joining of
 * word pieces into words.
 */

import { CONTEXT_ROOT, type ContextGraph, type ContextState } from './context-graph.js';
import { LmScorer, type LmFusion, type LmPrefix, type WordLmFusion } from './lm-fusion.js';
import type { NgramLm } from './ngram-lm.js';
import { WORD_BOUNDARY, type TokenTable } from './tokens.js';

export interface CtcHypothesis {
  tokenIds: number[];
  /** Output frame index at which each token was emitted. */
  frames: number[];
  /** Posterior probability of each token at its frame (a confidence in [0, 1]). */
  tokenProbs: number[];
}

/**
 * Best path: argmax per frame, repeats merged, blanks dropped.
 * `logProbs` holds [numFrames, vocabSize] starting at `offset`.
 */
export function greedyDecode(
  logProbs: Float32Array,
  offset: number,
  numFrames: number,
  vocabSize: number,
  blankId: number,
): CtcHypothesis {
  const carry = newGreedyCarry();
  extendGreedy(carry, logProbs, offset, numFrames, vocabSize, blankId);
  return carry.hyp;
}

/**
 * A best path carried across a stream's chunks: the hypothesis so far, the
 * last frame's argmax (a repeat across a chunk boundary is one token; a
 * blank between two equal tokens makes two) and the frames read.
 */
export interface GreedyCarry {
  hyp: CtcHypothesis;
  lastId: number;
  frames: number;
}

export function newGreedyCarry(): GreedyCarry {
  return { hyp: { tokenIds: [], frames: [], tokenProbs: [] }, lastId: -1, frames: 0 };
}

/** Extends `carry` by `numFrames` more frames; returns how many tokens they added. */
export function extendGreedy(
  carry: GreedyCarry,
  logProbs: Float32Array,
  offset: number,
  numFrames: number,
  vocabSize: number,
  blankId: number,
): number {
  const { hyp } = carry;
  const before = hyp.tokenIds.length;
  let prev = carry.lastId;
  for (let t = 0; t < numFrames; t++) {
    const row = offset + t * vocabSize;
    let best = 0;
    let bestLp = logProbs[row];
    for (let v = 1; v < vocabSize; v++) {
      if (logProbs[row + v] > bestLp) {
        bestLp = logProbs[row + v];
        best = v;
      }
    }
    if (best !== blankId && best !== prev) {
      hyp.tokenIds.push(best);
      hyp.frames.push(carry.frames + t);
      hyp.tokenProbs.push(Math.exp(bestLp));
    }
    prev = best;
  }
  carry.lastId = prev;
  carry.frames += numFrames;
  return hyp.tokenIds.length - before;
}

/**
 * Limits that keep the beam search cheap, in nats (natural-log units).
 * Like the LM weights they follow the model, so they are decoding options
 * (recognizer.ts, `--token-floor-nats`, `--score-window-nats`), not constants.
 */
export interface SearchPruning {
  /** A token less likely than e^-tokenFloorNats on a frame extends no prefix there. */
  tokenFloorNats: number;
  /** A prefix e^scoreWindowNats times less likely than the best is dropped even when the beam has room. */
  scoreWindowNats: number;
}

/**
 * Tuned with the demo model on the first half of its held-out set. At 64
 * prefixes the two rules took the search from ~120 to ~25 ms per utterance
 * at the same WER (a floor of e^-20 and no window before). The demo model of
 * 2026-11-27 keeps more tokens and prefixes alive: at the previous limits
 * (e^-10, e^24) its search made 1.9 times the previous model's prefix
 * extensions per held-out utterance, and e^-9, e^12 bring it back to the same
 * count at the same held-out WER (e^12 would cost the previous model 0.7 points).
 */
export const DEFAULT_PRUNING: SearchPruning = { tokenFloorNats: 9, scoreWindowNats: 12 };

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/**
 * A prefix in the search, linked to its parent, so extending one is O(1) and
 * a prefix is its own identity (no token strings). Only the prefixes in the
 * beam and their ancestors stay reachable between frames: the ones pruned die
 * young, which keeps the garbage collector's old generation, and so the
 * server's RSS, flat (a trie of every prefix tried grew it by tens of MiB).
 * Scores are log P(prefix, path ends in blank) and log P(prefix, path ends in
 * its last token): `pBlank`/`pNonBlank` after the previous frame (valid while
 * the prefix is in the beam), `nBlank`/`nNonBlank` being summed for this
 * frame (valid when `frame` is this frame). The rest is its place among the
 * keyterms (`keytermStep`).
 */
interface Prefix extends LmPrefix {
  id: number;
  parent: Prefix | null;
  pBlank: number;
  pNonBlank: number;
  nBlank: number;
  nNonBlank: number;
  nTotal: number;
  frame: number;
  context: ContextState;
  /** What its last token earned or gave back among the keyterms. */
  contextStepNats: number;
  /** OOV penalties given back to the keyterm word being spelt: owed again unless it ends as a keyterm. */
  keytermRefundNats: number;
  /** Its last token completed a keyterm. */
  keytermDone: boolean;
}

/**
 * Prefix beam search, optionally with language models. Keeps up to
 * `beamSize` prefixes within `pruning.scoreWindowNats` of the best; the best
 * one's tokens are timed by `alignTokens`. With `fusion`, each new token adds its LM
 * scores (lm-fusion.ts), and the end of the utterance the LMs' </s>. With
 * `keyterms`, each token adds what it earns or gives back in that graph
 * (context-graph.ts), and a keyterm being spelt pays no OOV penalty; without,
 * the search is the same, score for score.
 */
export function prefixBeamSearch(
  logProbs: Float32Array,
  offset: number,
  numFrames: number,
  vocabSize: number,
  blankId: number,
  beamSize: number,
  fusion?: LmFusion,
  pruning: SearchPruning = DEFAULT_PRUNING,
  keyterms?: ContextGraph,
): CtcHypothesis {
  const minTokenLogProb = -pruning.tokenFloorNats;
  const lmScores = fusion ? new LmScorer(fusion, vocabSize) : undefined;
  let nextId = 0;
  const newPrefix = (parent: Prefix | null, tokenId: number): Prefix => ({
    id: nextId++,
    parent,
    tokenId,
    pBlank: -Infinity,
    pNonBlank: -Infinity,
    nBlank: -Infinity,
    nNonBlank: -Infinity,
    nTotal: -Infinity,
    frame: -1,
    lmNext: undefined,
    lexNode: 0,
    history: [],
    wordNext: undefined,
    context: CONTEXT_ROOT,
    contextStepNats: 0,
    keytermRefundNats: 0,
    keytermDone: false,
  });
  // A prefix's key among its parent's extensions: parent id and token.
  const keyOf = (parentId: number, tokenId: number) => parentId * vocabSize + tokenId;
  const keytermWordEnd = keyterms && fusion?.words ? keytermWordRefund(fusion.words) : undefined;
  const root = newPrefix(null, -1);
  root.pBlank = 0;
  lmScores?.initRoot(root);
  let beams: Prefix[] = [root];
  // The beam's prefixes and their ancestors by key: one node per token sequence,
  // so an extension that is already one of them adds to it.
  let known = new Map<number, Prefix>();
  for (let t = 0; t < numFrames; t++) {
    const row = offset + t * vocabSize;
    const next: Prefix[] = [];
    const created = new Map<number, Prefix>();
    const touch = (prefix: Prefix): Prefix => {
      if (prefix.frame !== t) {
        prefix.frame = t;
        prefix.nBlank = -Infinity;
        prefix.nNonBlank = -Infinity;
        next.push(prefix);
      }
      return prefix;
    };
    for (const prefix of beams) {
      const total = logAdd(prefix.pBlank, prefix.pNonBlank);
      const stay = touch(prefix);
      stay.nBlank = logAdd(stay.nBlank, total + logProbs[row + blankId]);
      const last = prefix.tokenId;
      if (last >= 0) stay.nNonBlank = logAdd(stay.nNonBlank, prefix.pNonBlank + logProbs[row + last]);
      const lm = lmScores?.next(prefix);
      for (let v = 0; v < vocabSize; v++) {
        if (v === blankId) continue;
        const lp = logProbs[row + v];
        if (lp < minTokenLogProb) continue;
        const key = keyOf(prefix.id, v);
        let child = known.get(key) ?? created.get(key);
        if (!child) {
          child = newPrefix(prefix, v);
          lmScores?.initChild(prefix, child);
          if (keyterms) keytermStep(keyterms, lmScores, keytermWordEnd, prefix, child);
          created.set(key, child);
        }
        const ext = touch(child);
        // A repeated token only extends the prefix across a blank.
        ext.nNonBlank = logAdd(ext.nNonBlank, (v === last ? prefix.pBlank : total) + lp + (lm ? lm[v] : 0) + child.contextStepNats);
      }
    }
    for (const p of next) p.nTotal = logAdd(p.nBlank, p.nNonBlank);
    next.sort((a, b) => b.nTotal - a.nTotal);
    let keep = Math.min(beamSize, next.length);
    while (keep > 1 && next[keep - 1].nTotal < next[0].nTotal - pruning.scoreWindowNats) keep--;
    beams = next.slice(0, keep);
    known = new Map();
    for (const p of beams) {
      p.pBlank = p.nBlank;
      p.pNonBlank = p.nNonBlank;
      for (let q: Prefix = p; q.parent && !known.has(keyOf(q.parent.id, q.tokenId)); q = q.parent) known.set(keyOf(q.parent.id, q.tokenId), q);
    }
  }
  let best = beams[0];
  if (lmScores || keyterms) {
    const keytermEnd = (p: Prefix) =>
      keyterms ? keyterms.end(p.context) + (p.keytermDone ? (keytermWordEnd?.(p) ?? 0) : -p.keytermRefundNats) : 0;
    const final = (p: Prefix) => logAdd(p.pBlank, p.pNonBlank) + (lmScores ? lmScores.end(p) : 0) + keytermEnd(p);
    for (const p of beams) if (final(p) > final(best)) best = p;
  }
  const tokenIds: number[] = [];
  for (let p: Prefix | null = best; p && p.parent; p = p.parent) tokenIds.push(p.tokenId);
  return alignTokens(logProbs, offset, numFrames, vocabSize, blankId, tokenIds.reverse());
}

/**
 * Sets a new prefix's place among the keyterms from its parent's. A keyterm
 * is spelt as the session asked, in the word LM's lexicon or not, so it is
 * not punished as out of vocabulary: a token that extends one is given back
 * the OOV penalty it pays, and a keyterm word that ends is given back what
 * the word LM charges a word outside the lexicon beyond a rare one's score
 * (keytermWordRefund). These refunds are owed again if the word turns out to
 * be no keyterm: the phrase is abandoned, or the word goes on past a
 * completed one ("grafana" is a keyterm, "grafanar" is not), and then the
 * completed phrase's bonus goes back too.
 */
function keytermStep(
  keyterms: ContextGraph,
  lmScores: LmScorer | undefined,
  wordEnd: ((prefix: Prefix) => number) | undefined,
  parent: Prefix,
  child: Prefix,
): void {
  const v = child.tokenId;
  const step = keyterms.step(parent.context, v);
  const startsWord = lmScores !== undefined && lmScores.startsWord[v];
  child.context = step.state;
  child.keytermDone = step.completesPhrase;
  // The word the parent ends in was spelt within a match (every phrase starts a word).
  const wordEndRefund = startsWord && parent.context.node !== 0 && wordEnd ? wordEnd(parent) : 0;
  if (step.extendsPhrase) {
    const refund = lmScores ? lmScores.oovPenaltyOf(parent, v) : 0;
    child.contextStepNats = step.scoreNats + refund + wordEndRefund;
    // A phrase completed before this one keeps what it was refunded.
    child.keytermRefundNats = parent.keytermDone ? refund : parent.keytermRefundNats + refund + wordEndRefund;
  } else if (parent.keytermDone && startsWord) {
    child.contextStepNats = step.scoreNats + wordEndRefund;
    child.keytermRefundNats = 0;
  } else {
    const wordGoesOn = parent.keytermDone && lmScores !== undefined;
    child.contextStepNats = step.scoreNats - parent.keytermRefundNats - (wordGoesOn ? keyterms.completedNats(parent.context) : 0);
    child.keytermRefundNats = 0;
  }
}

/**
 * What a keyterm word outside the lexicon is given back where it ends: the
 * word LM scores every such word as <unk>, at the floor of an unseen symbol
 * (10^-10), and a keyterm is scored instead as the LM's rarest word (with the
 * demo model's, 10^-6.49: a word of the lexicon never seen in its text), a
 * refund of 0.7 x 8.1 = 5.7 nats at its weight; and a spelling that stayed on
 * the lexicon's paths without ending at a word ("kube" where the lexicon has
 * "kubelet") pays the OOV penalty only there, at the word's end, so that is
 * given back here as well.
 */
function keytermWordRefund(words: WordLmFusion): (prefix: LmPrefix) => number {
  const unknown = words.weight * (rarestWordLogProb(words.lm) - words.lm.logProb([], '<unk>'));
  return (prefix) => (words.lexicon.isWord(prefix.lexNode) ? 0 : Math.max(0, unknown) + (prefix.lexNode >= 0 ? words.oovPenalty : 0));
}

const rarestWordLogProbs = new WeakMap<NgramLm, number>();

/** The lowest 1-gram log-probability of a word LM (its sentence marks aside), computed once per LM. */
function rarestWordLogProb(lm: NgramLm): number {
  let rarest = rarestWordLogProbs.get(lm);
  if (rarest === undefined) {
    rarest = 0;
    for (const word of lm.vocabulary()) if (word !== '<s>' && word !== '</s>' && word !== '<unk>') rarest = Math.min(rarest, lm.logProb([], word));
    rarestWordLogProbs.set(lm, rarest);
  }
  return rarest;
}

/**
 * Times a token sequence by its best CTC path (Viterbi forced alignment):
 * each token's frame is the first frame of its emission on that path, and its
 * probability the posterior there. For the greedy sequence this is the greedy
 * path itself, so beam search and greedy decoding time the same tokens alike.
 */
export function alignTokens(
  logProbs: Float32Array,
  offset: number,
  numFrames: number,
  vocabSize: number,
  blankId: number,
  tokenIds: number[],
): CtcHypothesis {
  const hyp: CtcHypothesis = { tokenIds, frames: [], tokenProbs: [] };
  if (tokenIds.length === 0) return hyp;
  // States: 2k is the blank before token k, 2k + 1 is token k, 2L the final blank.
  const numStates = 2 * tokenIds.length + 1;
  const label = (s: number) => (s % 2 === 0 ? blankId : tokenIds[(s - 1) / 2]);
  const from = new Int32Array(numFrames * numStates).fill(-1);
  // Two score rows, swapped each frame: this frame's and the previous one's.
  let score = new Float64Array(numStates).fill(-Infinity);
  let next = new Float64Array(numStates);
  score[0] = logProbs[offset + blankId];
  score[1] = logProbs[offset + tokenIds[0]];
  for (let t = 1; t < numFrames; t++) {
    const row = offset + t * vocabSize;
    next.fill(-Infinity);
    for (let s = 0; s < numStates; s++) {
      let best = score[s];
      let prev = s;
      if (s >= 1 && score[s - 1] > best) {
        best = score[s - 1];
        prev = s - 1;
      }
      // A token may follow the previous token directly unless they are the same.
      if (s % 2 === 1 && s >= 3 && label(s) !== label(s - 2) && score[s - 2] > best) {
        best = score[s - 2];
        prev = s - 2;
      }
      if (best === -Infinity) continue;
      next[s] = best + logProbs[row + label(s)];
      from[t * numStates + s] = prev;
    }
    [score, next] = [next, score];
  }
  let s = score[numStates - 1] >= score[numStates - 2] ? numStates - 1 : numStates - 2;
  if (score[s] === -Infinity) throw new Error(`CTC alignment: ${tokenIds.length} tokens do not fit in ${numFrames} frames`);
  const firstFrame = new Array<number>(tokenIds.length);
  for (let t = numFrames - 1; t >= 0; t--) {
    if (s % 2 === 1) firstFrame[(s - 1) / 2] = t;
    if (t > 0) s = from[t * numStates + s];
  }
  for (let k = 0; k < tokenIds.length; k++) {
    hyp.frames.push(firstFrame[k]);
    hyp.tokenProbs.push(Math.exp(logProbs[offset + firstFrame[k] * vocabSize + tokenIds[k]]));
  }
  return hyp;
}

export interface RecognizedWord {
  word: string;
  startMs: number;
  endMs: number;
  confidence: number;
}

/**
 * Joins word pieces into words: a symbol that starts with ▁ (or is ▁ alone)
 * begins a new word. A word spans from its first token's frame to one frame
 * past its last token's frame.
 */
export function joinWords(hyp: CtcHypothesis, table: TokenTable, frameMs: number): RecognizedWord[] {
  const words: RecognizedWord[] = [];
  let current: { text: string; first: number; last: number; probs: number[] } | null = null;
  const close = () => {
    if (current && current.text !== '') {
      const confidence = current.probs.reduce((a, b) => a + b, 0) / current.probs.length;
      words.push({ word: current.text, startMs: current.first * frameMs, endMs: (current.last + 1) * frameMs, confidence });
    }
    current = null;
  };
  hyp.tokenIds.forEach((id, i) => {
    let sym = table.symbols[id];
    const frame = hyp.frames[i];
    if (sym.startsWith(WORD_BOUNDARY)) {
      close();
      sym = sym.slice(WORD_BOUNDARY.length);
    }
    if (sym === '') return;
    if (!current) current = { text: '', first: frame, last: frame, probs: [] };
    current.text += sym;
    current.last = frame;
    current.probs.push(hyp.tokenProbs[i]);
  });
  close();
  return words;
}
