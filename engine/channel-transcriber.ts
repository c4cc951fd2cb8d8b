/**
 * One transcript stream (a session's mono audio, or one of its channels):
 * cuts 16 kHz audio into VAD chunks, scores them in the shared VAD batcher,
 * segments speech, asks the shared scheduler for partials while a segment
 * grows and a final when it closes, and emits stream events in order.
 * With a speaker labeler (diarization on), the audio goes to it too and
 * finals carry its speaker labels.
 */
import { SAMPLES_PER_MS } from './audio/format.js';
import type { StreamEvent, Transcript } from './events.js';
import type { Keyterms } from './asr/context-graph.js';
import type { RecognitionScheduler } from './scheduler.js';
import type { SpeakerLabeler } from './speaker-labeler.js';
import { PartialWindow } from './partial-window.js';
import { assembleTranscript } from './transcript.js';
import { VAD_CHUNK_SAMPLES } from './vad/silero.js';
import { Segmenter, segmentAudio, type EndReason, type Segment, type SegmentEvent, type SegmenterOptions } from './vad/segmenter.js';
import type { VadBatcher, VadStream } from './vad/vad-batcher.js';

export interface TranscriberOptions {
  channel: number;
  interimResults: boolean;
  partialIntervalMs: number;
  segmenter: Partial<SegmenterOptions>;
  /** Bias the finals (partials stay unbiased: greedy, and replaced within a second). */
  keyterms?: Keyterms;
}

/** What an open segment's partials have done so far. */
interface PartialState {
  /** The segment's length when its last partial was asked for. */
  requestedSamples: number;
  /** The last partial's text sent (a partial with the same text is not sent again). */
  sentText: string;
  /** Which audio the next partial decodes, and the words decided so far. */
  window: PartialWindow;
}

export class ChannelTranscriber {
  private readonly segmenter: Segmenter;
  private readonly vad: VadStream;
  private pending = new Float32Array(VAD_CHUNK_SAMPLES);
  private pendingSamples = 0;
  /** Per open segment with partials; gone once its final is sent. */
  private partialStates = new Map<number, PartialState>();
  /** Finals are emitted in segment order even if their decodes finish out of order. */
  private finalChain: Promise<void> = Promise.resolve();
  /** Segments end in id order: a partial for an id at or below this is stale. */
  private highestEndedId = -1;
  finalsSent = 0;

  constructor(
    private readonly key: string,
    private readonly opts: TranscriberOptions,
    vadBatcher: VadBatcher,
    private readonly scheduler: RecognitionScheduler,
    private readonly emit: (event: StreamEvent) => void,
    private readonly labeler?: SpeakerLabeler,
  ) {
    this.segmenter = new Segmenter(opts.segmenter);
    this.vad = vadBatcher.open(
      (samples, prob, wallMs) => this.handleEvents(this.segmenter.push(samples, prob, wallMs)),
      (error) => emit({ type: 'error', error }),
    );
  }

  pushAudio(samples16k: Float32Array, wallMs: number): void {
    this.labeler?.pushAudio(samples16k);
    let pos = 0;
    while (pos < samples16k.length) {
      const n = Math.min(VAD_CHUNK_SAMPLES - this.pendingSamples, samples16k.length - pos);
      this.pending.set(samples16k.subarray(pos, pos + n), this.pendingSamples);
      this.pendingSamples += n;
      pos += n;
      if (this.pendingSamples === VAD_CHUNK_SAMPLES) {
        this.vad.push(this.pending, wallMs);
        this.pending = new Float32Array(VAD_CHUNK_SAMPLES);
        this.pendingSamples = 0;
      }
    }
  }

  /** Finals for everything received so far; resolves once they are sent. */
  async finalize(): Promise<void> {
    await this.vad.drained();
    const tail = this.pending.slice(0, this.pendingSamples);
    this.pendingSamples = 0;
    this.handleEvents(this.segmenter.flush(tail));
    await this.finalChain;
  }

  close(): void {
    this.labeler?.close();
    this.vad.close();
    const open = this.segmenter.openSegment;
    if (open) {
      this.scheduler.cancelPartial(this.partialKey(open));
      this.scheduler.cancelFinalAhead(this.partialKey(open));
    }
  }

  private partialKey(seg: Segment): string {
    return `${this.key}/${seg.id}`;
  }

  private handleEvents(events: SegmentEvent[]): void {
    for (const ev of events) {
      const seg = ev.segment;
      if (ev.type === 'started') {
        this.emit({ type: 'speech_started', channel: this.opts.channel, segmentId: seg.id, atMs: Math.round(seg.startSample / SAMPLES_PER_MS) });
        this.maybePartial(seg);
      } else if (ev.type === 'grew') {
        this.scheduler.cancelFinalAhead(this.partialKey(seg));
        this.maybePartial(seg);
      } else if (ev.type === 'quiet') {
        // Its final, if the segment ends now: the scheduler keeps it for `final` to take.
        this.scheduler.finalAhead(this.partialKey(seg), segmentAudio(seg), this.opts.keyterms);
      } else {
        this.highestEndedId = seg.id;
        this.scheduler.cancelPartial(this.partialKey(seg));
        this.requestFinal(seg, ev.reason);
      }
    }
  }

  private maybePartial(seg: Segment): void {
    if (!this.opts.interimResults) return;
    let state = this.partialStates.get(seg.id);
    if (!state) this.partialStates.set(seg.id, (state = { requestedSamples: 0, sentText: '', window: new PartialWindow() }));
    const growth = seg.numSamples - state.requestedSamples;
    if (growth < this.opts.partialIntervalMs * SAMPLES_PER_MS) return;
    state.requestedSamples = seg.numSamples;
    const { window } = state;
    const fromSample = Math.round(window.audioFromMs * SAMPLES_PER_MS);
    const audio = segmentAudio(seg, fromSample);
    this.scheduler.partial(this.partialKey(seg), audio, growth, state.sentText === '').then(
      (result) => {
        if (!result || seg.id <= this.highestEndedId) return;
        const toSample = fromSample + audio.length;
        const words = window.merge(result.words, fromSample / SAMPLES_PER_MS, toSample / SAMPLES_PER_MS);
        const transcript = assembleTranscript('partial', seg, { ...result, words }, this.opts.channel, toSample);
        if (transcript.text === '' || transcript.text === state.sentText) return;
        const firstLatencyMs = state.sentText === '' ? performance.now() - seg.speechStartWallMs : undefined;
        state.sentText = transcript.text;
        this.emit({ type: 'partial', transcript, firstLatencyMs });
      },
      (error) => this.emit({ type: 'error', error }),
    );
  }

  private requestFinal(seg: Segment, reason: EndReason): void {
    const decoded = this.scheduler.final(this.partialKey(seg), segmentAudio(seg), this.opts.keyterms);
    // Release the segment's audio now: nothing else needs it once queued.
    seg.chunks = [];
    this.finalChain = this.finalChain.then(async () => {
      let transcript: Transcript;
      try {
        transcript = assembleTranscript('final', seg, await decoded, this.opts.channel, seg.numSamples);
      } catch (error) {
        this.emit({ type: 'error', error });
        return;
      }
      this.partialStates.delete(seg.id);
      this.labeler?.labelFinal(transcript);
      const latencyMs = reason === 'silence' && seg.lastSpeechWallMs > 0 ? performance.now() - seg.lastSpeechWallMs : undefined;
      this.emit({ type: 'final', transcript, latencyMs });
      this.finalsSent++;
      // A cut in a long segment is no end of an utterance: the speaker goes on.
      if (reason !== 'max_length' && reason !== 'pause') {
        this.emit({ type: 'utterance_end', channel: this.opts.channel, segmentId: seg.id, atMs: transcript.endMs });
      }
    });
  }
}
