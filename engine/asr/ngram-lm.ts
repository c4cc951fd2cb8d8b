/**
 * An n-gram language model read from an ARPA file (plain, or gzipped when the
 * name ends in .gz): over the acoustic model's own tokens (a token LM: for a
 * character model its characters with '▁' between words, for a BPE model its
 * word pieces) or over words (a word LM). lm-fusion.ts adds its scores to the
 * acoustic ones in prefix beam search (shallow fusion), which turns near-miss
 * spellings into words the LM's language has.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const LN_10 = Math.log(10);
/** log P of a symbol the model has never seen: ARPA's conventional -99 would swamp the acoustic score. */
const UNKNOWN_TOKEN_LOG_PROB = -10 * LN_10;

/**
 * Stored as a trie in typed arrays: entries 0..vocab-1 are the unigrams (a
 * symbol's id is its entry), and entry e's children are slots
 * childStart[e]..childStart[e + 1] - 1 of childTokens (sorted, for binary
 * search) and childEntries. That is 12 bytes an n-gram and no hashing: a
 * Map keyed by e * vocab + token took ~40 bytes an n-gram, and with a word
 * LM's vocabulary its keys outgrew small integers, so each lookup hashed a
 * heap number (most of the search's time went to such lookups).
 */
export class NgramLm {
  private constructor(
    readonly order: number,
    private readonly symbolIds: Map<string, number>,
    private readonly childStart: Int32Array,
    private readonly childTokens: Int32Array,
    private readonly childEntries: Int32Array,
    /** Natural logs, by entry. */
    private readonly logProbs: Float32Array,
    /** Natural logs, by entry; 0 where the file gives none. */
    private readonly logBackoffs: Float32Array,
  ) {}

  static load(file: string): NgramLm {
    const bytes = readFileSync(file);
    const text = (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
    try {
      return NgramLm.parseArpa(text);
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
  }

  /** Parses ARPA text (pure; exported for tests). Sections must come in order, as ARPA writes them. */
  static parseArpa(text: string): NgramLm {
    const symbolIds = new Map<string, number>();
    const children = new Map<number, number>();
    const logProbs: number[] = [];
    const logBackoffs: number[] = [];
    const declared: number[] = [];
    let section = 0; // 0: header, n: inside \n-grams:
    const push = (fields: string[], n: number): void => {
      logProbs.push(Number(fields[0]) * LN_10);
      logBackoffs.push(fields.length === n + 2 ? Number(fields[n + 1]) * LN_10 : 0);
    };
    // Unigrams come first, so their entries are 0..vocab-1: a symbol's id is its entry.
    const addUnigram = (fields: string[], lineNo: number): void => {
      if (symbolIds.has(fields[1])) throw new Error(`ARPA line ${lineNo}: 1-gram "${fields[1]}" is listed twice`);
      symbolIds.set(fields[1], symbolIds.size);
      push(fields, 1);
    };
    const addEntry = (fields: string[], lineNo: number): void => {
      const e = walkWhileParsing(symbolIds, children, fields.slice(1, section));
      if (e < 0) throw new Error(`ARPA line ${lineNo}: its ${section - 1}-gram prefix is not in the file`);
      const id = symbolIds.get(fields[section]);
      if (id === undefined) throw new Error(`ARPA line ${lineNo}: token "${fields[section]}" is not among the 1-grams`);
      children.set(e * symbolIds.size + id, logProbs.length);
      push(fields, section);
    };
    // Line by line without splitting the whole text first: an array of every
    // line would hold the file's size several times over at once.
    for (let start = 0, lineNo = 1; start < text.length; lineNo++) {
      const newline = text.indexOf('\n', start);
      const end = newline < 0 ? text.length : newline;
      const line = text.slice(start, end).trim();
      start = end + 1;
      if (line === '' || line === '\\data\\') continue;
      if (line === '\\end\\') break;
      const header = /^\\(\d+)-grams:$/.exec(line);
      if (header) {
        section = Number(header[1]);
        continue;
      }
      if (section === 0) {
        const count = /^ngram (\d+)=(\d+)$/.exec(line);
        if (count) declared[Number(count[1])] = Number(count[2]);
        continue;
      }
      const fields = line.split(/\s+/);
      if (!Number.isFinite(Number(fields[0])) || (fields.length !== section + 1 && fields.length !== section + 2)) {
        throw new Error(`ARPA line ${lineNo}: expected "logprob ${section} token(s) [backoff]", got "${line}"`);
      }
      if (section === 1) addUnigram(fields, lineNo);
      else addEntry(fields, lineNo);
    }
    const order = declared.length - 1;
    if (order < 1) throw new Error('no "\\data\\" section with ngram counts: not an ARPA file');
    const { childStart, childTokens, childEntries } = childLists(children, symbolIds.size, logProbs.length);
    return new NgramLm(order, symbolIds, childStart, childTokens, childEntries, Float32Array.from(logProbs), Float32Array.from(logBackoffs));
  }

  /** Its 1-grams' symbols. */
  vocabulary(): string[] {
    return [...this.symbolIds.keys()];
  }

  /** The id of each symbol, -1 for one the model has never seen: what logProbsAfter takes. */
  idsOf(symbols: readonly string[]): Int32Array {
    // A plain loop: Int32Array.from with a mapping function was several times slower.
    const ids = new Int32Array(symbols.length);
    for (let i = 0; i < symbols.length; i++) ids[i] = this.symbolIds.get(symbols[i]) ?? -1;
    return ids;
  }

  /**
   * Natural-log P(token | context); the context's oldest tokens beyond
   * order - 1 are ignored. Unseen n-grams back off to shorter contexts.
   */
  logProb(context: readonly string[], token: string): number {
    const histories = this.histories(this.idsOf(context));
    const id = this.symbolIds.get(token) ?? -1;
    let backoff = 0;
    for (const history of histories) {
      if (history < 0) continue; // an unseen history backs off for free
      const hit = id < 0 ? -1 : this.child(history, id);
      if (hit >= 0) return backoff + this.logProbs[hit];
      backoff += this.logBackoffs[history];
    }
    return backoff + (id < 0 ? UNKNOWN_TOKEN_LOG_PROB : this.logProbs[id]);
  }

  /**
   * logProb(context, t) for each of `tokenIds` (idsOf's; the context's too),
   * exactly: what a beam search asks of every new prefix. Instead of looking
   * each token up in each history, it reads each history's children once,
   * longest history first, and a token takes the first score it meets.
   */
  logProbsAfter(contextIds: ArrayLike<number>, tokenIds: Int32Array): Float64Array {
    const vocab = this.symbolIds.size;
    const byId = new Float64Array(vocab);
    const scored = new Uint8Array(vocab);
    let backoff = 0;
    for (const history of this.histories(contextIds)) {
      if (history < 0) continue;
      for (let c = this.childStart[history]; c < this.childStart[history + 1]; c++) {
        const id = this.childTokens[c];
        if (scored[id]) continue;
        scored[id] = 1;
        byId[id] = backoff + this.logProbs[this.childEntries[c]];
      }
      backoff += this.logBackoffs[history];
    }
    const out = new Float64Array(tokenIds.length);
    for (let i = 0; i < tokenIds.length; i++) {
      const id = tokenIds[i];
      out[i] = id < 0 ? backoff + UNKNOWN_TOKEN_LOG_PROB : scored[id] ? byId[id] : backoff + this.logProbs[id];
    }
    return out;
  }

  /** The entries of the context's last k tokens, longest first (k = order - 1 .. 1); -1 where unseen. */
  private histories(contextIds: ArrayLike<number>): number[] {
    const longest = Math.min(this.order - 1, contextIds.length);
    const out: number[] = [];
    for (let k = longest; k > 0; k--) {
      let e = contextIds[contextIds.length - k];
      for (let i = contextIds.length - k + 1; i < contextIds.length && e >= 0; i++) e = contextIds[i] < 0 ? -1 : this.child(e, contextIds[i]);
      out.push(e);
    }
    return out;
  }

  /** Entry e's child for token `id`, or -1 (binary search of its sorted children). */
  private child(e: number, id: number): number {
    let lo = this.childStart[e];
    let hi = this.childStart[e + 1] - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const t = this.childTokens[mid];
      if (t === id) return this.childEntries[mid];
      if (t < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/** While parsing: the trie entry of the n-gram `symbols` (oldest first), or -1 if it is not in the file so far. */
function walkWhileParsing(symbolIds: Map<string, number>, children: Map<number, number>, symbols: readonly string[]): number {
  let e = -1;
  for (const symbol of symbols) {
    const id = symbolIds.get(symbol);
    if (id === undefined) return -1;
    e = e < 0 ? id : (children.get(e * symbolIds.size + id) ?? -1);
    if (e < 0) return -1;
  }
  return e;
}

/** The parsed children (keyed e * vocab + token) as NgramLm's sorted child lists. */
function childLists(children: Map<number, number>, vocab: number, numEntries: number) {
  // Sorted keys group each entry's children together, in token order.
  const keys = Float64Array.from(children.keys()).sort();
  const childStart = new Int32Array(numEntries + 1);
  const childTokens = new Int32Array(keys.length);
  const childEntries = new Int32Array(keys.length);
  keys.forEach((key, c) => {
    const parent = Math.floor(key / vocab);
    childStart[parent + 1]++;
    childTokens[c] = key - parent * vocab;
    childEntries[c] = children.get(key)!;
  });
  for (let e = 0; e < numEntries; e++) childStart[e + 1] += childStart[e];
  return { childStart, childTokens, childEntries };
}
