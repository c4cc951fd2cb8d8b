/**
 * The server's Prometheus metrics (prom-client), in one registry per server
 * instance so tests can run several servers in one process.
 */
import client from 'prom-client';
import type { SchedulerStats } from '../engine/scheduler.js';
import type { VadStats } from '../engine/vad/vad-batcher.js';

const BATCH_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64];
const LATENCY_BUCKETS_S = [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

export class Metrics {
  readonly registry = new client.Registry();
  readonly liveSessions = new client.Gauge({ name: 'lt_live_sessions', help: 'Open WebSocket sessions', registers: [this.registry] });
  readonly sessionsTotal = new client.Counter({ name: 'lt_sessions_total', help: 'Sessions opened', registers: [this.registry] });
  /** Which front door the work came through; the other metrics count all of them together. */
  readonly apiRequests = new client.Counter({
    name: 'lt_api_requests_total',
    help: 'Sessions and file transcriptions started, by API: listen (native), deepgram (Deepgram-compatible live), openai (OpenAI-compatible files)',
    labelNames: ['api'],
    registers: [this.registry],
  });
  readonly audioSeconds = new client.Counter({ name: 'lt_audio_seconds_received_total', help: 'Seconds of audio received (per transcript channel)', registers: [this.registry] });
  readonly vadBatchSize = new client.Histogram({ name: 'lt_vad_batch_size', help: 'Streams per VAD model call', buckets: BATCH_BUCKETS, registers: [this.registry] });
  readonly diarizationBatchSize = new client.Histogram({ name: 'lt_diarization_batch_size', help: 'Windows per diarization model call', buckets: BATCH_BUCKETS, registers: [this.registry] });
  readonly asrBatchSize = new client.Histogram({ name: 'lt_asr_batch_size', help: 'Segments per recognition model call (a streaming model: windows, one per live segment)', buckets: BATCH_BUCKETS, registers: [this.registry] });
  readonly modelCallSeconds = new client.Histogram({
    name: 'lt_model_call_seconds',
    help: 'Model call latency',
    labelNames: ['model'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
    registers: [this.registry],
  });
  readonly modelSegments = new client.Counter({ name: 'lt_model_segments_decoded_total', help: 'Segments (partials and finals) decoded, by served model (a streaming model: windows, each one chunk of a live segment)', labelNames: ['model'], registers: [this.registry] });
  readonly finalLatency = new client.Histogram({ name: 'lt_final_latency_seconds', help: 'From the last speech audio received to its final sent', buckets: LATENCY_BUCKETS_S, registers: [this.registry] });
  readonly firstPartialLatency = new client.Histogram({ name: 'lt_first_partial_latency_seconds', help: 'From speech start detected to the first partial sent', buckets: LATENCY_BUCKETS_S, registers: [this.registry] });
  readonly finalsAhead = new client.Counter({
    name: 'lt_finals_ahead_total',
    help: 'Finals decoded ahead of the endpoint, by outcome: used (taken by the final), cancelled (speech resumed before the decode started), wasted (speech resumed after it)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly partialsDropped = new client.Counter({ name: 'lt_partials_dropped_total', help: 'Partials dropped under overload', registers: [this.registry] });
  readonly errors = new client.Counter({ name: 'lt_errors_total', help: 'Errors sent to clients', labelNames: ['code'], registers: [this.registry] });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'lt_process_' });
  }

  readonly schedulerStats: SchedulerStats = {
    onBatch: (size, seconds) => {
      this.asrBatchSize.observe(size);
      this.modelCallSeconds.observe({ model: 'asr' }, seconds);
    },
    onPartialDropped: () => this.partialsDropped.inc(),
    onFinalAhead: (outcome) => this.finalsAhead.inc({ outcome }),
  };

  /** The scheduler stats of one served model (models.ts): as schedulerStats, and its segments counted under its name. */
  schedulerStatsFor(model: string): SchedulerStats {
    return {
      ...this.schedulerStats,
      onBatch: (...batch: Parameters<SchedulerStats['onBatch']>) => {
        this.schedulerStats.onBatch(...batch);
        this.modelSegments.inc({ model }, batch[0]);
      },
    };
  }

  readonly vadStats: VadStats = {
    onBatch: (size, seconds) => {
      this.vadBatchSize.observe(size);
      this.modelCallSeconds.observe({ model: 'vad' }, seconds);
    },
  };
}
