/**
 * Diarization state of one audio stream: its audio since the next window,
 * which windows are ready, how each window's local speakers become global
 * speakers (overlap linking, then embeddings when there are any), the
 * merging of two speakers that their embeddings show to be one person, the
 * aggregated timeline, the committed labels, and the answers to the server.
 * The engine runs the model; this module only consumes its decoded output.
 *
 * Window k ends at most one frame step (17 ms) before (k + 1) * step, so the
 * first window is ready after one step: it reaches 10 s back and the part
 * before the stream start is zeros (silence to the model). Window starts are
 * snapped to the model's 270-sample frame grid so window frames fall exactly
 * on stream frames.
 */
import type { SpeakerTurn } from './turns.js';
import {
  FRAME_STEP_MS,
  FRAME_STEP_SAMPLES,
  LOCAL_SPEAKERS,
  WINDOW_FRAMES,
  WINDOW_SAMPLES,
  firstFrameFromMs,
  frameStartMs,
  msToFrameCount,
  nearestFrameToMs,
} from './frames.js';
import { SpeakerClustering } from './clustering.js';
import { linkLocalSpeakers } from './linking.js';
import { ActivityTimeline } from './timeline.js';
import { NO_SPEAKER, SpeakerHistory, majoritySpeaker } from './history.js';
import { TurnBuilder } from './turns.js';
import type { StreamConfig } from './options.js';

/** A span answered by speakerFor whose label changed when its frames became final. */
export interface LabelChange {
  startMs: number;
  endMs: number;
  /** label given before ('' when unknown then) */
  previous: string;
  /** final label ('' when nobody speaks in the span) */
  speaker: string;
}

/** Two labels found to be one person: every `from` label given so far now reads `into`. */
export interface SpeakerMerge {
  from: string;
  into: string;
}

export interface DiarizationListener {
  /** Called after a step (or close) with spans whose earlier answer changed. */
  onRelabel?(changes: LabelChange[]): void;
  /** Called once per finished speaker turn, in commit order (turns of different speakers may overlap). */
  onTurn?(turn: SpeakerTurn): void;
  /**
   * Called when embeddings show two labels to be one person (only with an
   * embedder, and only for labels already given out); later answers and
   * turns use `into`, and spans answered `from` are not re-reported through
   * onRelabel: the listener rewrites them.
   */
  onMerge?(merge: SpeakerMerge): void;
}

/**
 * Per-stream hints on how many people speak (Deepgram / AssemblyAI style
 * session parameters). maxSpeakers is a hard cap: the stream never reports
 * more distinct speakers, nor more at once. minSpeakers is a hint: until that
 * many speakers are known, a newcomer needs half the usual speech to be one
 * (without an embedder; with one, newcomers are decided by their embeddings).
 */
export interface SpeakerHints {
  minSpeakers?: number;
  maxSpeakers?: number;
}

/** Throws on hints that are not positive integers or where min exceeds max. */
export function checkSpeakerHints(hints: SpeakerHints): void {
  for (const [name, value] of [['minSpeakers', hints.minSpeakers], ['maxSpeakers', hints.maxSpeakers]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) throw new Error(`${name} must be a positive integer`);
  }
  if (hints.minSpeakers !== undefined && hints.maxSpeakers !== undefined && hints.minSpeakers > hints.maxSpeakers) {
    throw new Error('minSpeakers must not exceed maxSpeakers');
  }
}

export interface DiarizationStream {
  readonly id: string;
  /** Labels of audio before this time are final. */
  readonly finalUntilMs: number;
  /** Appends 16 kHz mono audio. */
  pushAudio(samples16k: Float32Array): void;
  /**
   * Label ('S1', 'S2', ...) of the speaker heard most over [startMs, endMs), or
   * '' when nobody is heard there or it is not analysed yet. Answers on spans
   * not final yet are re-checked; changes arrive through onRelabel.
   */
  speakerFor(startMs: number, endMs: number): string;
  /** Makes everything analysed so far final (last turns, last relabels) and leaves the engine. */
  close(): void;
}

interface PendingQuery {
  startMs: number;
  endMs: number;
  fromFrame: number;
  toFrame: number;
  label: string;
}

export class StreamDiarizer implements DiarizationStream {
  private readonly timeline = new ActivityTimeline();
  private readonly history: SpeakerHistory;
  private readonly turns = new TurnBuilder();
  private readonly clustering: SpeakerClustering | undefined;
  private readonly latencyFrames: number;
  private readonly pending: PendingQuery[] = [];
  private nextSpeakerId = 0;
  /** Speaker ids merged into another (see mergeSameSpeakers); they are never reused. */
  private readonly mergedInto = new Map<number, number>();
  /** Last frame each global speaker was heard on (activity 0.5 or more in a window), for reusing ids under maxSpeakers. */
  private readonly lastHeard = new Map<number, number>();
  private readonly maxSpeakers: number;
  private readonly minSpeakers: number;
  /**
   * Display label per speaker id, given on first appearance in an answer or a
   * turn: many ids are tried briefly and never heard, and labels must stay
   * S1, S2, ... in the order users meet them.
   */
  private readonly labels = new Map<number, string>();
  /** The last window's activities per global speaker (WINDOW_FRAMES each), for linking the next one. */
  private previousWindow: { startFrame: number; columns: Map<number, Float32Array> } | undefined;
  private nextWindow = 0;
  private closed = false;

  /** Audio from stream sample `audioStartSample` on; only what windows still need. */
  private audio = new Float32Array(2 * WINDOW_SAMPLES);
  private audioLength = 0;
  private audioStartSample = 0;

  constructor(
    readonly id: string,
    private readonly config: StreamConfig,
    private readonly listener: DiarizationListener,
    private readonly onClose: (stream: StreamDiarizer) => void,
    hints: SpeakerHints = {},
  ) {
    checkSpeakerHints(hints);
    this.maxSpeakers = hints.maxSpeakers ?? Infinity;
    this.minSpeakers = hints.minSpeakers ?? 0;
    this.history = new SpeakerHistory(msToFrameCount(config.historyMs));
    this.latencyFrames = msToFrameCount(config.latencyMs);
    this.clustering = config.useEmbeddings
      ? new SpeakerClustering({ maxCosineDistance: config.maxCosineDistance, maxCentroids: config.maxCentroids })
      : undefined;
  }

  get finalUntilMs(): number {
    return frameStartMs(this.history.endFrame);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  pushAudio(samples16k: Float32Array): void {
    if (this.closed) throw new Error(`diarization stream ${this.id} is closed`);
    if (this.audioLength + samples16k.length > this.audio.length) {
      const grown = new Float32Array(Math.max(2 * this.audio.length, this.audioLength + samples16k.length));
      grown.set(this.audio.subarray(0, this.audioLength));
      this.audio = grown;
    }
    this.audio.set(samples16k, this.audioLength);
    this.audioLength += samples16k.length;
  }

  /** Windows whose audio has fully arrived and that have not been analysed, oldest first (by index). */
  readyWindows(): number[] {
    const receivedSamples = this.audioStartSample + this.audioLength;
    const endSample = (k: number) => windowStartFrame(k, this.config.stepSamples) * FRAME_STEP_SAMPLES + WINDOW_SAMPLES;
    const ready: number[] = [];
    for (let k = this.nextWindow; endSample(k) <= receivedSamples; k++) ready.push(k);
    return ready;
  }

  /** Writes window k's audio into `out` (WINDOW_SAMPLES, zero-filled by the caller). */
  copyWindowAudio(k: number, out: Float32Array): void {
    const startSample = windowStartFrame(k, this.config.stepSamples) * FRAME_STEP_SAMPLES;
    // Samples before the stream start stay zero.
    const from = Math.max(startSample, 0);
    if (from < this.audioStartSample) throw new Error(`audio of window ${k} was already dropped`);
    const to = startSample + WINDOW_SAMPLES;
    out.set(this.audio.subarray(from - this.audioStartSample, to - this.audioStartSample), from - startSample);
  }

  /**
   * Consumes the model's output for window k (which must be the next one).
   * @param activities row-major [WINDOW_FRAMES, 3] local speaker activities
   * @param embeddings per local speaker, its embedding or null (all null without an embedder)
   */
  applyWindow(k: number, activities: Float32Array, embeddings: readonly (Float32Array | null)[]): void {
    if (k !== this.nextWindow) throw new Error(`window ${k} applied out of order (expected ${this.nextWindow})`);
    const startFrame = windowStartFrame(k, this.config.stepSamples);
    const globalOf = this.assignSpeakers(startFrame, activities, embeddings);

    const columns = new Map<number, Float32Array>();
    globalOf.forEach((speaker, local) => {
      const column = new Float32Array(WINDOW_FRAMES);
      for (let f = 0; f < WINDOW_FRAMES; f++) {
        column[f] = activities[f * LOCAL_SPEAKERS + local];
        if (column[f] >= 0.5) this.lastHeard.set(speaker, Math.max(this.lastHeard.get(speaker) ?? -Infinity, startFrame + f));
      }
      columns.set(speaker, column);
    });
    this.timeline.addWindow(startFrame, columns, localSpeakerCounts(activities));
    this.previousWindow = { startFrame, columns };
    if (this.clustering) this.mergeSameSpeakers(globalOf, embeddings);
    this.commitUntil(this.timeline.endFrame - this.latencyFrames);

    this.nextWindow++;
    this.dropAudioBefore(windowStartFrame(this.nextWindow, this.config.stepSamples) * FRAME_STEP_SAMPLES);
  }

  speakerFor(startMs: number, endMs: number): string {
    let fromFrame = firstFrameFromMs(startMs);
    let toFrame = firstFrameFromMs(endMs);
    if (toFrame <= fromFrame) {
      // No frame centre inside (shorter than a frame step): the frame nearest the middle.
      fromFrame = Math.max(0, nearestFrameToMs((startMs + endMs) / 2));
      toFrame = fromFrame + 1;
    }
    const label = this.labelOver(fromFrame, toFrame);
    if (!this.closed && toFrame > this.history.endFrame) {
      if (this.pending.length >= this.config.maxPendingQueries) this.pending.shift();
      this.pending.push({ startMs, endMs, fromFrame, toFrame, label });
    }
    return label;
  }

  close(): void {
    if (this.closed) return;
    this.commitUntil(this.timeline.endFrame);
    for (const turn of this.turns.finish(this.history.endFrame)) this.emitTurn(turn.speaker, turn.startFrame, turn.endFrame);
    this.resolvePending(true);
    this.closed = true;
    this.onClose(this);
  }

  /** Global speaker of each local speaker that takes part in this window (local index → id). */
  private assignSpeakers(
    startFrame: number,
    activities: Float32Array,
    embeddings: readonly (Float32Array | null)[],
  ): Map<number, number> {
    // Overlap linking against the previous window (see linking.ts).
    const previous = this.previousWindow;
    const sharedFrom = Math.max(0, startFrame);
    const sharedTo = previous ? previous.startFrame + WINDOW_FRAMES : sharedFrom;
    const offsetInPrevious = previous ? sharedFrom - previous.startFrame : 0;
    const candidates = previous ? [...previous.columns] : [];
    const links = linkLocalSpeakers(
      activities.subarray((sharedFrom - startFrame) * LOCAL_SPEAKERS, (sharedTo - startFrame) * LOCAL_SPEAKERS),
      sharedTo - sharedFrom,
      candidates.map(([, column]) => column.subarray(offsetInPrevious, offsetInPrevious + sharedTo - sharedFrom)),
      { minAgreement: this.config.minAgreement, minSharedFrames: msToFrameCount(this.config.minSharedMs) },
    );
    const globalOf = new Map<number, number>();
    links.forEach((j, local) => {
      if (j >= 0) globalOf.set(local, candidates[j][0]);
    });

    const taken = new Set(globalOf.values());
    for (let local = 0; local < LOCAL_SPEAKERS; local++) {
      if (globalOf.has(local)) continue;
      let speaker: number | undefined;
      if (this.clustering) {
        // With embeddings a newcomer must be heard clearly enough to be embedded,
        // so that a returning speaker is recognised instead of becoming new.
        const embedding = embeddings[local];
        if (!embedding) continue;
        speaker = this.clustering.identify(embedding, taken) ?? this.newSpeaker(taken, embedding);
      } else {
        const needMs = this.nextSpeakerId < this.minSpeakers ? this.config.minNewSpeakerMs / 2 : this.config.minNewSpeakerMs;
        if (speechMs(activities, local, startFrame, this.config.newSpeakerActivity) >= needMs) speaker = this.newSpeaker(taken);
      }
      if (speaker === undefined) continue;
      globalOf.set(local, speaker);
      taken.add(speaker);
    }

    if (this.clustering) {
      for (const [local, speaker] of globalOf) {
        const embedding = embeddings[local];
        if (embedding) this.clustering.update(speaker, embedding);
      }
    }
    return globalOf;
  }

  /**
   * A new global speaker id, or under maxSpeakers, once that many exist, a
   * known one not taken in this window: the nearest by embedding when there is
   * one, else the one heard least recently (in a conversation the person who
   * has been quiet longest is the likeliest to speak next). Undefined when all
   * known speakers are taken in this window.
   */
  private newSpeaker(taken: ReadonlySet<number>, embedding?: Float32Array): number | undefined {
    if (this.nextSpeakerId - this.mergedInto.size < this.maxSpeakers) return this.nextSpeakerId++;
    if (embedding && this.clustering) {
      const nearest = this.clustering.identify(embedding, taken, Infinity);
      if (nearest !== undefined) return nearest;
    }
    let best: number | undefined;
    let bestHeard = Infinity;
    for (let id = 0; id < this.nextSpeakerId; id++) {
      if (taken.has(id) || this.mergedInto.has(id)) continue;
      const heard = this.lastHeard.get(id) ?? -Infinity;
      if (best === undefined || heard < bestHeard) {
        best = id;
        bestHeard = heard;
      }
    }
    return best;
  }

  /**
   * Merges speakers of this window whose centroids have come within
   * mergeCosineDistance of another known speaker's: a returning person who
   * was first heard too briefly (or too noisily) to be recognised, and got a
   * new id, is folded back into their earlier one once their embeddings say
   * so. Speakers heard in the same window are never merged (two voices at
   * once are two people). The id whose label users saw first stays.
   */
  private mergeSameSpeakers(globalOf: ReadonlyMap<number, number>, embeddings: readonly (Float32Array | null)[]): void {
    const clustering = this.clustering!;
    const inWindow = new Set(globalOf.values());
    for (const [local, speaker] of globalOf) {
      if (!embeddings[local] || this.mergedInto.has(speaker)) continue;
      const other = clustering.sameAs(speaker, inWindow, this.config.mergeCosineDistance, this.config.minMergeEmbeddings);
      if (other === undefined) continue;
      const [keep, drop] = this.shownBefore(speaker, other) ? [speaker, other] : [other, speaker];
      clustering.merge(drop, keep);
      this.timeline.mergeSpeaker(drop, keep);
      this.lastHeard.set(keep, Math.max(this.lastHeard.get(keep) ?? -Infinity, this.lastHeard.get(drop) ?? -Infinity));
      this.lastHeard.delete(drop);
      const column = this.previousWindow!.columns.get(drop);
      if (column) {
        this.previousWindow!.columns.delete(drop);
        this.previousWindow!.columns.set(keep, column);
      }
      this.mergedInto.set(drop, keep);
      const dropLabel = this.labels.get(drop);
      if (dropLabel === undefined) continue; // never shown: nothing to rewrite
      const merge = { from: dropLabel, into: this.labelOf(keep) };
      for (const q of this.pending) if (q.label === merge.from) q.label = merge.into;
      this.listener.onMerge?.(merge);
    }
  }

  /** Whether users met a's label before b's (labels count up as they are shown; unshown ones last, then by id). */
  private shownBefore(a: number, b: number): boolean {
    const rank = (id: number) => {
      const label = this.labels.get(id);
      return label === undefined ? Infinity : Number(label.slice(1));
    };
    return rank(a) !== rank(b) ? rank(a) < rank(b) : a < b;
  }

  /** The id a speaker's frames count for now (itself unless merged into another). */
  private canonical(speaker: number): number {
    let id = speaker;
    for (let next = this.mergedInto.get(id); next !== undefined; next = this.mergedInto.get(id)) id = next;
    return id;
  }

  /** Makes frames below `endFrame` final: history, turns, relabels. */
  private commitUntil(endFrame: number): void {
    if (endFrame <= this.history.endFrame) return;
    for (let g = this.history.endFrame; g < endFrame; g++) {
      const active = this.activeAt(g);
      this.history.push(active[0] ?? NO_SPEAKER);
      for (const turn of this.turns.next(g, active)) this.emitTurn(turn.speaker, turn.startFrame, turn.endFrame);
    }
    this.resolvePending(false);
  }

  private resolvePending(all: boolean): void {
    const changes: LabelChange[] = [];
    for (let i = 0; i < this.pending.length; ) {
      const q = this.pending[i];
      if (!all && q.toFrame > this.history.endFrame) {
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      const speaker = this.labelOver(q.fromFrame, q.toFrame);
      if (speaker !== q.label) changes.push({ startMs: q.startMs, endMs: q.endMs, previous: q.label, speaker });
    }
    if (changes.length > 0) this.listener.onRelabel?.(changes);
  }

  /** Majority label over frames: final ones from the history, newer ones from the current aggregation. */
  private labelOver(fromFrame: number, toFrame: number): string {
    const speakers: number[] = [];
    for (let g = fromFrame; g < toFrame; g++) {
      const final = this.history.speakerAt(g);
      if (final !== undefined) speakers.push(final === NO_SPEAKER ? final : this.canonical(final));
      else if (g >= this.history.endFrame && g < this.timeline.endFrame) {
        speakers.push(this.activeAt(g)[0] ?? NO_SPEAKER);
      }
    }
    return this.labelOf(majoritySpeaker(speakers));
  }

  /** Speakers on a covered frame, most active first. */
  private activeAt(frame: number): number[] {
    return this.config.aggregation === 'count'
      ? this.timeline.activeByCount(frame, this.config.minActivity, this.maxSpeakers)
      : this.timeline.activeAt(frame, this.config.activityThreshold).slice(0, this.maxSpeakers);
  }

  private emitTurn(speaker: number, startFrame: number, endFrame: number): void {
    this.listener.onTurn?.({ speaker: this.labelOf(speaker), startMs: frameStartMs(startFrame), endMs: frameStartMs(endFrame) });
  }

  private labelOf(speaker: number): string {
    if (speaker === NO_SPEAKER) return '';
    const id = this.canonical(speaker);
    let label = this.labels.get(id);
    if (label === undefined) {
      label = `S${this.labels.size + 1}`;
      this.labels.set(id, label);
    }
    return label;
  }

  private dropAudioBefore(sample: number): void {
    const drop = Math.min(sample - this.audioStartSample, this.audioLength);
    if (drop <= 0) return;
    this.audio.copyWithin(0, drop, this.audioLength);
    this.audioLength -= drop;
    this.audioStartSample += drop;
  }
}

/**
 * First stream frame of window k: the window ends (k + 1) steps in, snapped
 * down to the frame grid so that it is ready as soon as that much audio is.
 */
export function windowStartFrame(k: number, stepSamples: number): number {
  return Math.floor(((k + 1) * stepSamples - WINDOW_SAMPLES) / FRAME_STEP_SAMPLES);
}

/**
 * Speech of a local speaker on the window's frames inside the stream: the
 * frames where its activity reaches `minActivity` (0: the expected speech, the
 * sum of its activity).
 */
function speechMs(activities: Float32Array, local: number, startFrame: number, minActivity: number): number {
  let frames = 0;
  for (let f = Math.max(0, -startFrame); f < WINDOW_FRAMES; f++) {
    const a = activities[f * LOCAL_SPEAKERS + local];
    if (minActivity <= 0) frames += a;
    else if (a >= minActivity) frames++;
  }
  return frames * FRAME_STEP_MS;
}

/** Per window frame, how many local speakers the window hears (expected count for soft activities). */
function localSpeakerCounts(activities: Float32Array): Float32Array {
  const counts = new Float32Array(WINDOW_FRAMES);
  for (let f = 0; f < WINDOW_FRAMES; f++) {
    let n = 0;
    for (let k = 0; k < LOCAL_SPEAKERS; k++) n += activities[f * LOCAL_SPEAKERS + k];
    counts[f] = n;
  }
  return counts;
}
