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
 * Stored as a trie with numeric keys: entry e's child for token t is
 * children.get(e * vocab + t), and entries 0..vocab-1 are the unigrams, so an
 * LM of a few hundred thousand n-grams takes a few MB instead of the ~100 MB
 * that string-keyed maps of objects took.
 */
export class NgramLm {
  private constructor(
    readonly order: number,
    private readonly symbolIds: Map<string, number>,
    private readonly children: Map<number, number>,
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
      const e = walk(symbolIds, children, fields.slice(1, section));
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
    return new NgramLm(order, symbolIds, children, Float32Array.from(logProbs), Float32Array.from(logBackoffs));
  }

  /** Its 1-grams' symbols. */
  vocabulary(): string[] {
    return [...this.symbolIds.keys()];
  }

  /**
   * Natural-log P(token | context); the context's oldest tokens beyond
   * order - 1 are ignored. Unseen n-grams back off to shorter contexts.
   */
  logProb(context: readonly string[], token: string): number {
    return this.scoreAfter(this.histories(context), token);
  }

  /**
   * logProb(context, t) for each of `tokens`, walking the context once: what
   * a beam search asks of every new prefix (the walks were most of its time).
   */
  logProbsAfter(context: readonly string[], tokens: readonly string[]): Float64Array {
    const histories = this.histories(context);
    return Float64Array.from(tokens, (token) => this.scoreAfter(histories, token));
  }

  /** The entries of the context's last k tokens, longest first (k = order - 1 .. 1); -1 where unseen. */
  private histories(context: readonly string[]): number[] {
    const longest = Math.min(this.order - 1, context.length);
    const out: number[] = [];
    for (let k = longest; k > 0; k--) out.push(walk(this.symbolIds, this.children, context, context.length - k));
    return out;
  }

  private scoreAfter(histories: readonly number[], token: string): number {
    const id = this.symbolIds.get(token);
    let backoff = 0;
    for (const history of histories) {
      if (history < 0) continue; // an unseen history backs off for free
      const hit = id === undefined ? undefined : this.children.get(history * this.symbolIds.size + id);
      if (hit !== undefined) return backoff + this.logProbs[hit];
      backoff += this.logBackoffs[history];
    }
    return backoff + (id === undefined ? UNKNOWN_TOKEN_LOG_PROB : this.logProbs[id]);
  }
}

/** The trie entry of the n-gram `symbols[from..]` (oldest first), or -1 if it is not in the model. */
function walk(symbolIds: Map<string, number>, children: Map<number, number>, symbols: readonly string[], from = 0): number {
  let e = -1;
  for (let i = from; i < symbols.length; i++) {
    const id = symbolIds.get(symbols[i]);
    if (id === undefined) return -1;
    e = e < 0 ? id : (children.get(e * symbolIds.size + id) ?? -1);
    if (e < 0) return -1;
  }
  return e;
}
