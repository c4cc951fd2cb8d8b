/**
 * Tuning of the streaming diarizer: the defaults, and the checks that keep the
 * values inside what the ring buffers and the model allow.
 */
import type { PowersetDecoding } from './powerset.js';
import type { SpeakerEmbedder } from './embedding.js';
import { FRAME_STEP_MS, SAMPLE_RATE_HZ, WINDOW_SAMPLES } from './frames.js';

export interface DiarizationOptions {
  /** pyannote segmentation-3.0 ONNX (input x [N, 1, 160000] → y [N, 589, 7]). */
  segmentationModelPath: string;
  /** How far the 10 s window moves between model runs. Default 500. */
  stepMs?: number;
  /**
   * How long a frame keeps collecting windows before its label is final
   * (committed); a frame's final activity is the mean of ~latencyMs / stepMs + 1
   * windows. Default 1000.
   */
  latencyMs?: number;
  /** How powerset classes become speaker activities (see powerset.ts). Default 'soft'. */
  decoding?: PowersetDecoding;
  /** Optional embedding model for re-identifying speakers who return after a long silence. */
  embedding?: SpeakerEmbedder;
  /**
   * Or a speaker-embedding ONNX file (sherpa-onnx's WeSpeaker, 3D-Speaker or
   * NeMo exports: embedding-contract.ts), loaded and released by the engine.
   */
  speakerEmbeddingModelPath?: string;
  /** Cosine distance under which an embedding joins a known speaker. Default 0.6; depends on the model. */
  maxCosineDistance?: number;
  /**
   * Cosine distance between two speakers' centroids under which they are
   * merged into one (a speaker_update for the labels already given).
   * Default: maxCosineDistance. 0 turns merging off.
   */
  mergeCosineDistance?: number;
  /**
   * Embeddings each of two speakers needs before they may be merged (one per
   * window with enough clean speech, so about one per step while they
   * speak). Default 2.
   */
  minMergeEmbeddings?: number;
  /** Clean speech a local speaker needs in a window to be embedded. Default 1000. */
  minEmbeddingSpeechMs?: number;
  /** Speech a window-local speaker needs (frames at activity 0.5 or more) before it may become a new speaker (without embeddings). Default 700. */
  minNewSpeakerMs?: number;
  /** Committed labels remembered per stream for speakerFor. Default 600000 (10 min). */
  historyMs?: number;
  /** Most windows in one model call. Default 32. */
  maxBatchWindows?: number;
  /**
   * onnxruntime intra-op threads. Default 0: one per core. A single window
   * parallelises poorly, a batch of windows well: on 2 cores, 8 windows cost
   * 1.5x less as one call than as 8 (no difference with one thread; bench/diarization.ts).
   */
  intraOpThreads?: number;
}

export interface StreamConfig {
  stepSamples: number;
  latencyMs: number;
  decoding: PowersetDecoding;
  /**
   * How a frame's speakers come out of the aggregation: 'count' (the windows'
   * mean speaker count, rounded, filled by the most active speakers; see
   * timeline.ts) or 'threshold' (every speaker whose mean reaches activityThreshold).
   */
  aggregation: 'count' | 'threshold';
  /** Mean activity from which a speaker counts as speaking on a frame ('threshold'). */
  activityThreshold: number;
  /** Mean activity under which a speaker is not picked to fill the count ('count'). */
  minActivity: number;
  /** Activity from which a local speaker's frame counts towards minNewSpeakerMs (0: sum the activity). */
  newSpeakerActivity: number;
  /** See linking.ts. */
  minAgreement: number;
  minSharedMs: number;
  minNewSpeakerMs: number;
  minEmbeddingSpeechMs: number;
  maxCosineDistance: number;
  mergeCosineDistance: number;
  /** Embeddings each of two centroids needs before they may be merged. */
  minMergeEmbeddings: number;
  maxCentroids: number;
  historyMs: number;
  /** speakerFor answers not final yet that are re-checked for relabelling. */
  maxPendingQueries: number;
  useEmbeddings: boolean;
}

const WINDOW_MS = (WINDOW_SAMPLES / SAMPLE_RATE_HZ) * 1000;

export function streamConfig(opts: DiarizationOptions): StreamConfig {
  const stepMs = opts.stepMs ?? 500;
  const latencyMs = opts.latencyMs ?? 1000;
  if (!(stepMs >= FRAME_STEP_MS && stepMs <= WINDOW_MS)) throw new Error(`stepMs must be in [${FRAME_STEP_MS}, ${WINDOW_MS}]`);
  if (!(latencyMs >= 0 && latencyMs <= WINDOW_MS)) throw new Error(`latencyMs must be in [0, ${WINDOW_MS}]`);
  const historyMs = opts.historyMs ?? 600_000;
  if (!(historyMs >= WINDOW_MS)) throw new Error(`historyMs must be at least ${WINDOW_MS}`);
  return {
    stepSamples: Math.round((stepMs * SAMPLE_RATE_HZ) / 1000),
    latencyMs,
    decoding: opts.decoding ?? 'soft',
    aggregation: 'count',
    activityThreshold: 0.5,
    minActivity: 0.1,
    newSpeakerActivity: 0.5,
    minAgreement: 0.5,
    minSharedMs: 100,
    minNewSpeakerMs: opts.minNewSpeakerMs ?? 700,
    minEmbeddingSpeechMs: opts.minEmbeddingSpeechMs ?? 1000,
    maxCosineDistance: opts.maxCosineDistance ?? 0.6,
    mergeCosineDistance: opts.mergeCosineDistance ?? opts.maxCosineDistance ?? 0.6,
    minMergeEmbeddings: opts.minMergeEmbeddings ?? 2,
    maxCentroids: 64,
    historyMs,
    maxPendingQueries: 1024,
    useEmbeddings: opts.embedding !== undefined || Boolean(opts.speakerEmbeddingModelPath),
  };
}
