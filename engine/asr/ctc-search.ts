/**
 * From a model's log-probabilities to a recognition result: greedy or prefix
 * beam search fused with the language models and biased by a stream's
 * keyterms, then words with times. Both recognizers use it on their threads:
 * the offline one on each utterance of a batch (batch-decoder.ts), the
 * streaming one on a segment's stored log-probabilities for its final
 * (streaming-worker.ts). Results are plain data.
 */
import { ContextGraph, tokenizePhrase, type Keyterms } from './context-graph.js';
import { greedyDecode, joinWords, prefixBeamSearch, type CtcHypothesis, type RecognizedWord, type SearchPruning } from './ctc.js';
import { spotKeyterms, type SpottedPhrase } from './keyterm-spotting.js';
import { lexiconOf, TokenScoreCache, type LmFusion } from './lm-fusion.js';
import { NgramLm } from './ngram-lm.js';
import { parseTokens, WORD_BOUNDARY, type TokenTable } from './tokens.js';

export interface RecognitionResult {
  text: string;
  tokens: string[];
  /** Time of each token from the start of the utterance. */
  tokenTimesMs: number[];
  words: RecognizedWord[];
}

export const EMPTY_RESULT: RecognitionResult = { text: '', tokens: [], tokenTimesMs: [], words: [] };

/** The language models fused into beam decoding, and their weights. */
export interface LmSpec {
  /** ARPA token language model (see ngram-lm.ts). */
  lmPath?: string;
  lmWeight: number;
  lmTokenBonus: number;
  /** ARPA word language model, alone or with the token one; its 1-grams are the lexicon (see lm-fusion.ts). */
  wordLmPath?: string;
  wordLmWeight: number;
  wordBonus: number;
  oovPenalty: number;
}

/** How log-probabilities become results: plain data, so it can be sent to a thread. */
export interface SearchSpec {
  tokensText: string;
  /** How finals are decoded; partials are always greedy. */
  decoding: 'greedy' | 'beam';
  beamSize: number;
  pruning: SearchPruning;
  lm: LmSpec;
}

/**
 * Keyterm graphs (and spelt phrases) kept by a search, by their keyterms' content: a session's
 * finals reuse its graph, and sessions with the same list share one (they
 * share nothing else). A graph at the protocol's limits (100 phrases of 50
 * characters: 5k nodes, a Map each) measured 1.2 MiB, so 16 of them stay
 * under 20 MiB per recognizer thread; a few names take a few KiB.
 */
const MAX_KEYTERM_GRAPHS = 16;

/** A session's keyterms as the search uses them: the graph the beam walks, and the phrases spotted after it. */
interface KeytermSearch {
  graph: ContextGraph;
  phrases: SpottedPhrase[];
}

export class CtcSearch {
  readonly tokens: TokenTable;
  private readonly fusion: LmFusion | undefined;
  /** Oldest first, so the first is the one to forget. */
  private readonly keytermSearches = new Map<string, KeytermSearch>();
  /** Whether each token starts a word, and how many characters it spells (for keyterm spotting). */
  private readonly startsWord: boolean[];
  private readonly charsOf: number[];

  constructor(
    private readonly spec: SearchSpec,
    /** Milliseconds per output frame. */
    readonly frameMs: number,
  ) {
    this.tokens = parseTokens(spec.tokensText);
    this.startsWord = this.tokens.symbols.map((s) => s.startsWith(WORD_BOUNDARY));
    this.charsOf = this.tokens.symbols.map((s, v) => (v === this.tokens.blankId ? 0 : s.replace(WORD_BOUNDARY, '').length));
    this.fusion = spec.lm.lmPath || spec.lm.wordLmPath ? lmFusion(spec.lm, this.tokens) : undefined;
  }

  /**
   * The result of `frames` frames of [T, vocab] log-probabilities from
   * `offset`: greedy for a partial or when finals are greedy, else the beam
   * search, biased by `keyterms` if given (the beam's bonus, then spotting:
   * keyterm-spotting.ts).
   */
  decode(logProbs: Float32Array, offset: number, frames: number, vocab: number, partial: boolean, keyterms: Keyterms | undefined): RecognitionResult {
    const beam = this.spec.decoding === 'beam' && !partial;
    const biasing = beam && keyterms ? this.keytermSearch(keyterms) : undefined;
    let hyp = beam
      ? prefixBeamSearch(logProbs, offset, frames, vocab, this.tokens.blankId, this.spec.beamSize, this.fusion, this.spec.pruning, biasing?.graph)
      : greedyDecode(logProbs, offset, frames, vocab, this.tokens.blankId);
    if (biasing) {
      // A keyterm may fall short of the words it replaces by the bonus the beam would give it: the boost per token.
      hyp = spotKeyterms(logProbs, offset, frames, vocab, this.tokens.blankId, hyp, biasing.phrases, this.startsWord, this.charsOf, biasing.graph.boostNats);
    }
    return resultOf(hyp, this.tokens, this.frameMs);
  }

  /** The graph and spelt phrases of `keyterms`, built on first use (throws for a phrase the model has no tokens for). */
  private keytermSearch(keyterms: Keyterms): KeytermSearch {
    const key = JSON.stringify([keyterms.phrases, keyterms.boostNats]);
    let search = this.keytermSearches.get(key);
    if (!search) {
      const spelt = keyterms.phrases.map((p) => tokenizePhrase(p, this.tokens.symbols));
      search = {
        graph: new ContextGraph(spelt, keyterms.boostNats),
        phrases: spelt.map((tokenIds) => ({ tokenIds, chars: tokenIds.reduce((n, v) => n + this.charsOf[v], 0) })),
      };
      if (this.keytermSearches.size === MAX_KEYTERM_GRAPHS) this.keytermSearches.delete(this.keytermSearches.keys().next().value!);
      this.keytermSearches.set(key, search);
    }
    return search;
  }
}

/** A hypothesis as a result: its words (word pieces joined) and token times. */
export function resultOf(hyp: CtcHypothesis, tokens: TokenTable, frameMs: number): RecognitionResult {
  const words = joinWords(hyp, tokens, frameMs);
  return {
    text: words.map((w) => w.word).join(' '),
    tokens: hyp.tokenIds.map((id) => tokens.symbols[id]),
    tokenTimesMs: hyp.frames.map((f) => f * frameMs),
    words,
  };
}

function lmFusion(spec: LmSpec, tokens: TokenTable): LmFusion {
  const wordLm = spec.wordLmPath ? NgramLm.load(spec.wordLmPath) : undefined;
  return {
    symbols: tokens.symbols,
    tokens: spec.lmPath ? { lm: NgramLm.load(spec.lmPath), weight: spec.lmWeight, tokenBonus: spec.lmTokenBonus, scoreCache: new TokenScoreCache() } : undefined,
    words: wordLm && { lm: wordLm, lexicon: lexiconOf(wordLm), weight: spec.wordLmWeight, wordBonus: spec.wordBonus, oovPenalty: spec.oovPenalty },
  };
}
