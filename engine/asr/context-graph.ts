/**
 * Keyterm biasing for prefix beam search (contextual biasing, as in icefall
 * and sherpa-onnx's ContextGraph, written afresh): keyterm phrases spelt in
 * the acoustic model's tokens, as a trie with failure arcs (Aho-Corasick), so
 * one walk over a prefix's tokens follows every phrase at once. Owns the
 * phrases' tokenisation, the graph and the bonus of each step; pure. The
 * search (ctc.ts) keeps each prefix's node and its pending bonus.
 */
import { WORD_BOUNDARY } from './tokens.js';

/** A session's keyterms, as plain data (they travel to recognizer threads with its finals). */
export interface Keyterms {
  phrases: string[];
  /** Bonus per token of a keyterm spelt, in nats. */
  boostNats: number;
}

/**
 * Chosen on the keyterm evaluation set (eval/keyterms-set.json, `npm run
 * bench -- keyterms`, bench/README.md "Keyterms") with the demo model: each
 * step up finds more keyterms and moves the held-out set's WER further when
 * the keyterms are unrelated to what is said (partial matches hold a pending
 * bonus that crowds the beam until it is taken back). 2 nats found 68% of the
 * keyterms (1.5: 61%, 2.5: 75%, 3: 76%) with no distractor inserted, and moved
 * the held-out WER by +0.4 points with 20 unrelated keyterms (1.5: +0.2,
 * 2.5: +1.2): the most that stays within half a point. The same boost per
 * token is what keyterm spotting (keyterm-spotting.ts) allows a keyterm to
 * fall short of the words it replaces: with it, 2 finds 84% (1.5: 78%, 2.5:
 * 91%) with 1 sentence of 150 getting a distractor, and moves the held-out
 * WER by +0.46 points with 20 unrelated keyterms (1.5: +0.30, 2.5: +1.35).
 */
export const DEFAULT_KEYTERM_BOOST_NATS = 2;

/** Where a prefix stands in the graph: its node and the bonus it holds on a phrase not yet complete. */
export interface ContextState {
  node: number;
  /** Bonus earned on the unfinished match, taken back if the phrase is abandoned or the utterance ends. */
  pendingNats: number;
}

export const CONTEXT_ROOT: ContextState = { node: 0, pendingNats: 0 };

/** One step of a prefix through the graph. */
export interface ContextStep {
  state: ContextState;
  /** Added to the prefix's score for this token: a bonus, or a negative take-back. */
  scoreNats: number;
  /** Whether the token extends a match in progress (a keyterm being spelt). */
  extendsPhrase: boolean;
  /** Whether a phrase ends with this token. */
  completesPhrase: boolean;
}

/**
 * Splits a phrase into the model's tokens: each word starts with the word
 * boundary mark, and is covered by the longest symbols that match, left to
 * right (for character models one symbol per character; for word pieces the
 * greedy cover, which is close to, not always, what SentencePiece picks).
 * Models whose symbols have no capitals hear lowercase, so the phrase is
 * lowercased for them. Throws, naming the character, where no symbol covers it.
 */
export function tokenizePhrase(phrase: string, symbols: readonly string[]): number[] {
  const hasCapitals = symbols.some((s) => s.length === 1 && s !== s.toLowerCase());
  const text = hasCapitals ? phrase : phrase.toLowerCase();
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) throw new Error('empty keyterm');
  const idOf = new Map(symbols.map((s, i) => [s, i]));
  const longest = Math.max(...symbols.map((s) => s.length));
  const ids: number[] = [];
  for (const word of words) {
    const spelt = WORD_BOUNDARY + word;
    for (let i = 0; i < spelt.length; ) {
      let len = Math.min(longest, spelt.length - i);
      while (len > 0 && !idOf.has(spelt.slice(i, i + len))) len--;
      if (len === 0) throw new Error(`keyterm "${phrase}": the model has no token for "${spelt[i]}"`);
      ids.push(idOf.get(spelt.slice(i, i + len))!);
      i += len;
    }
  }
  return ids;
}

/**
 * Phrases as a trie over token ids with failure arcs. Each token that extends
 * a phrase earns `boostNats`; a completed phrase keeps what it earned; a match
 * that breaks off gives back what it had pending (so a partial match does not
 * leak into the result), and whatever the failure arc lands on is earned anew.
 */
export class ContextGraph {
  private readonly children: Map<number, number>[] = [new Map()];
  private readonly parent: number[] = [0];
  private readonly depth: number[] = [0];
  private readonly fail: number[] = [0];
  private readonly isEnd: boolean[] = [false];
  /** Bonus pending at each node: its tokens after the last phrase end on its path. */
  private readonly pendingNats: number[] = [0];

  constructor(
    phrases: readonly number[][],
    readonly boostNats: number,
  ) {
    for (const phrase of phrases) {
      let node = 0;
      for (const token of phrase) {
        let child = this.children[node].get(token);
        if (child === undefined) {
          child = this.children.length;
          this.children.push(new Map());
          this.parent.push(node);
          this.depth.push(this.depth[node] + 1);
          this.fail.push(0);
          this.isEnd.push(false);
          this.pendingNats.push(0);
          this.children[node].set(token, child);
        }
        node = child;
      }
      this.isEnd[node] = true;
    }
    // Breadth first, so a node's failure arc (the longest proper suffix of its
    // path that is also a path) is known before its children's.
    const queue = [...this.children[0].values()];
    for (let k = 0; k < queue.length; k++) {
      const node = queue[k];
      this.pendingNats[node] = this.isEnd[node] ? 0 : this.pendingNats[this.parent[node]] + boostNats;
      for (const [token, child] of this.children[node]) {
        this.fail[child] = this.goto(this.fail[node], token);
        queue.push(child);
      }
    }
  }

  /** Where `token` leads from `state`, and what it earns or gives back. */
  step(state: ContextState, token: number): ContextStep {
    const child = this.children[state.node].get(token);
    if (child !== undefined) {
      return {
        state: { node: child, pendingNats: this.isEnd[child] ? 0 : state.pendingNats + this.boostNats },
        scoreNats: this.boostNats,
        extendsPhrase: true,
        completesPhrase: this.isEnd[child],
      };
    }
    const node = state.node === 0 ? 0 : this.goto(this.fail[state.node], token);
    return {
      state: node === 0 ? CONTEXT_ROOT : { node, pendingNats: this.pendingNats[node] },
      scoreNats: this.depth[node] * this.boostNats - state.pendingNats,
      extendsPhrase: false,
      completesPhrase: this.isEnd[node],
    };
  }

  /**
   * What a phrase completed at `state` earned (0 where none ends there): the
   * search takes it back where the word goes on past the phrase's last token
   * ("grafana" a keyterm, "grafanar" said), which the graph, knowing tokens
   * but not words, cannot tell.
   */
  completedNats(state: ContextState): number {
    return this.isEnd[state.node] ? this.depth[state.node] * this.boostNats : 0;
  }

  /** Score of ending the utterance in `state`: the unfinished match's bonus given back. */
  end(state: ContextState): number {
    return -state.pendingNats;
  }

  /** The node `token` leads to from `node`, following failure arcs; the root where no suffix goes on with it. */
  private goto(node: number, token: number): number {
    for (;;) {
      const child = this.children[node].get(token);
      if (child !== undefined) return child;
      if (node === 0) return 0;
      node = this.fail[node];
    }
  }
}
