/**
 * The batched CTC recognizer for models in sherpa-onnx's NeMo CTC export
 * format: `features` [B, 80, T] + `features_length` [B] in, log-probabilities
 * [B, T', V] out, with `vocab_size`, `subsampling_factor` and `normalize_type`
 * in the ONNX metadata. N utterances of any lengths become N results in as
 * few padded model calls as their lengths allow (batch-decoder.ts).
 *
 * All of it (features, the model call, the greedy or beam search with the
 * language models) runs on recognizer threads (recognizer-worker.ts), each
 * with its own model session: the event loop only posts a batch and takes its
 * results back, one round trip per batch. With several threads, as many
 * batches run at once; the scheduler keeps them busy (`parallelism`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ort } from '../onnx-runtime.js';
import type { ModelInfo } from '../model-thread.js';
import { WorkerRpc } from '../worker-rpc.js';
import type { DecoderSpec, RecognitionResult } from './batch-decoder.js';
import type { SearchSpec } from './ctc-search.js';
import type { Keyterms } from './context-graph.js';
import { DEFAULT_PRUNING } from './ctc.js';
import { readDecodingFile } from './decoding-file.js';
import { FRAME_SHIFT_MS } from './fbank.js';
import { readOnnxMetadata } from './onnx-metadata.js';
import { parseTokens, type TokenTable } from './tokens.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface RecognizerOptions {
  modelPath: string;
  tokensPath: string;
  /** Shown in `ready` and logs; defaults to the model's folder name. */
  name?: string;
  executionProvider?: ExecutionProvider;
  /** onnxruntime intra-op threads of each recognizer thread (0 = its default: one per core). */
  numThreads?: number;
  /** Recognizer threads, each with its own model session (default 1). */
  threads?: number;
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

/**
 * The beam size is chosen by accuracy and cost together (bench/README.md,
 * "Beam size"): on the demo model's held-out set with both LMs, 32 prefixes
 * give 15.6% WER against 15.2% at 64 and 14.8% at 128 (16: 19.3%), and
 * under load 32 streams' final p95 is 955 ms at 32 prefixes against 6.9 s at
 * 128 on this 2-core machine. The LM weights were tuned on the first half of
 * that set (models/demo-en-ctc/HISTORY.md) and follow the acoustic model:
 * each better model has trusted its token LM less (now 0.15 / 0.7) and leans
 * on the lexicon more: a word outside it costs 14 and each word earns a
 * bonus of 1. Another model may want other values for all of these: its
 * folder's decoding.json (decoding-file.ts) overrides any of them.
 */
export const DEFAULT_BEAM_DECODING = { beamSize: 32, ...DEFAULT_PRUNING, lmWeight: 0.15, lmTokenBonus: 1.5, wordLmWeight: 0.7, wordBonus: 1, oovPenalty: 14 };

/** What a recognizer thread is started with. */
export interface RecognizerThreadInit {
  modelPath: string;
  options: ort.InferenceSession.SessionOptions;
  spec: DecoderSpec;
}

/** One call to a recognizer thread: a whole batch. */
export interface RecognizeRequest {
  utterances: Float32Array[];
  partial: boolean[];
  keyterms: (Keyterms | undefined)[];
}

type RecognizerThread = WorkerRpc<RecognizeRequest, RecognitionResult[], ModelInfo>;

const WORKER_ENTRY = new URL('./recognizer-worker.ts', import.meta.url).href;

/** What both recognizers (offline here, streaming in streaming-recognizer.ts) read and decide before starting their threads. */
export async function recognizerSetup(opts: RecognizerOptions): Promise<{
  tokensText: string;
  tokens: TokenTable;
  meta: Record<string, string>;
  options: ort.InferenceSession.SessionOptions;
  search: SearchSpec;
}> {
  const lmPaths = [opts.lmPath, opts.wordLmPath].filter(Boolean);
  if (lmPaths.length > 0 && opts.decoding === 'greedy') {
    throw new Error(`a language model (${lmPaths.join(', ')}) needs beam decoding; greedy decoding cannot use one`);
  }
  const tokensText = await readFile(opts.tokensPath, 'utf8');
  // Given settings first, then the model folder's decoding.json, then the engine-wide defaults.
  const d = { ...DEFAULT_BEAM_DECODING, ...readDecodingFile(opts.modelPath) };
  return {
    tokensText,
    tokens: parseTokens(tokensText),
    meta: readOnnxMetadata(await readFile(opts.modelPath)),
    options: {
      executionProviders: opts.executionProvider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      intraOpNumThreads: opts.numThreads ?? 0,
      graphOptimizationLevel: 'all',
    },
    search: {
      tokensText,
      decoding: opts.decoding ?? (lmPaths.length > 0 ? 'beam' : 'greedy'),
      beamSize: opts.beamSize ?? d.beamSize,
      pruning: { tokenFloorNats: opts.tokenFloorNats ?? d.tokenFloorNats, scoreWindowNats: opts.scoreWindowNats ?? d.scoreWindowNats },
      lm: {
        lmPath: opts.lmPath,
        lmWeight: opts.lmWeight ?? d.lmWeight,
        lmTokenBonus: opts.lmTokenBonus ?? d.lmTokenBonus,
        wordLmPath: opts.wordLmPath,
        wordLmWeight: opts.wordLmWeight ?? d.wordLmWeight,
        wordBonus: opts.wordBonus ?? d.wordBonus,
        oovPenalty: opts.oovPenalty ?? d.oovPenalty,
      },
    },
  };
}

/** Starts `count` threads of `entry`; if any fails, closes the others and throws its reason. */
export async function startThreads<Req, Res, Info>(entry: string, init: unknown, count: number, label: string): Promise<WorkerRpc<Req, Res, Info>[]> {
  const started = await Promise.allSettled(Array.from({ length: Math.max(1, count) }, () => WorkerRpc.start<Req, Res, Info>(entry, init, label)));
  const threads = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(threads.map((t) => t.close()));
    throw (failed as PromiseRejectedResult).reason;
  }
  return threads;
}

/** The thread with the fewest calls in flight. */
export function leastBusy<T extends { inFlight: number }>(threads: readonly T[]): T {
  return threads.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
}

export class CtcRecognizer {
  private constructor(
    private readonly threads: RecognizerThread[],
    readonly name: string,
    readonly subsamplingFactor: number,
    /** The model's token symbols (tokens.txt), by id. */
    readonly symbols: readonly string[],
  ) {}

  static async load(opts: RecognizerOptions): Promise<CtcRecognizer> {
    const { tokens, meta, options, search } = await recognizerSetup(opts);
    const vocabSize = Number(meta.vocab_size);
    const subsampling = Number(meta.subsampling_factor);
    if (!Number.isInteger(subsampling) || subsampling < 1) {
      throw new Error(`${opts.modelPath}: metadata subsampling_factor missing or invalid (got "${meta.subsampling_factor}")`);
    }
    if (vocabSize !== tokens.symbols.length) {
      throw new Error(`${opts.modelPath}: metadata vocab_size ${meta.vocab_size} != ${tokens.symbols.length} tokens in ${opts.tokensPath}`);
    }
    const init: RecognizerThreadInit = {
      modelPath: opts.modelPath,
      options,
      spec: { ...search, subsamplingFactor: subsampling, normalizeType: meta.normalize_type ?? '' },
    };
    const threads = await startThreads<RecognizeRequest, RecognitionResult[], ModelInfo>(WORKER_ENTRY, init, opts.threads ?? 1, 'recognizer thread');
    const missing = ['features', 'features_length'].find((input) => !threads[0].info.inputNames.includes(input));
    if (missing) {
      await Promise.all(threads.map((t) => t.close()));
      throw new Error(`${opts.modelPath}: model has no input "${missing}" (inputs: ${threads[0].info.inputNames.join(', ')})`);
    }
    return new CtcRecognizer(threads, opts.name ?? path.basename(path.dirname(opts.modelPath)), subsampling, tokens.symbols);
  }

  /** Milliseconds per output frame. */
  get outputFrameMs(): number {
    return FRAME_SHIFT_MS * this.subsamplingFactor;
  }

  /** Batches that can run at once: one per recognizer thread. */
  get parallelism(): number {
    return this.threads.length;
  }

  /**
   * Recognizes 16 kHz utterances (samples in [-1, 1]) on the least busy
   * recognizer thread (the utterances are copied there; the caller keeps
   * its arrays). `partial[i]` marks utterances decoded greedily whatever the
   * decoding of finals is; `keyterms[i]` biases the beam search of utterance i.
   */
  recognizeBatch(utterances16k: Float32Array[], partial: boolean[] = [], keyterms: (Keyterms | undefined)[] = []): Promise<RecognitionResult[]> {
    return leastBusy(this.threads).call({ utterances: utterances16k, partial, keyterms });
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()));
  }
}
