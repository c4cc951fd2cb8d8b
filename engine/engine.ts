/**
 * The engine: loads the models once and shares them among every stream it
 * opens. One VAD batcher scores all streams' audio in batched calls; one
 * recognition scheduler batches all streams' model work into shared calls
 * (like sherpa-onnx's DecodeStreams): with an offline model, partials and
 * finals of whole segments (scheduler.ts); with a streaming model, the next
 * chunk of every live segment (chunk-scheduler.ts). The model's metadata
 * decides which. An optional diarization
 * driver steps the rolling diarization of every stream that asked for it.
 * The models run on worker threads beside the event loop: the recognizer on
 * recognizer threads (asr/recognizer.ts, asr/streaming-recognizer.ts), VAD and diarization on model
 * threads (model-thread.ts).
 */
import { availableParallelism } from 'node:os';
import { tokenizePhrase } from './asr/context-graph.js';
import { CtcRecognizer } from './asr/recognizer.js';
import { DECODING_FILE, readDecodingFile } from './asr/decoding-file.js';
import type { EngineConfig } from './config.js';
import { DiarizationDriver, DiarizationEngine } from './diarization/index.js';
import type { StreamListener } from './events.js';
import { resolveLanguageModel, resolveModel } from './models/resolve.js';
import { RecognitionScheduler, type SchedulerStats } from './scheduler.js';
import { ChunkScheduler } from './chunk-scheduler.js';
import { OfflineSegmentRecognition } from './offline-recognition.js';
import type { OpenRecognition } from './segment-recognition.js';
import { StreamingSegmentRecognition } from './streaming-recognition.js';
import { isStreamingModelFile, StreamingRecognizer } from './asr/streaming-recognizer.js';
import { TranscriptionStream, type StreamOptions } from './transcription-stream.js';
import { SileroVad } from './vad/silero.js';
import { VadBatcher, type VadStats } from './vad/vad-batcher.js';

/** How long the VAD batcher waits after a chunk arrives, so other streams' chunks join the same call (it has no batch limit). */
const VAD_TICK_MS = 16;
/** How often the diarization of all streams takes a step. */
const DIARIZATION_STEP_MS = 100;

/** Optional observers of the engine's shared work (a server's metrics). */
export interface EngineHooks {
  /** What the engine chose and loaded; default: nothing. */
  log?: (line: string) => void;
  vadStats?: VadStats;
  schedulerStats?: SchedulerStats;
  /** Windows analysed by one diarization step. */
  onDiarizationStep?: (windows: number) => void;
}

export interface Engine {
  /** The recognition model's name. */
  readonly modelName: string;
  /** A streaming model's chunk (each chunk of audio read once); null for an offline model (partials re-read the segment). */
  readonly chunkMs: number | null;
  /** Whether streams may ask for `diarize` (a diarization model is loaded). */
  readonly canDiarize: boolean;
  /** What keeps `phrases` from being keyterms of this model's streams (a character it has no token for), or undefined. */
  keytermProblem(phrases: readonly string[]): string | undefined;
  /** Opens a stream; its events go to `listener`. Throws AudioDecodeError for a format it cannot decode. */
  openStream(options: StreamOptions, listener: StreamListener): Promise<TranscriptionStream>;
  /** Waits for the model calls in flight, then releases every model. Close or finish the streams first. */
  close(): Promise<void>;
}

/** An engine's recognition path: its recognizer, and the scheduler every channel's recognition shares. */
interface RecognitionPath {
  recognizer: { name: string; symbols: readonly string[]; close(): Promise<void> };
  open: OpenRecognition;
  drain(): Promise<void>;
  /** For the log. */
  describe: string;
  chunkMs: number | null;
}

function offlineRecognition(recognizer: CtcRecognizer, config: EngineConfig, stats: SchedulerStats | undefined): RecognitionPath {
  const scheduler = new RecognitionScheduler(recognizer, { maxBatch: config.maxBatch, maxBatchAudioMs: config.maxBatchAudioMs }, stats);
  return {
    recognizer,
    open: (key, options, sinks) => new OfflineSegmentRecognition(key, scheduler, options, sinks),
    drain: () => scheduler.drain(),
    describe: 'offline: partials re-read the segment',
    chunkMs: null,
  };
}

function streamingRecognition(recognizer: StreamingRecognizer, stats: SchedulerStats | undefined): RecognitionPath {
  const scheduler = new ChunkScheduler(recognizer, undefined, stats);
  return {
    recognizer,
    open: (_key, options, sinks) => new StreamingSegmentRecognition(scheduler, recognizer.tokens, recognizer.outputFrameMs, options, sinks),
    drain: () => scheduler.drain(),
    describe: `streaming: ${recognizer.chunkMs} ms chunks, windows of ${recognizer.spec.windowFrames} frames`,
    chunkMs: recognizer.chunkMs,
  };
}

export async function createEngine(config: EngineConfig, hooks: EngineHooks = {}): Promise<Engine> {
  const log = hooks.log ?? (() => {});
  if (config.speakerEmbeddingModel && !config.diarizationModel) throw new Error('--speaker-embedding-model needs --diarization-model');
  const model = resolveModel(config.model || undefined, { log });
  const lmPath = resolveLanguageModel(config.lm, model.modelPath, log);
  const wordLmPath = resolveLanguageModel(config.wordLm, model.modelPath, log, 'word');
  if (!lmPath && !wordLmPath) log('no language model: finals decode greedily');
  const folderDecoding = readDecodingFile(model.modelPath);
  if (Object.keys(folderDecoding).length > 0) log(`decoding defaults from the model's ${DECODING_FILE}: ${JSON.stringify(folderDecoding)} (flags and env override them)`);
  const recognizerOptions = {
    modelPath: model.modelPath,
    tokensPath: model.tokensPath,
    name: model.name,
    executionProvider: config.executionProvider,
    numThreads: config.asrThreads,
    threads: config.asrWorkers || availableParallelism(),
    beamSize: config.beamSize,
    tokenFloorNats: config.tokenFloorNats,
    scoreWindowNats: config.scoreWindowNats,
    lmPath,
    lmWeight: config.lmWeight,
    lmTokenBonus: config.lmTokenBonus,
    wordLmPath,
    wordLmWeight: config.wordLmWeight,
    wordBonus: config.wordBonus,
    oovPenalty: config.oovPenalty,
  };
  // The model's metadata decides the path: a streaming model reads each chunk once, an offline one re-reads segments.
  const recognition = isStreamingModelFile(model.modelPath)
    ? streamingRecognition(await StreamingRecognizer.load(recognizerOptions), hooks.schedulerStats)
    : offlineRecognition(await CtcRecognizer.load(recognizerOptions), config, hooks.schedulerStats);
  const { recognizer } = recognition;
  const vad = await SileroVad.load(config.vadModel);
  log(`model ${model.name} (${model.source}: ${model.modelPath}; ${recognition.describe}), VAD Silero v${vad.version} (${config.vadModel})`);

  const vadBatcher = new VadBatcher(vad, VAD_TICK_MS, hooks.vadStats);
  let diarizationEngine: DiarizationEngine | undefined;
  try {
    diarizationEngine = config.diarizationModel
      ? await DiarizationEngine.create({
          segmentationModelPath: config.diarizationModel,
          intraOpThreads: config.diarizationThreads,
          speakerEmbeddingModelPath: config.speakerEmbeddingModel || undefined,
          maxCosineDistance: config.speakerEmbeddingDistance,
        })
      : undefined;
  } catch (err) {
    // A bad diarization or embedding model stops the start; what started before it is released.
    await recognizer.close();
    await vad.close();
    throw err;
  }
  const diarization = diarizationEngine
    ? new DiarizationDriver(
        diarizationEngine,
        DIARIZATION_STEP_MS,
        (windows) => hooks.onDiarizationStep?.(windows),
        (err) => log(`diarization step failed: ${err instanceof Error ? err.message : String(err)}`),
      )
    : undefined;
  if (diarization) {
    const embedding = config.speakerEmbeddingModel ? `, speaker embeddings ${config.speakerEmbeddingModel} (distance ${config.speakerEmbeddingDistance})` : '';
    log(`diarization: pyannote segmentation (${config.diarizationModel})${embedding}`);
  }
  const deps = { vadBatcher, openRecognition: recognition.open, diarization, partialIntervalMs: config.partialIntervalMs, maxSegmentMs: config.maxSegmentMs, pauseCutAfterMs: config.pauseCutAfterMs, finalAheadMs: config.finalAheadMs };

  return {
    modelName: recognizer.name,
    chunkMs: recognition.chunkMs,
    canDiarize: diarization !== undefined,
    keytermProblem(phrases) {
      try {
        for (const phrase of phrases) tokenizePhrase(phrase, recognizer.symbols);
        return undefined;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    },
    openStream: (options, listener) => TranscriptionStream.open(options, deps, listener),
    async close() {
      await recognition.drain();
      await diarization?.close();
      await recognizer.close();
      await vad.close();
    },
  };
}
