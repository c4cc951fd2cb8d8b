/**
 * A session's outgoing side in Deepgram's listen v1 shapes: the one place our
 * session's messages (which server/wire-events.ts made from engine events)
 * become Deepgram messages. `partial` / `final` become `Results` (times in
 * seconds, `is_final`, `speech_final` when the segment ended on silence,
 * `from_finalize` for what a Finalize flushed), `speech_started` becomes
 * `SpeechStarted` (with vad_events), `utterance_end` becomes `UtteranceEnd`
 * (with utterance_end_ms), `closed` becomes the closing `Metadata`; `ready`,
 * keep-alive answers and speaker revisions have no Deepgram counterpart and
 * are not sent; with diarize, a final whose words the diarizer has not
 * labelled yet waits for their labels (at most MAX_LABEL_WAIT_MS), since a
 * Deepgram result cannot be revised. A fatal error becomes Deepgram's close frame: 1008 `DATA-0000`
 * for audio it cannot decode, 1011 `NET-0001` for no audio in time, 1008
 * `unauthorized` for a revoked or expired key (a policy close, as on
 * /v1/listen), 1011 with our code otherwise.
 */
import type { ServerMessage, TranscriptMessage, Word } from '../../protocol/messages.js';
import type { SessionIo } from '../session.js';
import type { DeepgramOptions } from './options.js';

/** Where the Deepgram messages go: the socket, through the slow-consumer guard. */
export interface DeepgramSink {
  /** `kind` is the message our session sent, for the guard (partials may be skipped). */
  send(json: string, kind: ServerMessage['type']): void;
  end(code: number, reason: string): void;
}

export interface DeepgramSessionInfo {
  requestId: string;
  modelName: string;
  /** Transcript channels: `channels` with multichannel, else 1 (the second entry of `channel_index`). */
  channelCount: number;
  options: DeepgramOptions;
  createdIso: string;
  /** sha256 (hex) of the audio received, for Metadata. */
  audioSha256(): string;
}

/** WebSocket close reasons are at most 123 bytes. */
const MAX_REASON_BYTES = 123;

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/** Deepgram's `word`: lower case, no surrounding punctuation. */
function plainWord(word: string): string {
  return word.toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
}

/** Our labels are S1, S2, ...; Deepgram numbers speakers from 0. */
function speakerNumber(label: string): number | undefined {
  const m = /^S(\d+)$/.exec(label);
  return m ? Number(m[1]) - 1 : undefined;
}

function closeReason(text: string): string {
  let reason = text;
  while (Buffer.byteLength(reason) > MAX_REASON_BYTES) reason = reason.slice(0, -1);
  return reason;
}

/**
 * With diarize, how long a final whose words are not labelled yet may wait for
 * the diarizer (its latency is ~1 s): Deepgram results cannot be revised, so
 * the labels must be there when it is sent. Past this, words nobody was heard
 * speaking go without `speaker`.
 */
export const MAX_LABEL_WAIT_MS = 3000;

export class DeepgramOut implements SessionIo {
  /** A final waiting for its speaker labels (diarize), and what came after it, in order. */
  private blocked: { final: TranscriptMessage; timer: NodeJS.Timeout } | null = null;
  private backlog: ServerMessage[] = [];
  /** A final held until the same tick says whether its segment ended on silence (an utterance_end follows at once). */
  private held: { result: ReturnType<DeepgramOut['results']>; channel: number } | null = null;
  /** Channels whose next final answers a Finalize. */
  private finalizing = new Set<number>();
  /** Per channel, the end of the last word of a final, unless an UtteranceEnd has reported it. */
  private lastWordEndMs = new Map<number, number>();
  private failure: { code: number; reason: string } | null = null;

  constructor(
    private readonly info: DeepgramSessionInfo,
    private readonly sink: DeepgramSink,
  ) {}

  /** The client sent Finalize: each channel's next final is what it flushed. */
  finalizeRequested(): void {
    for (let ch = 0; ch < this.info.channelCount; ch++) this.finalizing.add(ch);
  }

  /** The route ends the session for a reason of its own: this close frame, not the session's. */
  fail(code: number, reason: string): void {
    this.failure ??= { code, reason: closeReason(reason) };
  }

  send(msg: ServerMessage): void {
    const blocked = this.blocked;
    if (!blocked) return this.translate(msg);
    if (msg.type === 'speaker_update' && msg.channel === blocked.final.channel && msg.segment_id === blocked.final.segment_id) {
      blocked.final.speaker = msg.speaker;
      msg.word_speakers.forEach((label, i) => (blocked.final.words[i].speaker = label));
      if (blocked.final.words.every((w) => w.speaker !== '')) this.release();
      return;
    }
    this.backlog.push(msg);
  }

  /** Sends the blocked final as labelled so far, then what waited behind it (which may block again). */
  private release(): void {
    if (!this.blocked) return;
    clearTimeout(this.blocked.timer);
    const { final } = this.blocked;
    const backlog = this.backlog;
    this.blocked = null;
    this.backlog = [];
    this.translate(final, false);
    for (const msg of backlog) this.send(msg);
  }

  private translate(msg: ServerMessage, waitForLabels = true): void {
    switch (msg.type) {
      case 'partial':
        this.flushHeld();
        this.emit(this.results(msg, false), 'partial');
        return;
      case 'final':
        this.flushHeld();
        if (waitForLabels && this.info.options.diarize && msg.words.some((w) => w.speaker === '')) {
          this.blocked = { final: structuredClone(msg), timer: setTimeout(() => this.release(), MAX_LABEL_WAIT_MS) };
          return;
        }
        this.held = { result: this.results(msg, true), channel: msg.channel };
        // Flushed after the engine's synchronous final + utterance_end pair, whichever came.
        queueMicrotask(() => this.flushHeld());
        if (msg.words.length > 0) this.lastWordEndMs.set(msg.channel, msg.words[msg.words.length - 1].end_ms);
        return;
      case 'utterance_end':
        return this.utteranceEnd(msg.channel);
      case 'speech_started':
        this.flushHeld();
        // Speech resumed: a Finalize that found no open segment flushed nothing.
        this.finalizing.delete(msg.channel);
        if (this.info.options.vadEvents) this.emit({ type: 'SpeechStarted', channel: [msg.channel, this.info.channelCount], timestamp: seconds(msg.at_ms) }, msg.type);
        return;
      case 'error':
        if (!msg.fatal) return;
        if (msg.code === 'bad_audio' || msg.code === 'unsupported_encoding') this.fail(1008, `DATA-0000: ${msg.message}`);
        else this.fail(msg.code === 'unauthorized' ? 1008 : 1011, `${msg.code}: ${msg.message}`);
        return;
      case 'closed':
        this.flushHeld();
        this.emit(this.metadata(msg.audio_ms_received), msg.type);
        return;
      case 'ready':
      case 'keepalive':
      case 'speaker_update':
        return;
    }
  }

  end(code: number, reason: string): void {
    this.release();
    this.flushHeld();
    if (this.failure) return this.sink.end(this.failure.code, this.failure.reason);
    if (reason === 'client_close') return this.sink.end(1000, '');
    if (reason === 'idle_timeout') return this.sink.end(1011, 'NET-0001: no audio received within the idle timeout');
    this.sink.end(code, reason);
  }

  private utteranceEnd(channel: number): void {
    const held = this.held?.channel === channel ? this.held.result : null;
    const fromFinalize = held?.from_finalize ?? false;
    // The segment ended on silence (or a flush): an endpoint, unless a Finalize forced it.
    if (held && this.info.options.speechFinal && !fromFinalize) held.speech_final = true;
    this.flushHeld();
    const lastWordEndMs = this.lastWordEndMs.get(channel);
    if (!this.info.options.utteranceEnd || fromFinalize || lastWordEndMs === undefined) return;
    this.lastWordEndMs.delete(channel);
    this.emit({ type: 'UtteranceEnd', channel: [channel, this.info.channelCount], last_word_end: seconds(lastWordEndMs) }, 'utterance_end');
  }

  private flushHeld(): void {
    if (!this.held) return;
    const { result } = this.held;
    this.held = null;
    this.emit(result, 'final');
  }

  private emit(message: object, kind: ServerMessage['type']): void {
    this.sink.send(JSON.stringify(message), kind);
  }

  private results(t: TranscriptMessage, isFinal: boolean) {
    const { options, modelName } = this.info;
    const fromFinalize = isFinal && this.finalizing.delete(t.channel);
    const words = t.words.map((w) => this.word(w));
    const confidence = words.length === 0 ? 0 : Math.round((words.reduce((sum, w) => sum + w.confidence, 0) / words.length) * 1000) / 1000;
    return {
      type: 'Results' as const,
      channel_index: [t.channel, this.info.channelCount],
      duration: seconds(t.end_ms - t.start_ms),
      start: seconds(t.start_ms),
      is_final: isFinal,
      speech_final: false,
      from_finalize: fromFinalize,
      channel: { alternatives: [{ transcript: options.punctuate ? t.text : words.map((w) => w.word).join(' '), confidence, words }] },
      metadata: { request_id: this.info.requestId, model_info: { name: modelName, version: '', arch: 'ctc' }, model_uuid: modelName },
    };
  }

  private word(w: Word) {
    const speaker = this.info.options.diarize ? speakerNumber(w.speaker) : undefined;
    return {
      word: plainWord(w.word),
      start: seconds(w.start_ms),
      end: seconds(w.end_ms),
      confidence: w.confidence,
      ...(this.info.options.punctuate ? { punctuated_word: w.word } : {}),
      ...(speaker !== undefined ? { speaker } : {}),
    };
  }

  private metadata(audioMs: number) {
    const { modelName } = this.info;
    return {
      type: 'Metadata',
      transaction_key: 'deprecated',
      request_id: this.info.requestId,
      sha256: this.info.audioSha256(),
      created: this.info.createdIso,
      duration: seconds(audioMs),
      channels: this.info.channelCount,
      models: [modelName],
      model_info: { [modelName]: { name: modelName, version: '', arch: 'ctc' } },
    };
  }
}
