/**
 * Recognition of a batch of utterances, all of it: log-mel features, one
 * padded model call per group of similar lengths, then greedy or prefix beam
 * decoding fused with the language models (ctc-search.ts). It runs on a recognizer thread
 * (recognizer-worker.ts) around that thread's own model session, so none of
 * it touches the server's event loop. Results are plain data.
 */
import type { ModelFeeds, ModelOutputs } from '../onnx-runtime.js';
import type { Keyterms } from './context-graph.js';
import { CtcSearch, EMPTY_RESULT, type RecognitionResult, type SearchSpec } from './ctc-search.js';
import { computeLogMel, normalizePerFeature, putChannelMajor, FRAME_SHIFT_MS, NUM_MEL_BINS, PAD_LOG_VALUE, type LogMel } from './fbank.js';

export type { RecognitionResult } from './ctc-search.js';

/** Everything a decoder needs besides its model session: plain data, so it can be sent to a thread. */
export interface DecoderSpec extends SearchSpec {
  subsamplingFactor: number;
  normalizeType: string;
}

export type RunModel = (feeds: ModelFeeds) => Promise<ModelOutputs>;

export class BatchDecoder {
  private readonly search: CtcSearch;

  constructor(
    private readonly spec: DecoderSpec,
    private readonly runModel: RunModel,
    /** The model output holding the log-probabilities. */
    private readonly outputName: string,
  ) {
    this.search = new CtcSearch(spec, FRAME_SHIFT_MS * spec.subsamplingFactor);
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
    for (const group of lengthGroups(live, (i) => feats[i].numFrames)) await this.runGroup(feats, group, partial, keyterms, results);
    return results;
  }

  /** One padded model call over `group` (indices into `feats`), results into `results`. */
  private async runGroup(feats: LogMel[], group: number[], partial: boolean[], keyterms: (Keyterms | undefined)[], results: RecognitionResult[]): Promise<void> {
    const batch = group.length;
    const maxFrames = Math.max(...group.map((i) => feats[i].numFrames));
    // [B, C, T], padded frames hold log(1e-10) as in sherpa-onnx.
    const input = new Float32Array(batch * NUM_MEL_BINS * maxFrames).fill(PAD_LOG_VALUE);
    const lengths = new BigInt64Array(batch);
    group.forEach((src, b) => {
      lengths[b] = BigInt(feats[src].numFrames);
      putChannelMajor(feats[src], input, b * NUM_MEL_BINS * maxFrames, maxFrames);
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
      results[src] = this.search.decode(data, b * outFrames * vocab, frames, vocab, partial[src] ?? false, keyterms[src]);
    });
  }
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
