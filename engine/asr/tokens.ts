/**
 * The acoustic model's token table (sherpa-onnx's tokens.txt) and the mark
 * that starts a word among its symbols.
 */

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
