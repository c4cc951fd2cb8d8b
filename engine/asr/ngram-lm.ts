/**
 * A token n-gram language model read from an ARPA file (plain, or gzipped
 * when the name ends in .gz), over the acoustic model's own tokens: for a
 * character model, its characters with '▁' between words; for a BPE model,
 * its word pieces. Prefix beam search adds its scores to the acoustic ones
 * (shallow fusion), which turns near-miss spellings into words the model's
 * language has.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

interface Entry {
  /** Natural log. */
  logProb: number;
  /** Natural log; 0 where the file gives none. */
  logBackoff: number;
}

const LN_10 = Math.log(10);
/** log P of a token the model has never seen: ARPA's conventional -99 would swamp the acoustic score. */
const UNKNOWN_TOKEN_LOG_PROB = -10 * LN_10;

export class NgramLm {
  private constructor(
    readonly order: number,
    private readonly entries: Map<string, Entry>,
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

  /** Parses ARPA text (pure; exported for tests). */
  static parseArpa(text: string): NgramLm {
    const entries = new Map<string, Entry>();
    const declared: number[] = [];
    let section = 0; // 0: header, n: inside \n-grams:
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
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
      const logProb = Number(fields[0]);
      const hasBackoff = fields.length === section + 2;
      if (!Number.isFinite(logProb) || (fields.length !== section + 1 && !hasBackoff)) {
        throw new Error(`ARPA line ${i + 1}: expected "logprob ${section} token(s) [backoff]", got "${line}"`);
      }
      entries.set(fields.slice(1, section + 1).join(' '), {
        logProb: logProb * LN_10,
        logBackoff: hasBackoff ? Number(fields[section + 1]) * LN_10 : 0,
      });
    }
    const order = declared.length - 1;
    if (order < 1) throw new Error('no "\\data\\" section with ngram counts: not an ARPA file');
    return new NgramLm(order, entries);
  }

  /**
   * Natural-log P(token | context); the context's oldest tokens beyond
   * order - 1 are ignored. Unseen n-grams back off to shorter contexts.
   */
  logProb(context: readonly string[], token: string): number {
    let backoff = 0;
    for (let k = Math.min(this.order - 1, context.length); k >= 0; k--) {
      const history = context.slice(context.length - k);
      const hit = this.entries.get(k === 0 ? token : `${history.join(' ')} ${token}`);
      if (hit) return backoff + hit.logProb;
      if (k > 0) backoff += this.entries.get(history.join(' '))?.logBackoff ?? 0;
    }
    return backoff + UNKNOWN_TOKEN_LOG_PROB;
  }
}
