/**
 * Language-model scores for prefix beam search (shallow fusion): a token
 * n-gram LM scores every token a prefix emits, a word n-gram LM every word it
 * completes; either or both. The word LM's vocabulary is also a lexicon: a
 * word that leaves it pays a penalty as soon as its spelling does, so
 * non-words lose their place in the beam early instead of at their last
 * letter. A token LM must share the acoustic model's tokens; a word LM works
 * with any model whose tokens spell words (characters or word pieces).
 * Pure: owns the scoring, not the search (ctc.ts).
 */
import { WORD_BOUNDARY } from './tokens.js';
import type { NgramLm } from './ngram-lm.js';

export interface LmFusion {
  /** The acoustic model's symbol for each token id (tokens.txt's). */
  symbols: readonly string[];
  tokens?: TokenLmFusion;
  words?: WordLmFusion;
}

/** A token n-gram LM over the acoustic model's own tokens. */
export interface TokenLmFusion {
  lm: NgramLm;
  /** Scale of the LM's log-probabilities against the acoustic ones. */
  weight: number;
  /** Added for every token a prefix emits, against the LM's preference for short outputs. */
  tokenBonus: number;
  /** Scores kept across the searches given this fusion (a decoder's finals); without one each search keeps its own. */
  scoreCache?: TokenScoreCache;
}

/** A word n-gram LM whose 1-grams are the lexicon. */
export interface WordLmFusion {
  lm: NgramLm;
  lexicon: Lexicon;
  weight: number;
  /** Added for every word a prefix completes. */
  wordBonus: number;
  /** Taken once from a word outside the lexicon (log domain, >= 0). */
  oovPenalty: number;
}

/** What the scorer reads and keeps on a beam-search prefix. */
export interface LmPrefix {
  parent: LmPrefix | null;
  tokenId: number;
  /** Fused score of each next token, computed on first use. */
  lmNext: Float64Array | undefined;
  /** Lexicon node of the word being spelt; OFF_LEXICON once it left the lexicon. */
  lexNode: number;
  /** The completed words the word LM conditions on, oldest first, from <s>. */
  history: readonly string[];
  /** Where each next token leads in the word LM, computed on first use (with a word LM only). */
  wordNext: WordStep | undefined;
}

/** A prefix's word-level successors: shared by its scores and the state of its children. */
interface WordStep {
  /** Lexicon node after each next token. */
  lexNodes: Int32Array;
  /** The history once the word being spelt is complete. */
  historyAfterWord: readonly string[];
  /** Word LM score of completing that word (0 if no word is being spelt). */
  completion: number;
}

const OFF_LEXICON = -1;
/** The word LM's word for any word outside the lexicon (unseen: scored by backoff to the LM's floor). */
const UNKNOWN_WORD = '<unk>';

/**
 * Words as a character trie: node 0 is the empty word. Nodes live in typed
 * arrays, each linked to its first child and next sibling (a node has at most
 * a few dozen children, so scanning them is cheap): ~11 bytes a node, a few
 * MB for a 100k-word list, where a Map of (node, char) keys took ~12 MB.
 */
export class Lexicon {
  private firstChild = new Int32Array(1024).fill(-1);
  private nextSibling = new Int32Array(1024).fill(-1);
  private charCodes = new Uint16Array(1024);
  private wordEnds = new Uint8Array(1024);
  private numNodes = 1;
  readonly size: number;

  constructor(words: Iterable<string>) {
    let size = 0;
    for (const word of words) {
      let node = 0;
      for (let i = 0; i < word.length; i++) {
        const c = word.charCodeAt(i);
        node = this.child(node, c) ?? this.addChild(node, c);
      }
      if (!this.wordEnds[node]) size++;
      this.wordEnds[node] = 1;
    }
    this.size = size;
    // Drop the growth slack.
    this.firstChild = this.firstChild.slice(0, this.numNodes);
    this.nextSibling = this.nextSibling.slice(0, this.numNodes);
    this.charCodes = this.charCodes.slice(0, this.numNodes);
    this.wordEnds = this.wordEnds.slice(0, this.numNodes);
  }

  /** The node after spelling `text` from `node`, or OFF_LEXICON if no word goes that way. */
  walk(node: number, text: string): number {
    for (let i = 0; i < text.length && node !== OFF_LEXICON; i++) node = this.child(node, text.charCodeAt(i)) ?? OFF_LEXICON;
    return node;
  }

  isWord(node: number): boolean {
    return node !== OFF_LEXICON && this.wordEnds[node] === 1;
  }

  private child(node: number, charCode: number): number | undefined {
    for (let k = this.firstChild[node]; k >= 0; k = this.nextSibling[k]) if (this.charCodes[k] === charCode) return k;
    return undefined;
  }

  private addChild(node: number, charCode: number): number {
    if (this.numNodes === this.charCodes.length) this.grow();
    const k = this.numNodes++;
    this.charCodes[k] = charCode;
    this.nextSibling[k] = this.firstChild[node];
    this.firstChild[node] = k;
    return k;
  }

  private grow(): void {
    const n = this.charCodes.length * 2;
    const widen = <T extends Int32Array | Uint16Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(n);
      next.set(old);
      return next;
    };
    this.firstChild = widen(this.firstChild, (m) => new Int32Array(m).fill(-1));
    this.nextSibling = widen(this.nextSibling, (m) => new Int32Array(m).fill(-1));
    this.charCodes = widen(this.charCodes, (m) => new Uint16Array(m));
    this.wordEnds = widen(this.wordEnds, (m) => new Uint8Array(m));
  }
}

/** Lexicon of a word LM: its 1-grams less the sentence marks. */
export function lexiconOf(wordLm: NgramLm): Lexicon {
  return new Lexicon(wordLm.vocabulary().filter((w) => w !== '<s>' && w !== '</s>' && w !== UNKNOWN_WORD));
}

/**
 * The token LM's fused scores of every next token (weighted, with the token
 * bonus), by context. Utterances share many contexts, so a decoder keeps one
 * across its searches: on the demo model's 300 held-out utterances a cache
 * per search computed 125k context scores, one shared and unbounded 62k, and
 * at the default bound 90k. Bounded: past `maxContexts` it forgets the
 * context it learnt first (forgetting the least recently used instead saved
 * 4% more). An entry is a Float64Array of the vocabulary plus a Map slot,
 * ~440 bytes with the demo model's 29 tokens: ~7 MiB at the default bound.
 * Pure; keys are LmScorer's.
 */
export class TokenScoreCache {
  static readonly DEFAULT_MAX_CONTEXTS = 16_384;
  private readonly byContext = new Map<number, Float64Array>();
  /**
   * Keys in the order they came, as a ring: the slot the next key takes holds
   * the oldest. (Evicting a Map's first key instead costs a scan past every
   * deleted slot V8 has not compacted yet: it was a fifth of the search.)
   */
  private readonly keysInOrder: Float64Array;
  private nextSlot = 0;

  constructor(readonly maxContexts = TokenScoreCache.DEFAULT_MAX_CONTEXTS) {
    this.keysInOrder = new Float64Array(maxContexts);
  }

  get size(): number {
    return this.byContext.size;
  }

  get(key: number): Float64Array | undefined {
    return this.byContext.get(key);
  }

  /** Adds the scores of a context it does not hold. */
  set(key: number, scores: Float64Array): void {
    if (this.byContext.size === this.maxContexts) this.byContext.delete(this.keysInOrder[this.nextSlot]);
    this.byContext.set(key, scores);
    this.keysInOrder[this.nextSlot] = key;
    this.nextSlot = (this.nextSlot + 1) % this.maxContexts;
  }
}

/** One utterance's scorer: token-LM scores come from the fusion's cache, shared between prefixes and searches. */
export class LmScorer {
  private readonly tokenScoreCache: TokenScoreCache;
  private readonly noTokenLm: Float64Array;
  /** Whether each token starts a word (and so completes the one before it). */
  readonly startsWord: boolean[];
  /** Lexicon node after each word-starting token (the same after every prefix, so walked once). */
  private readonly wordStartNodes: Int32Array | undefined;
  /** The token LM's id of each token, then of <s> and </s> (symbols looked up once, not at every score). */
  private readonly tokenLmIds: Int32Array | undefined;
  private readonly startLmId: number;
  private readonly endLmIds: Int32Array | undefined;

  constructor(
    private readonly fusion: LmFusion,
    private readonly vocabSize: number,
  ) {
    this.noTokenLm = new Float64Array(vocabSize);
    this.startsWord = fusion.symbols.map((sym) => sym.startsWith(WORD_BOUNDARY));
    const lexicon = fusion.words?.lexicon;
    this.wordStartNodes = lexicon && Int32Array.from(fusion.symbols, (sym, v) => (this.startsWord[v] ? lexicon.walk(0, sym.slice(WORD_BOUNDARY.length)) : OFF_LEXICON));
    this.tokenLmIds = fusion.tokens?.lm.idsOf(fusion.symbols);
    this.startLmId = fusion.tokens?.lm.idsOf(['<s>'])[0] ?? -1;
    this.endLmIds = fusion.tokens?.lm.idsOf(['</s>']);
    this.tokenScoreCache = fusion.tokens?.scoreCache ?? new TokenScoreCache();
    const lmOrder = fusion.tokens?.lm.order ?? 1;
    if ((vocabSize + 1) ** (lmOrder - 1) > Number.MAX_SAFE_INTEGER) {
      throw new Error(`a token LM of order ${lmOrder} over ${vocabSize} tokens has more contexts than the score cache's numeric keys tell apart`);
    }
  }

  initRoot(root: LmPrefix): void {
    root.lexNode = 0;
    root.history = ['<s>'];
  }

  /** Sets a new prefix's word state from its parent's. */
  initChild(parent: LmPrefix, child: LmPrefix): void {
    if (!this.fusion.words) {
      child.lexNode = 0;
      child.history = parent.history;
      return;
    }
    const step = this.wordStep(parent);
    child.lexNode = step.lexNodes[child.tokenId];
    child.history = this.startsWord[child.tokenId] ? step.historyAfterWord : parent.history;
  }

  /** Fused score of every next token after `prefix`. */
  next(prefix: LmPrefix): Float64Array {
    if (prefix.lmNext) return prefix.lmNext;
    const words = this.fusion.words;
    const shared = this.tokenScores(prefix);
    if (!words) return (prefix.lmNext = shared);
    const scores = shared.slice();
    const { completion } = this.wordStep(prefix);
    for (let v = 0; v < this.vocabSize; v++) scores[v] += (this.startsWord[v] ? completion : 0) - this.oovPenaltyOf(prefix, v);
    return (prefix.lmNext = scores);
  }

  /**
   * The OOV penalty in next(prefix)[v]: paid once, where a spelling leaves the
   * lexicon (the search gives it back to a keyterm being spelt).
   */
  oovPenaltyOf(prefix: LmPrefix, v: number): number {
    const words = this.fusion.words;
    if (!words) return 0;
    const leaves = this.wordStep(prefix).lexNodes[v] === OFF_LEXICON && (this.startsWord[v] || prefix.lexNode !== OFF_LEXICON);
    return leaves ? words.oovPenalty : 0;
  }

  /** Score of ending the utterance after `prefix`. */
  end(prefix: LmPrefix): number {
    const { tokens, words } = this.fusion;
    let score = tokens ? tokens.weight * tokens.lm.logProbsAfter(this.tokenContextIds(prefix, tokens.lm), this.endLmIds!)[0] : 0;
    if (words) {
      const { historyAfterWord, completion } = this.wordStep(prefix);
      score += completion + words.weight * words.lm.logProb(historyAfterWord, '</s>');
    }
    return score;
  }

  /** The token LM's score of every next token (shared by prefixes with the same context; zeros without one). */
  private tokenScores(prefix: LmPrefix): Float64Array {
    const { tokens } = this.fusion;
    if (!tokens) return this.noTokenLm;
    const key = this.tokenContextKey(prefix, tokens.lm);
    let scores = this.tokenScoreCache.get(key);
    if (!scores) {
      scores = tokens.lm.logProbsAfter(this.tokenContextIds(prefix, tokens.lm), this.tokenLmIds!);
      for (let v = 0; v < this.vocabSize; v++) scores[v] = tokens.weight * scores[v] + tokens.tokenBonus;
      this.tokenScoreCache.set(key, scores);
    }
    return scores;
  }

  /** The word-level successors of `prefix` (needs a word LM), computed once per prefix. */
  private wordStep(prefix: LmPrefix): WordStep {
    if (prefix.wordNext) return prefix.wordNext;
    const { symbols } = this.fusion;
    const words = this.fusion.words!;
    const lexNodes = new Int32Array(this.vocabSize);
    for (let v = 0; v < this.vocabSize; v++) {
      if (this.startsWord[v]) lexNodes[v] = this.wordStartNodes![v];
      else lexNodes[v] = prefix.lexNode === OFF_LEXICON ? OFF_LEXICON : words.lexicon.walk(prefix.lexNode, symbols[v]);
    }
    const word = currentWord(prefix, symbols);
    if (word === '') return (prefix.wordNext = { lexNodes, historyAfterWord: prefix.history, completion: 0 });
    const inLexicon = words.lexicon.isWord(prefix.lexNode);
    // Any word outside the lexicon is <unk> to the word LM, which scores it at its
    // floor (NgramLm's unknown). One whose spelling left the lexicon paid the
    // penalty when it did; a prefix of lexicon words that is no word itself pays it now.
    const symbol = inLexicon ? word : UNKNOWN_WORD;
    const penalty = inLexicon || prefix.lexNode === OFF_LEXICON ? 0 : words.oovPenalty;
    return (prefix.wordNext = {
      lexNodes,
      historyAfterWord: [...prefix.history, symbol].slice(-Math.max(1, words.lm.order - 1)),
      completion: words.weight * words.lm.logProb(prefix.history, symbol) + words.wordBonus - penalty,
    });
  }

  /**
   * tokenContextIds as one number, so the cache hashes no string: the tokens'
   * ids + 1 as digits in base vocabSize + 1, newest lowest. No digit is 0,
   * so the number also says how many tokens there are, and with them whether
   * the context starts with <s>.
   */
  private tokenContextKey(prefix: LmPrefix, lm: NgramLm): number {
    let key = 0;
    let scale = 1;
    for (let p: LmPrefix | null = prefix, n = 0; p && p.parent && n < lm.order - 1; p = p.parent, n++, scale *= this.vocabSize + 1) {
      key += (p.tokenId + 1) * scale;
    }
    return key;
  }

  /** The token LM's ids of the prefix's last order - 1 tokens, oldest first; <s> first while it has fewer. */
  private tokenContextIds(prefix: LmPrefix, lm: NgramLm): number[] {
    const ids: number[] = [];
    for (let p: LmPrefix | null = prefix; p && p.parent && ids.length < lm.order - 1; p = p.parent) ids.push(this.tokenLmIds![p.tokenId]);
    if (ids.length < lm.order - 1) ids.push(this.startLmId);
    return ids.reverse();
  }
}

/** The text of the word `prefix` ends in: its tokens back to the last one that starts a word. */
function currentWord(prefix: LmPrefix, symbols: readonly string[]): string {
  let word = '';
  for (let p: LmPrefix | null = prefix; p && p.parent; p = p.parent) {
    const sym = symbols[p.tokenId];
    if (sym.startsWith(WORD_BOUNDARY)) return sym.slice(WORD_BOUNDARY.length) + word;
    word = sym + word;
  }
  return word;
}
