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
import type { RecognitionScheduler } from './scheduler.js';
import type { SpeakerLabeler } from './speaker-labeler.js';
import { PartialWindow } from './partial-window.js';
import { assembleTranscript } from './transcript.js';
import { VAD_CHUNK_SAMPLES } from './vad/silero.js';
import { Segmenter, segmentAudio, type Segment, type SegmentEvent, type SegmenterOptions } from './vad/segmenter.js';
import type { VadBatcher, VadStream } from './vad/vad-batcher.js';

export interface TranscriberOptions {
  channel: number;
  interimResults: boolean;
  partialIntervalMs: number;
  segmenter: Partial<SegmenterOptions>;
}


export class ChannelTranscriber {
  private readonly segmenter: Segmenter;
  private readonly vad: VadStream;
  private pending = new Float32Array(VAD_CHUNK_SAMPLES);
  private pendingSamples = 0;
  private lastPartialSamples = new Map<number, number>();
  private lastPartialText = new Map<number, string>();
  private firstPartialSent = new Set<number>();
  /** Per open segment: which audio its next partial decodes, and the words decided so far. */
  private partialWindows = new Map<number, PartialWindow>();
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
    if (open) this.scheduler.cancelPartial(this.partialKey(open));
  }

  private partialKey(seg: Segment): string {
    return `${this.key}/${seg.id}`;
  }

  private handleEvents(events: SegmentEvent[]): void {
    for (const ev of events) {
      const seg = ev.segment;
      if (ev.type === 'started') {
        this.emit({ type: 'speech_started', channel: this.opts.channel, segmentId: seg.id, atMs: Math.round(seg.startSample / SAMPLES_PER_MS) });
        this.lastPartialSamples.set(seg.id, 0);
        this.maybePartial(seg);
      } else if (ev.type === 'grew') {
        this.maybePartial(seg);
      } else {
        this.highestEndedId = seg.id;
        this.scheduler.cancelPartial(this.partialKey(seg));
        this.requestFinal(seg, ev.reason);
      }
    }
  }

  private maybePartial(seg: Segment): void {
    if (!this.opts.interimResults) return;
    const last = this.lastPartialSamples.get(seg.id) ?? 0;
    const growth = seg.numSamples - last;
    if (growth < this.opts.partialIntervalMs * SAMPLES_PER_MS) return;
    this.lastPartialSamples.set(seg.id, seg.numSamples);
    let window = this.partialWindows.get(seg.id);
    if (!window) this.partialWindows.set(seg.id, (window = new PartialWindow()));
    const fromSample = Math.round(window.audioFromMs * SAMPLES_PER_MS);
    const audio = segmentAudio(seg, fromSample);
    this.scheduler.partial(this.partialKey(seg), audio, growth).then(
      (result) => {
        if (!result || seg.id <= this.highestEndedId) return;
        const toSample = fromSample + audio.length;
        const words = window.merge(result.words, fromSample / SAMPLES_PER_MS, toSample / SAMPLES_PER_MS);
        const transcript = assembleTranscript('partial', seg, { ...result, words }, this.opts.channel, toSample);
        if (transcript.text === '' || transcript.text === this.lastPartialText.get(seg.id)) return;
        this.lastPartialText.set(seg.id, transcript.text);
        let firstLatencyMs: number | undefined;
        if (!this.firstPartialSent.has(seg.id)) {
          this.firstPartialSent.add(seg.id);
          firstLatencyMs = performance.now() - seg.speechStartWallMs;
        }
        this.emit({ type: 'partial', transcript, firstLatencyMs });
      },
      (error) => this.emit({ type: 'error', error }),
    );
  }

  private requestFinal(seg: Segment, reason: 'silence' | 'max_length' | 'flush'): void {
    const decoded = this.scheduler.final(this.partialKey(seg), segmentAudio(seg));
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
      this.lastPartialSamples.delete(seg.id);
      this.lastPartialText.delete(seg.id);
      this.partialWindows.delete(seg.id);
      this.firstPartialSent.delete(seg.id);
      this.labeler?.labelFinal(transcript);
      const latencyMs = reason === 'silence' && seg.lastSpeechWallMs > 0 ? performance.now() - seg.lastSpeechWallMs : undefined;
      this.emit({ type: 'final', transcript, latencyMs });
      this.finalsSent++;
      if (reason !== 'max_length') {
        this.emit({ type: 'utterance_end', channel: this.opts.channel, segmentId: seg.id, atMs: transcript.endMs });
      }
    });
  }
}
