/**
 * Rolling speaker diarization for many live streams: owns the segmentation
 * model, the optional embedder and the open streams, and on every step runs
 * ONE batched model call over the windows that became ready across all
 * streams (then at most one embedder call, for every speaker of those
 * windows with enough clean speech), and hands each stream its output.
 *
 * The caller drives time: push audio into streams whenever it arrives, call
 * step() regularly (e.g. every stepMs, or after pushes), never two at once.
 */
import { cleanSpeechPerSpeaker, type SpeakerEmbedder } from './embedding.js';
import { SpeakerEmbeddingModel } from './embedding-model.js';
import { LOCAL_SPEAKERS, POWERSET_CLASSES, WINDOW_FRAMES, WINDOW_SAMPLES, msToFrameCount } from './frames.js';
import { streamConfig, type DiarizationOptions, type StreamConfig } from './options.js';
import { powersetToActivities } from './powerset.js';
import { SegmentationModel } from './segmentation.js';
import { StreamDiarizer, type DiarizationListener, type DiarizationStream, type SpeakerHints } from './stream.js';

interface WindowJob {
  stream: StreamDiarizer;
  window: number;
}

export class DiarizationEngine {
  private readonly streams = new Map<string, StreamDiarizer>();
  private stepping = false;

  private constructor(
    private readonly model: SegmentationModel,
    private readonly embedder: SpeakerEmbedder | undefined,
    private readonly config: StreamConfig,
    private readonly maxBatchWindows: number,
    /** An embedder the engine loaded itself (from speakerEmbeddingModelPath), released with it. */
    private readonly ownEmbedder: SpeakerEmbedder | undefined,
  ) {}

  static async create(opts: DiarizationOptions): Promise<DiarizationEngine> {
    const config = streamConfig(opts);
    const maxBatchWindows = opts.maxBatchWindows ?? 32;
    if (!(maxBatchWindows >= 1)) throw new Error('maxBatchWindows must be at least 1');
    if (opts.embedding && opts.speakerEmbeddingModelPath) throw new Error('give either embedding or speakerEmbeddingModelPath, not both');
    // The embedding model first: a bad file is refused before anything else starts.
    const ownEmbedder = opts.speakerEmbeddingModelPath ? await SpeakerEmbeddingModel.load(opts.speakerEmbeddingModelPath, opts.intraOpThreads ?? 0) : undefined;
    let model: SegmentationModel;
    try {
      model = await SegmentationModel.load(opts.segmentationModelPath, opts.intraOpThreads ?? 0);
    } catch (err) {
      await ownEmbedder?.close();
      throw err;
    }
    return new DiarizationEngine(model, opts.embedding ?? ownEmbedder, config, maxBatchWindows, ownEmbedder);
  }

  /** Time after the audio at which its labels become final: the aggregation latency (plus up to one step of waiting for the window). */
  get latencyMs(): number {
    return this.config.latencyMs;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** @param hints how many people speak (see SpeakerHints); checked here, so a bad value throws before the stream opens */
  openStream(id: string, listener: DiarizationListener = {}, hints: SpeakerHints = {}): DiarizationStream {
    if (this.streams.has(id)) throw new Error(`diarization stream ${id} is already open`);
    const stream = new StreamDiarizer(id, this.config, listener, (s) => this.streams.delete(s.id), hints);
    this.streams.set(id, stream);
    return stream;
  }

  /**
   * Analyses the windows ready in every stream (oldest first, taking streams in
   * turn, at most maxBatchWindows) with one model call.
   * @returns how many windows were analysed (0: nothing was ready)
   */
  async step(): Promise<number> {
    if (this.stepping) throw new Error('DiarizationEngine.step() is already running');
    this.stepping = true;
    try {
      const jobs = this.gatherJobs();
      if (jobs.length === 0) return 0;
      const audio = new Float32Array(jobs.length * WINDOW_SAMPLES);
      jobs.forEach((job, i) => job.stream.copyWindowAudio(job.window, audio.subarray(i * WINDOW_SAMPLES, (i + 1) * WINDOW_SAMPLES)));

      const logProbs = await this.model.run(audio, jobs.length);
      const windowValues = WINDOW_FRAMES * POWERSET_CLASSES;
      const activities = jobs.map((_, i) =>
        powersetToActivities(logProbs.subarray(i * windowValues, (i + 1) * windowValues), WINDOW_FRAMES, this.config.decoding),
      );
      const embeddings = await this.embed(audio, activities);

      jobs.forEach((job, i) => {
        // A stream closed during the model call no longer wants results.
        if (!job.stream.isClosed) job.stream.applyWindow(job.window, activities[i], embeddings[i]);
      });
      return jobs.length;
    } finally {
      this.stepping = false;
    }
  }

  /** Closes every stream and releases the model; call it after the last step() has settled. */
  async close(): Promise<void> {
    for (const stream of [...this.streams.values()]) stream.close();
    await this.model.release();
    await this.ownEmbedder?.close?.();
  }

  private gatherJobs(): WindowJob[] {
    const readyPerStream = [...this.streams.values()].map((stream) => ({ stream, windows: stream.readyWindows() }));
    const jobs: WindowJob[] = [];
    // Round-robin so one stream with a backlog cannot starve the others; each
    // stream's windows stay in order, which applyWindow needs.
    for (let round = 0; jobs.length < this.maxBatchWindows; round++) {
      let added = false;
      for (const { stream, windows } of readyPerStream) {
        if (round < windows.length && jobs.length < this.maxBatchWindows) {
          jobs.push({ stream, window: windows[round] });
          added = true;
        }
      }
      if (!added) break;
    }
    return jobs;
  }

  /** Per window, per local speaker: its embedding, or null (always null without an embedder). */
  private async embed(audio: Float32Array, activities: Float32Array[]): Promise<(Float32Array | null)[][]> {
    const embeddings = activities.map(() => new Array<Float32Array | null>(LOCAL_SPEAKERS).fill(null));
    if (!this.embedder) return embeddings;
    const minFrames = msToFrameCount(this.config.minEmbeddingSpeechMs);
    const requests: { window: number; local: number; speech: Float32Array }[] = [];
    activities.forEach((windowActivities, window) => {
      const windowAudio = audio.subarray(window * WINDOW_SAMPLES, (window + 1) * WINDOW_SAMPLES);
      cleanSpeechPerSpeaker(windowAudio, windowActivities, minFrames).forEach((speech, local) => {
        if (speech) requests.push({ window, local, speech });
      });
    });
    if (requests.length === 0) return embeddings;
    const vectors = await this.embedder.embed(requests.map((r) => r.speech));
    if (vectors.length !== requests.length) throw new Error(`embedder returned ${vectors.length} vectors for ${requests.length} inputs`);
    requests.forEach((r, i) => {
      embeddings[r.window][r.local] = vectors[i];
    });
    return embeddings;
  }
}
