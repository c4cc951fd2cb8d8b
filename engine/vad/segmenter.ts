/**
 * Endpointing, pure: turns a channel's stream of (32 ms chunk, speech
 * probability) into speech segments. Speech starts after `speechStartMs` of
 * speech (hysteresis thresholds), ends after `endpointingMs` of silence, and a
 * segment longer than `maxSegmentMs` is cut, the next one starting
 * `overlapMs` earlier so no word is lost at the cut; `keepFromMs` /
 * `keepUntilMs` say which words each side owns (by word midpoint). Before
 * that, a segment longer than `pauseCutAfterMs` ends at its first pause of
 * `pauseCutMs` (reason `pause`): speech that never pauses long enough to end
 * (a lecture, a busy meeting) gets finals every few seconds, cut between
 * words, instead of one 15 s final (decoded in one go, behind the audio by
 * its length) cut wherever the maximum falls.
 * The segment's audio includes `preRollMs` before the detected start (the
 * VAD reacts late) and up to `postRollMs` of the trailing silence.
 *
 * `finalAheadMs` before the endpoint (but not before the post-roll is in),
 * a `quiet` event says the segment holds exactly the audio its final will
 * have if no speech comes before the endpoint: its final can be decoded
 * ahead, so a user waits the endpointing, not the endpointing plus the
 * decode. Speech after `quiet` just grows the segment (`grew`), as before.
 */
import { VAD_CHUNK_MS, VAD_CHUNK_SAMPLES } from './silero.js';
import { SAMPLES_PER_MS } from '../audio/format.js';

export interface SegmenterOptions {
  threshold: number;
  negThreshold: number;
  speechStartMs: number;
  endpointingMs: number;
  maxSegmentMs: number;
  /** A segment longer than this ends at a pause of `pauseCutMs` (0: never). */
  pauseCutAfterMs: number;
  pauseCutMs: number;
  overlapMs: number;
  preRollMs: number;
  postRollMs: number;
  /** How long before the endpoint `quiet` may come (0: never). */
  finalAheadMs: number;
}

export const DEFAULT_SEGMENTER_OPTIONS: SegmenterOptions = {
  threshold: 0.5,
  negThreshold: 0.35,
  speechStartMs: 96,
  endpointingMs: 500,
  maxSegmentMs: 15_000,
  pauseCutAfterMs: 8_000,
  pauseCutMs: 64,
  overlapMs: 1_000,
  preRollMs: 256,
  postRollMs: 192,
  finalAheadMs: 150,
};

export interface Segment {
  id: number;
  /** Stream time of the segment's first sample. */
  startSample: number;
  chunks: Float32Array[];
  numSamples: number;
  /** Words whose midpoint lies outside [keepFromMs, keepUntilMs) belong to the neighbouring segment. */
  keepFromMs: number;
  keepUntilMs: number;
  /** Wall clock when the chunk that confirmed speech arrived. */
  speechStartWallMs: number;
  /** Wall clock when the last speech chunk arrived. */
  lastSpeechWallMs: number;
}

/** Why a segment ended: the endpoint, a pause in a long segment, the maximum length, or the stream's end. */
export type EndReason = 'silence' | 'pause' | 'max_length' | 'flush';

export type SegmentEvent =
  | { type: 'started'; segment: Segment }
  | { type: 'grew'; segment: Segment }
  /** The segment's audio is what its final will hold if it ends by silence without more speech. */
  | { type: 'quiet'; segment: Segment }
  | { type: 'ended'; segment: Segment; reason: EndReason };

interface Chunk {
  samples: Float32Array;
  startSample: number;
  speech: boolean;
  wallMs: number;
}

export class Segmenter {
  private readonly opts: SegmenterOptions;
  private recent: Chunk[] = []; // pre-roll plus the speech run not yet confirmed
  private open: Segment | null = null;
  private speechRunMs = 0;
  private silenceRunMs = 0;
  private trailing: Chunk[] = []; // silence after the last speech chunk of the open segment
  private trailingAppended = 0; // how many of `trailing` are in the open segment already (its post-roll, at `quiet`)
  private nextId = 0;
  private samplesSeen = 0;

  constructor(opts: Partial<SegmenterOptions> = {}) {
    this.opts = { ...DEFAULT_SEGMENTER_OPTIONS, ...opts };
  }

  get openSegment(): Segment | null {
    return this.open;
  }

  /**
   * Whether the last chunk made `endpointingMs` of silence, whether or not a
   * segment was open (one cut at a pause ended earlier): the stream is
   * between utterances.
   */
  get reachedEndpoint(): boolean {
    return this.silenceRunMs >= this.opts.endpointingMs && this.silenceRunMs - VAD_CHUNK_MS < this.opts.endpointingMs;
  }

  /** One VAD chunk (512 samples) and its speech probability. */
  push(samples: Float32Array, probability: number, wallMs: number): SegmentEvent[] {
    const events: SegmentEvent[] = [];
    const inSpeech = this.open !== null;
    const speech = probability >= (inSpeech ? this.opts.negThreshold : this.opts.threshold);
    const chunk: Chunk = { samples, startSample: this.samplesSeen, speech, wallMs };
    this.samplesSeen += samples.length;

    if (!this.open) {
      this.recent.push(chunk);
      this.speechRunMs = speech ? this.speechRunMs + VAD_CHUNK_MS : 0;
      this.silenceRunMs = speech ? 0 : this.silenceRunMs + VAD_CHUNK_MS;
      if (this.speechRunMs >= this.opts.speechStartMs) {
        this.open = this.startSegment(this.recent, wallMs, 0);
        this.recent = [];
        this.silenceRunMs = 0;
        events.push({ type: 'started', segment: this.open });
      } else {
        const keep = Math.ceil((this.opts.preRollMs + this.opts.speechStartMs) / VAD_CHUNK_MS);
        if (this.recent.length > keep) this.recent.splice(0, this.recent.length - keep);
      }
      return events;
    }

    const seg = this.open;
    if (speech) {
      for (const c of this.trailing.slice(this.trailingAppended)) this.append(seg, c);
      this.trailing = [];
      this.trailingAppended = 0;
      this.append(seg, chunk);
      seg.lastSpeechWallMs = wallMs;
      this.silenceRunMs = 0;
      events.push({ type: 'grew', segment: seg });
    } else {
      this.trailing.push(chunk);
      this.silenceRunMs += VAD_CHUNK_MS;
      const post = Math.ceil(this.opts.postRollMs / VAD_CHUNK_MS);
      const endpoint = this.silenceRunMs >= this.opts.endpointingMs;
      const pauseCut = this.opts.pauseCutAfterMs > 0 && this.silenceRunMs >= this.opts.pauseCutMs && seg.numSamples / SAMPLES_PER_MS >= this.opts.pauseCutAfterMs;
      if (endpoint || pauseCut) {
        this.appendPostRoll(seg, post);
        this.recent = this.trailing.slice(-Math.ceil(this.opts.preRollMs / VAD_CHUNK_MS));
        this.trailing = [];
        this.trailingAppended = 0;
        this.open = null;
        this.speechRunMs = 0;
        events.push({ type: 'ended', segment: seg, reason: endpoint ? 'silence' : 'pause' });
        return events;
      }
      const quietAtMs = Math.max(this.opts.endpointingMs - this.opts.finalAheadMs, post * VAD_CHUNK_MS);
      if (this.opts.finalAheadMs > 0 && this.trailingAppended === 0 && this.silenceRunMs >= quietAtMs) {
        this.appendPostRoll(seg, post);
        events.push({ type: 'quiet', segment: seg });
      }
    }

    if ((seg.numSamples / SAMPLES_PER_MS) >= this.opts.maxSegmentMs) {
      const cutSample = seg.startSample + seg.numSamples;
      const cutMs = cutSample / SAMPLES_PER_MS;
      const boundaryMs = cutMs - this.opts.overlapMs / 2;
      seg.keepUntilMs = boundaryMs;
      // The next segment starts with the last overlapMs of this one's audio.
      const overlapChunks = Math.ceil(this.opts.overlapMs / VAD_CHUNK_MS);
      const carried: Chunk[] = [];
      let pos = cutSample;
      for (let i = seg.chunks.length - 1; i >= 0 && carried.length < overlapChunks; i--) {
        pos -= seg.chunks[i].length;
        carried.unshift({ samples: seg.chunks[i], startSample: pos, speech: true, wallMs });
      }
      events.push({ type: 'ended', segment: seg, reason: 'max_length' });
      const next = this.startSegment(carried.concat(this.trailing.slice(this.trailingAppended)), wallMs, boundaryMs);
      this.trailing = [];
      this.trailingAppended = 0;
      this.open = next;
      events.push({ type: 'started', segment: next });
    }
    return events;
  }

  /**
   * Ends the open segment now (finalize / close), including audio the VAD has
   * not scored yet (`tail`, under one chunk).
   */
  flush(tail: Float32Array): SegmentEvent[] {
    const seg = this.open;
    if (!seg) {
      this.samplesSeen += tail.length;
      return [];
    }
    for (const c of this.trailing.slice(this.trailingAppended)) this.append(seg, c);
    if (tail.length > 0) this.append(seg, { samples: tail, startSample: this.samplesSeen, speech: true, wallMs: 0 });
    this.samplesSeen += tail.length;
    this.trailing = [];
    this.trailingAppended = 0;
    this.open = null;
    this.recent = [];
    this.speechRunMs = 0;
    return [{ type: 'ended', segment: seg, reason: 'flush' }];
  }

  private startSegment(chunks: Chunk[], wallMs: number, keepFromMs: number): Segment {
    const seg: Segment = {
      id: this.nextId++,
      startSample: chunks.length > 0 ? chunks[0].startSample : this.samplesSeen,
      chunks: [],
      numSamples: 0,
      keepFromMs,
      keepUntilMs: Infinity,
      speechStartWallMs: wallMs,
      lastSpeechWallMs: wallMs,
    };
    for (const c of chunks) this.append(seg, c);
    return seg;
  }

  /** Appends the first `post` chunks of the trailing silence (those not in yet). */
  private appendPostRoll(seg: Segment, post: number): void {
    for (const c of this.trailing.slice(this.trailingAppended, post)) this.append(seg, c);
    this.trailingAppended = Math.max(this.trailingAppended, Math.min(post, this.trailing.length));
  }

  private append(seg: Segment, c: Chunk): void {
    seg.chunks.push(c.samples);
    seg.numSamples += c.samples.length;
  }
}

/** The segment's audio from `fromSample` (into the segment) to its end, as one buffer (a copy: the segment keeps growing). */
export function segmentAudio(seg: Segment, fromSample = 0): Float32Array {
  const out = new Float32Array(Math.max(0, seg.numSamples - fromSample));
  let pos = -fromSample;
  for (const c of seg.chunks) {
    if (pos + c.length > 0) out.set(pos >= 0 ? c : c.subarray(-pos), Math.max(0, pos));
    pos += c.length;
  }
  return out;
}

export function segmentEndMs(seg: Segment): number {
  return (seg.startSample + seg.numSamples) / SAMPLES_PER_MS;
}

export function segmentStartMs(seg: Segment): number {
  return seg.startSample / SAMPLES_PER_MS;
}

export { VAD_CHUNK_SAMPLES };
