/**
 * CTC decoding, pure: log-probabilities of one utterance in, token ids with
 * the output frame each was emitted at out. Greedy (best path) and prefix
 * beam search. Also the token table and the joining of word pieces into words.
 */

import type { NgramLm } from './ngram-lm.js';

export interface TokenTable {
  /** symbol by id */
  symbols: string[];
  blankId: number;
}

/** The word-boundary mark of SentencePiece vocabularies (U+2581). */
export const WORD_BOUNDARY = '\u2581';

/** Parses sherpa-onnx's tokens.txt: `<symbol> <id>` per line, with `<blk>` (or `<blank>` / `<eps>`). */
export function parseTokens(text: string): TokenTable {
  const symbols: string[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const cut = line.lastIndexOf(' ');
    if (cut <= 0) throw new Error(`tokens.txt: bad line "${line}" (expected "<symbol> <id>")`);
    const id = Number(line.slice(cut + 1));
    if (!Number.isInteger(id) || id < 0) throw new Error(`tokens.txt: bad id in line "${line}"`);
    symbols[id] = line.slice(0, cut);
  }
  for (let i = 0; i < symbols.length; i++) {
    if (symbols[i] === undefined) throw new Error(`tokens.txt: id ${i} is missing`);
  }
  const blankId = ['<blk>', '<blank>', '<eps>'].map((s) => symbols.indexOf(s)).find((i) => i >= 0);
  if (blankId === undefined) throw new Error('tokens.txt: no <blk>, <blank> or <eps> symbol');
  return { symbols, blankId };
}

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
  const hyp: CtcHypothesis = { tokenIds: [], frames: [], tokenProbs: [] };
  let prev = -1;
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
      hyp.frames.push(t);
      hyp.tokenProbs.push(Math.exp(bestLp));
    }
    prev = best;
  }
  return hyp;
}

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

interface Beam {
  tokenIds: number[];
  frames: number[];
  tokenProbs: number[];
  /** log P(prefix, path ends in blank) and log P(prefix, path ends in its last token) */
  pBlank: number;
  pNonBlank: number;
}

/** Shallow fusion of a token language model into prefix beam search. */
export interface LmFusion {
  lm: NgramLm;
  /** The LM's symbol for each token id (tokens.txt's symbols). */
  symbols: readonly string[];
  /** Scale of the LM's log-probabilities against the acoustic ones. */
  weight: number;
  /** Added for every token a prefix emits, against the LM's preference for short outputs. */
  tokenBonus: number;
}

/**
 * Prefix beam search, optionally with a language model. Keeps `beamSize`
 * prefixes; a prefix's time of each token is the frame where it was first
 * extended. With `fusion`, each new token adds weight * log P_lm(token |
 * prefix) + tokenBonus, and the end of the utterance adds the LM's </s>.
 */
export function prefixBeamSearch(
  logProbs: Float32Array,
  offset: number,
  numFrames: number,
  vocabSize: number,
  blankId: number,
  beamSize: number,
  fusion?: LmFusion,
): CtcHypothesis {
  const lmScores = fusion ? fusionScorer(fusion, vocabSize) : undefined;
  let beams = new Map<string, Beam>([['', { tokenIds: [], frames: [], tokenProbs: [], pBlank: 0, pNonBlank: -Infinity }]]);
  for (let t = 0; t < numFrames; t++) {
    const row = offset + t * vocabSize;
    const next = new Map<string, Beam>();
    const get = (key: string, from: Beam, extend?: number): Beam => {
      let b = next.get(key);
      if (!b) {
        b =
          extend === undefined
            ? { tokenIds: from.tokenIds, frames: from.frames, tokenProbs: from.tokenProbs, pBlank: -Infinity, pNonBlank: -Infinity }
            : {
                tokenIds: [...from.tokenIds, extend],
                frames: [...from.frames, t],
                tokenProbs: [...from.tokenProbs, Math.exp(logProbs[row + extend])],
                pBlank: -Infinity,
                pNonBlank: -Infinity,
              };
        next.set(key, b);
      }
      return b;
    };
    for (const [key, beam] of beams) {
      const total = logAdd(beam.pBlank, beam.pNonBlank);
      const stay = get(key, beam);
      stay.pBlank = logAdd(stay.pBlank, total + logProbs[row + blankId]);
      const last = beam.tokenIds.length > 0 ? beam.tokenIds[beam.tokenIds.length - 1] : -1;
      if (last >= 0) stay.pNonBlank = logAdd(stay.pNonBlank, beam.pNonBlank + logProbs[row + last]);
      const lm = lmScores?.next(beam.tokenIds);
      for (let v = 0; v < vocabSize; v++) {
        if (v === blankId) continue;
        const lp = logProbs[row + v];
        if (lp < -20) continue; // negligible: keeps the search linear in practice
        const ext = get(`${key},${v}`, beam, v);
        // A repeated token only extends the prefix across a blank.
        ext.pNonBlank = logAdd(ext.pNonBlank, (v === last ? beam.pBlank : total) + lp + (lm ? lm[v] : 0));
      }
    }
    beams = new Map(
      [...next.entries()]
        .sort((a, b) => logAdd(b[1].pBlank, b[1].pNonBlank) - logAdd(a[1].pBlank, a[1].pNonBlank))
        .slice(0, beamSize),
    );
  }
  let best = beams.values().next().value as Beam;
  if (lmScores) {
    const score = (b: Beam) => logAdd(b.pBlank, b.pNonBlank) + lmScores.end(b.tokenIds);
    for (const b of beams.values()) if (score(b) > score(best)) best = b;
  }
  return { tokenIds: best.tokenIds, frames: best.frames, tokenProbs: best.tokenProbs };
}

/** The fused LM score of every next token after a prefix, cached per LM context. */
function fusionScorer({ lm, symbols, weight, tokenBonus }: LmFusion, vocabSize: number) {
  const cache = new Map<string, Float64Array>();
  const context = (tokenIds: number[]): string[] => {
    const kept = tokenIds.slice(Math.max(0, tokenIds.length - (lm.order - 1))).map((id) => symbols[id]);
    return kept.length < lm.order - 1 ? ['<s>', ...kept] : kept;
  };
  return {
    next(tokenIds: number[]): Float64Array {
      const ctx = context(tokenIds);
      const key = ctx.join(' ');
      let scores = cache.get(key);
      if (!scores) {
        scores = new Float64Array(vocabSize);
        for (let v = 0; v < vocabSize; v++) scores[v] = weight * lm.logProb(ctx, symbols[v]) + tokenBonus;
        cache.set(key, scores);
      }
      return scores;
    },
    end: (tokenIds: number[]): number => weight * lm.logProb(context(tokenIds), '</s>'),
  };
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
