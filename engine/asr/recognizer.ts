/**
 * The batched CTC recognizer for models in sherpa-onnx's NeMo CTC export
 * format: `features` [B, 80, T] + `features_length` [B] in, log-probabilities
 * [B, T', V] out, with `vocab_size`, `subsampling_factor` and `normalize_type`
 * in the ONNX metadata. N utterances of any lengths become one padded model
 * call and N results. The model runs on its own thread (../model-thread.ts);
 * features and decoding stay on the caller's.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelThread } from '../model-thread.js';
import { computeLogMel, normalizePerFeature, FRAME_SHIFT_MS, NUM_MEL_BINS, PAD_LOG_VALUE, type LogMel } from './fbank.js';
import { readOnnxMetadata } from './onnx-metadata.js';
import { DEFAULT_PRUNING, greedyDecode, joinWords, prefixBeamSearch, type RecognizedWord, type SearchPruning } from './ctc.js';
import { parseTokens, type TokenTable } from './tokens.js';
import { lexiconOf, type LmFusion } from './lm-fusion.js';
import { NgramLm } from './ngram-lm.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface RecognizerOptions {
  modelPath: string;
  tokensPath: string;
  /** Shown in `ready` and logs; defaults to the model's folder name. */
  name?: string;
  executionProvider?: ExecutionProvider;
  /** onnxruntime intra-op threads (0 = its default). */
  numThreads?: number;
  /**
   * How finals are decoded (default: 'beam' with a language model of either kind, else 'greedy');
   * partials are always greedy (they are replaced within a second).
   */
  decoding?: 'greedy' | 'beam';
  beamSize?: number;
  /** The beam search's pruning limits (ctc.ts). */
  tokenFloorNats?: number;
  scoreWindowNats?: number;
  /** ARPA token language model, fused into beam decoding (see ngram-lm.ts). */
  lmPath?: string;
  lmWeight?: number;
  lmTokenBonus?: number;
  /** ARPA word language model for beam decoding, alone or with the token one; its 1-grams are the lexicon (see lm-fusion.ts). */
  wordLmPath?: string;
  wordLmWeight?: number;
  wordBonus?: number;
  oovPenalty?: number;
}

export interface RecognitionResult {
  text: string;
  tokens: string[];
  /** Time of each token from the start of the utterance. */
  tokenTimesMs: number[];
  words: RecognizedWord[];
}

/**
 * Tuned on the first half of the demo model's held-out set (models/demo-en-ctc/README.md):
 * 64 prefixes gain ~1.5 WER points over 16 (8 -> 16 gained ~1), 128 another
 * ~0.2 (256 nothing more); the word LM ~2 more. The LM weights follow the
 * acoustic model: each better model has trusted its token LM less (1 / 1, then
 * 0.7 / 0.9, 0.3 / 0.7, now 0.15 / 0.7), and leans on the lexicon more: a word
 * outside it now costs 14 (10 before; 16 scores the same) and each word earns
 * a bonus of 1 (1.5 before). With the search's pruning (ctc.ts) a final costs
 * ~45 ms of search.
 */
export const DEFAULT_BEAM_DECODING = { beamSize: 128, ...DEFAULT_PRUNING, lmWeight: 0.15, lmTokenBonus: 1.5, wordLmWeight: 0.7, wordBonus: 1, oovPenalty: 14 };

const EMPTY_RESULT: RecognitionResult = { text: '', tokens: [], tokenTimesMs: [], words: [] };

export class CtcRecognizer {
  private constructor(
    private readonly model: ModelThread,
    private readonly tokens: TokenTable,
    readonly name: string,
    readonly subsamplingFactor: number,
    readonly normalizeType: string,
    private readonly decoding: 'greedy' | 'beam',
    private readonly beamSize: number,
    private readonly pruning: SearchPruning,
    private readonly fusion: LmFusion | undefined,
  ) {}

  static async load(opts: RecognizerOptions): Promise<CtcRecognizer> {
    const lmPaths = [opts.lmPath, opts.wordLmPath].filter(Boolean);
    if (lmPaths.length > 0 && opts.decoding === 'greedy') {
      throw new Error(`a language model (${lmPaths.join(', ')}) needs beam decoding; greedy decoding cannot use one`);
    }
    const tokens = parseTokens(await readFile(opts.tokensPath, 'utf8'));
    const provider = opts.executionProvider ?? 'cpu';
    const modelBytes = await readFile(opts.modelPath);
    const meta = readOnnxMetadata(modelBytes);
    const vocabSize = Number(meta.vocab_size);
    const subsampling = Number(meta.subsampling_factor);
    if (!Number.isInteger(subsampling) || subsampling < 1) {
      throw new Error(`${opts.modelPath}: metadata subsampling_factor missing or invalid (got "${meta.subsampling_factor}")`);
    }
    if (vocabSize !== tokens.symbols.length) {
      throw new Error(`${opts.modelPath}: metadata vocab_size ${meta.vocab_size} != ${tokens.symbols.length} tokens in ${opts.tokensPath}`);
    }
    const model = await ModelThread.start({
      modelBytes,
      options: {
        executionProviders: provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
        intraOpNumThreads: opts.numThreads ?? 0,
        graphOptimizationLevel: 'all',
      },
    });
    const missing = ['features', 'features_length'].find((input) => !model.inputNames.includes(input));
    if (missing) {
      await model.close();
      throw new Error(`${opts.modelPath}: model has no input "${missing}" (inputs: ${model.inputNames.join(', ')})`);
    }
    return new CtcRecognizer(
      model,
      tokens,
      opts.name ?? path.basename(path.dirname(opts.modelPath)),
      subsampling,
      meta.normalize_type ?? '',
      opts.decoding ?? (lmPaths.length > 0 ? 'beam' : 'greedy'),
      opts.beamSize ?? DEFAULT_BEAM_DECODING.beamSize,
      {
        tokenFloorNats: opts.tokenFloorNats ?? DEFAULT_BEAM_DECODING.tokenFloorNats,
        scoreWindowNats: opts.scoreWindowNats ?? DEFAULT_BEAM_DECODING.scoreWindowNats,
      },
      lmPaths.length > 0 ? lmFusion(opts, tokens) : undefined,
    );
  }

  /** Milliseconds per output frame. */
  get outputFrameMs(): number {
    return FRAME_SHIFT_MS * this.subsamplingFactor;
  }

  /**
   * Recognizes 16 kHz utterances (samples in [-1, 1]) in as few model calls as
   * padding allows: sorted by length, utterances share a call while padding
   * adds at most MAX_PADDING_SHARE of work (a 2 s partial padded to a 15 s
   * final would cost more than two calls). `partial[i]` marks utterances
   * decoded greedily whatever `decoding` says.
   */
  async recognizeBatch(utterances16k: Float32Array[], partial: boolean[] = []): Promise<RecognitionResult[]> {
    const feats = utterances16k.map((u) => {
      const m = computeLogMel(u);
      return this.normalizeType === 'per_feature' && m.numFrames > 0 ? normalizePerFeature(m) : m;
    });
    const results: RecognitionResult[] = utterances16k.map(() => EMPTY_RESULT);
    const live = feats.map((f, i) => i).filter((i) => feats[i].numFrames > 0);
    for (const group of lengthGroups(live, (i) => feats[i].numFrames)) await this.runGroup(feats, group, partial, results);
    return results;
  }

  /** One padded model call over `group` (indices into `feats`), results into `results`. */
  private async runGroup(feats: LogMel[], group: number[], partial: boolean[], results: RecognitionResult[]): Promise<void> {
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
    const outputs = await this.model.run({
      features: { type: 'float32', data: input, dims: [batch, NUM_MEL_BINS, maxFrames] },
      features_length: { type: 'int64', data: lengths, dims: [batch] },
    });
    const { data, dims } = outputs[this.model.outputNames[0]];
    const [, outFrames, vocab] = dims;
    group.forEach((src, b) => {
      // sherpa-onnx takes floor(T / subsampling) frames of each utterance.
      const frames = Math.min(outFrames, Math.floor(feats[src].numFrames / this.subsamplingFactor));
      results[src] = this.decode(data, b * outFrames * vocab, frames, vocab, this.decoding === 'beam' && !partial[src]);
    });
  }

  private decode(logProbs: Float32Array, offset: number, frames: number, vocab: number, beam: boolean): RecognitionResult {
    const hyp = beam
      ? prefixBeamSearch(logProbs, offset, frames, vocab, this.tokens.blankId, this.beamSize, this.fusion, this.pruning)
      : greedyDecode(logProbs, offset, frames, vocab, this.tokens.blankId);
    const words = joinWords(hyp, this.tokens, this.outputFrameMs);
    return {
      text: words.map((w) => w.word).join(' '),
      tokens: hyp.tokenIds.map((id) => this.tokens.symbols[id]),
      tokenTimesMs: hyp.frames.map((f) => f * this.outputFrameMs),
      words,
    };
  }

  async close(): Promise<void> {
    await this.model.close();
  }
}

function lmFusion(opts: RecognizerOptions, tokens: TokenTable): LmFusion {
  const d = DEFAULT_BEAM_DECODING;
  const wordLm = opts.wordLmPath ? NgramLm.load(opts.wordLmPath) : undefined;
  return {
    symbols: tokens.symbols,
    tokens: opts.lmPath ? { lm: NgramLm.load(opts.lmPath), weight: opts.lmWeight ?? d.lmWeight, tokenBonus: opts.lmTokenBonus ?? d.lmTokenBonus } : undefined,
    words: wordLm && {
      lm: wordLm,
      lexicon: lexiconOf(wordLm),
      weight: opts.wordLmWeight ?? d.wordLmWeight,
      wordBonus: opts.wordBonus ?? d.wordBonus,
      oovPenalty: opts.oovPenalty ?? d.oovPenalty,
    },
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
