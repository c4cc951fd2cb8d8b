/**
 * Recognition of a batch of utterances, all of it: log-mel features, one
 * padded model call per group of similar lengths, then greedy or prefix beam
 * decoding fused with the language models. It runs on a recognizer thread
 * (recognizer-worker.ts) around that thread's own model session, so none of
 * it touches the server's event loop. Results are plain data.
 */
import type { ModelFeeds, ModelOutputs } from '../onnx-runtime.js';
import { ContextGraph, tokenizePhrase, type Keyterms } from './context-graph.js';
import { greedyDecode, joinWords, prefixBeamSearch, type RecognizedWord, type SearchPruning } from './ctc.js';
import { computeLogMel, normalizePerFeature, FRAME_SHIFT_MS, NUM_MEL_BINS, PAD_LOG_VALUE, type LogMel } from './fbank.js';
import { lexiconOf, TokenScoreCache, type LmFusion } from './lm-fusion.js';
import { NgramLm } from './ngram-lm.js';
import { parseTokens, type TokenTable } from './tokens.js';

export interface RecognitionResult {
  text: string;
  tokens: string[];
  /** Time of each token from the start of the utterance. */
  tokenTimesMs: number[];
  words: RecognizedWord[];
}

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

/** Everything a decoder needs besides its model session: plain data, so it can be sent to a thread. */
export interface DecoderSpec {
  tokensText: string;
  subsamplingFactor: number;
  normalizeType: string;
  /** How finals are decoded; partials are always greedy. */
  decoding: 'greedy' | 'beam';
  beamSize: number;
  pruning: SearchPruning;
  lm: LmSpec;
}

export type RunModel = (feeds: ModelFeeds) => Promise<ModelOutputs>;

/**
 * Keyterm graphs kept by a decoder, by their keyterms' content: a session's
 * finals reuse its graph, and sessions with the same list share one (they
 * share nothing else). A graph at the protocol's limits (100 phrases of 50
 * characters: 5k nodes, a Map each) measured 1.2 MiB, so 16 of them stay
 * under 20 MiB per recognizer thread; a few names take a few KiB.
 */
const MAX_KEYTERM_GRAPHS = 16;

const EMPTY_RESULT: RecognitionResult = { text: '', tokens: [], tokenTimesMs: [], words: [] };

export class BatchDecoder {
  private readonly tokens: TokenTable;
  private readonly fusion: LmFusion | undefined;
  /** Oldest first, so the first is the one to forget. */
  private readonly keytermGraphs = new Map<string, ContextGraph>();

  constructor(
    private readonly spec: DecoderSpec,
    private readonly runModel: RunModel,
    /** The model output holding the log-probabilities. */
    private readonly outputName: string,
  ) {
    this.tokens = parseTokens(spec.tokensText);
    this.fusion = spec.lm.lmPath || spec.lm.wordLmPath ? lmFusion(spec.lm, this.tokens) : undefined;
  }

  /** Milliseconds per output frame. */
  get outputFrameMs(): number {
    return FRAME_SHIFT_MS * this.spec.subsamplingFactor;
  }

  /**
   * Recognizes 16 kHz utterances (samples in [-1, 1]) in as few model calls as
   * padding allows: sorted by length, utterances share a call while padding
   * adds at most MAX_PADDING_SHARE of work (a 2 s partial padded to a 15 s
   * final would cost more than two calls). `partial[i]` marks utterances
   * decoded greedily whatever `decoding` says; `keyterms[i]` biases the beam
   * search of utterance i (greedy decoding takes none).
   */
  async recognizeBatch(utterances16k: Float32Array[], partial: boolean[] = [], keyterms: (Keyterms | undefined)[] = []): Promise<RecognitionResult[]> {
    const feats = utterances16k.map((u) => {
      const m = computeLogMel(u);
      return this.spec.normalizeType === 'per_feature' && m.numFrames > 0 ? normalizePerFeature(m) : m;
    });
    const results: RecognitionResult[] = utterances16k.map(() => EMPTY_RESULT);
    const live = feats.map((f, i) => i).filter((i) => feats[i].numFrames > 0);
    const graphs = keyterms.map((k) => k && this.keytermGraph(k));
    for (const group of lengthGroups(live, (i) => feats[i].numFrames)) await this.runGroup(feats, group, partial, graphs, results);
    return results;
  }

  /** One padded model call over `group` (indices into `feats`), results into `results`. */
  private async runGroup(feats: LogMel[], group: number[], partial: boolean[], graphs: (ContextGraph | undefined)[], results: RecognitionResult[]): Promise<void> {
    const batch = group.length;
    const maxFrames = Math.max(...group.map((i) => feats[i].numFrames));
    // [B, C, T], padded frames hold log(1e-10) as in sherpa-onnx.
    const input = new Float32Array(batch * NUM_MEL_BINS * maxFrames).fill(PAD_LOG_VALUE);
    const lengths = new BigInt64Array(batch);
    group.forEach((src, b) => {
      const { data, numFrames } = feats[src];
      lengths[b] = BigInt(numFrames);
      const base = b * NUM_MEL_BINS * maxFrames;
      for (let t = 0; t < numFrames; t++) {
        for (let c = 0; c < NUM_MEL_BINS; c++) input[base + c * maxFrames + t] = data[t * NUM_MEL_BINS + c];
      }
    });
    const outputs = await this.runModel({
      features: { type: 'float32', data: input, dims: [batch, NUM_MEL_BINS, maxFrames] },
      features_length: { type: 'int64', data: lengths, dims: [batch] },
    });
    const { data, dims } = outputs[this.outputName];
    const [, outFrames, vocab] = dims;
    group.forEach((src, b) => {
      // sherpa-onnx takes floor(T / subsampling) frames of each utterance.
      const frames = Math.min(outFrames, Math.floor(feats[src].numFrames / this.spec.subsamplingFactor));
      results[src] = this.decode(data, b * outFrames * vocab, frames, vocab, this.spec.decoding === 'beam' && !partial[src], graphs[src]);
    });
  }

  /** The graph of `keyterms`, built on first use (throws for a phrase the model has no tokens for). */
  private keytermGraph(keyterms: Keyterms): ContextGraph {
    const key = JSON.stringify([keyterms.phrases, keyterms.boostNats]);
    let graph = this.keytermGraphs.get(key);
    if (!graph) {
      graph = new ContextGraph(keyterms.phrases.map((p) => tokenizePhrase(p, this.tokens.symbols)), keyterms.boostNats);
      if (this.keytermGraphs.size === MAX_KEYTERM_GRAPHS) this.keytermGraphs.delete(this.keytermGraphs.keys().next().value!);
      this.keytermGraphs.set(key, graph);
    }
    return graph;
  }

  private decode(logProbs: Float32Array, offset: number, frames: number, vocab: number, beam: boolean, keyterms: ContextGraph | undefined): RecognitionResult {
    const hyp = beam
      ? prefixBeamSearch(logProbs, offset, frames, vocab, this.tokens.blankId, this.spec.beamSize, this.fusion, this.spec.pruning, keyterms)
      : greedyDecode(logProbs, offset, frames, vocab, this.tokens.blankId);
    const words = joinWords(hyp, this.tokens, this.outputFrameMs);
    return {
      text: words.map((w) => w.word).join(' '),
      tokens: hyp.tokenIds.map((id) => this.tokens.symbols[id]),
      tokenTimesMs: hyp.frames.map((f) => f * this.outputFrameMs),
      words,
    };
  }
}

function lmFusion(spec: LmSpec, tokens: TokenTable): LmFusion {
  const wordLm = spec.wordLmPath ? NgramLm.load(spec.wordLmPath) : undefined;
  return {
    symbols: tokens.symbols,
    tokens: spec.lmPath ? { lm: NgramLm.load(spec.lmPath), weight: spec.lmWeight, tokenBonus: spec.lmTokenBonus, scoreCache: new TokenScoreCache() } : undefined,
    words: wordLm && { lm: wordLm, lexicon: lexiconOf(wordLm), weight: spec.wordLmWeight, wordBonus: spec.wordBonus, oovPenalty: spec.oovPenalty },
  };
}

/** Padding may add at most this share of real frames to a model call. */
const MAX_PADDING_SHARE = 0.25;

/** Splits `items` into groups of similar length, shortest first (pure; exported for tests). */
export function lengthGroups(items: number[], lengthOf: (item: number) => number): number[][] {
  const sorted = [...items].sort((a, b) => lengthOf(a) - lengthOf(b));
  const groups: number[][] = [];
  let group: number[] = [];
  let frames = 0;
  for (const item of sorted) {
    const len = lengthOf(item);
    // Sorted ascending, so `len` is the group's padded length if the item joins.
    if (group.length > 0 && len * (group.length + 1) > (1 + MAX_PADDING_SHARE) * (frames + len)) {
      groups.push(group);
      group = [];
      frames = 0;
    }
    group.push(item);
    frames += len;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
