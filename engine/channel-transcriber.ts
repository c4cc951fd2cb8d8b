/**
 * One transcript stream (a session's mono audio, or one of its channels):
 * cuts 16 kHz audio into VAD chunks, scores them in the shared VAD batcher,
 * segments speech, hands each segment to the channel's recognition
 * (segment-recognition.ts: offline or streaming, as the model is) for
 * partials while it grows and a final when it closes, and emits stream
 * events in order.
 * With a speaker labeler (diarization on), the audio goes to it too and
 * finals carry its speaker labels.
 */
import { SAMPLES_PER_MS } from './audio/format.js';
import type { StreamEvent, Transcript } from './events.js';
import type { RecognitionResult } from './asr/ctc-search.js';
import type { OpenRecognition, RecognitionOptions, SegmentRecognition } from './segment-recognition.js';
import type { SpeakerLabeler } from './speaker-labeler.js';
import { assembleTranscript } from './transcript.js';
import { VAD_CHUNK_SAMPLES } from './vad/silero.js';
import { Segmenter, type EndReason, type Segment, type SegmentEvent, type SegmenterOptions } from './vad/segmenter.js';
import type { VadBatcher, VadStream } from './vad/vad-batcher.js';

export interface TranscriberOptions extends RecognitionOptions {
  channel: number;
  segmenter: Partial<SegmenterOptions>;
}

export class ChannelTranscriber {
  private readonly segmenter: Segmenter;
  private readonly vad: VadStream;
  private pending = new Float32Array(VAD_CHUNK_SAMPLES);
  private pendingSamples = 0;
  private readonly recognition: SegmentRecognition;
  /** The text of the last partial sent per open segment (one with the same text is not sent again); gone once its final is sent. */
  private sentTexts = new Map<number, string>();
  /** Finals are emitted in segment order even if their decodes finish out of order. */
  private finalChain: Promise<void> = Promise.resolve();
  /** Segments end in id order: a partial for an id at or below this is stale. */
  private highestEndedId = -1;
  finalsSent = 0;

  constructor(
    private readonly key: string,
    private readonly opts: TranscriberOptions,
    vadBatcher: VadBatcher,
    openRecognition: OpenRecognition,
    private readonly emit: (event: StreamEvent) => void,
    private readonly labeler?: SpeakerLabeler,
  ) {
    this.segmenter = new Segmenter(opts.segmenter);
    this.recognition = openRecognition(key, opts, {
      partial: (seg, result, toSample) => this.partial(seg, result, toSample),
      error: (error) => emit({ type: 'error', error }),
    });
    this.vad = vadBatcher.open(
      (samples, prob, wallMs) => {
        this.handleEvents(this.segmenter.push(samples, prob, wallMs));
        // Silero v4's recurrent state can carry a long stretch of speech into the next utterance, whose end it then
        // hears 300-400 ms late (bench/README.md, "Streaming models"). After the endpointing time of silence the
        // stream is between utterances, so the next one loses nothing by starting from a new stream's state.
        if (this.segmenter.reachedEndpoint) this.vad.state.reset();
      },
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
    this.recognition.close(this.segmenter.openSegment ?? undefined);
  }

  private handleEvents(events: SegmentEvent[]): void {
    for (const ev of events) {
      const seg = ev.segment;
      if (ev.type === 'started') {
        this.emit({ type: 'speech_started', channel: this.opts.channel, segmentId: seg.id, atMs: Math.round(seg.startSample / SAMPLES_PER_MS) });
        this.recognition.update(seg);
      } else if (ev.type === 'grew') {
        this.recognition.update(seg);
      } else if (ev.type === 'quiet') {
        this.recognition.quiet(seg);
      } else {
        this.highestEndedId = seg.id;
        this.requestFinal(seg, ev.reason);
      }
    }
  }

  private partial(seg: Segment, result: RecognitionResult, toSample: number): void {
    if (seg.id <= this.highestEndedId) return;
    const transcript = assembleTranscript('partial', seg, result, this.opts.channel, toSample);
    const sentText = this.sentTexts.get(seg.id) ?? '';
    if (transcript.text === '' || transcript.text === sentText) return;
    const firstLatencyMs = sentText === '' ? performance.now() - seg.speechStartWallMs : undefined;
    this.sentTexts.set(seg.id, transcript.text);
    this.emit({ type: 'partial', transcript, firstLatencyMs });
  }

  private requestFinal(seg: Segment, reason: EndReason): void {
    const decoded = this.recognition.end(seg);
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
      this.sentTexts.delete(seg.id);
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
