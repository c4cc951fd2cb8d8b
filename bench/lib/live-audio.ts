/**
 * The audio the live-client benches (streams, capacity, continuous) send:
 * a pool of synthetic utterances (espeak-ng, 10 sentences × 6 voices, known
 * text, with where the speech starts and ends in each clip) and clips of the
 * real recordings in ../shared/audio (no reference), and a builder that lays
 * items and silences end to end into one stream's s16le PCM while keeping
 * each item's place in stream time.
 */
import type { TranscriptMessage } from '../../protocol/messages.js';
import { readAudio16k, silence, synthesize, toS16le, concat } from '../../testkit/speech.js';
import { SENTENCES, VOICES } from '../../testkit/speech-plan.js';
import { sharedPath } from '../../testkit/paths.js';

const CLIP_MAX_MS = 15_000;
const RECORDINGS = ['jfk/jfk.flac', 'phone-call/sample.wav', 'librivox/beckett.wav', 'librivox/two_cities_16k.wav', 'librivox/endgame_nagg_nell.wav'];
/** Synthetic speech is noiseless, so speech is whatever rises above -40 dBFS. */
const SPEECH_THRESHOLD = 0.01;

export interface Item {
  /** Known text for synthetic speech; null for a recording. */
  reference: string | null;
  name: string;
  /** Stream time of the first and last speech sample (synthetic), or of the clip's ends (recording). */
  startMs: number;
  endMs: number;
}

/** One client's stream: all its audio as s16le 16 kHz, and the items in it. */
export interface Plan {
  pcm: Uint8Array;
  items: Item[];
}

export interface Clip {
  audio: Float32Array;
  /** Where the speech in the clip starts and ends (espeak-ng pads ~300 ms of silence at the end). */
  speechStartMs: number;
  speechEndMs: number;
}

export interface AudioPool {
  /** One entry per sentence, one clip per voice. */
  synthetic: Array<{ text: string; clips: Clip[] }>;
  recordings: Array<{ name: string; audio: Float32Array }>;
}

function synthesizeClip(text: string, voice: string): Clip {
  const audio = synthesize(text, { engine: 'espeak', voice });
  const first = audio.findIndex((x) => Math.abs(x) >= SPEECH_THRESHOLD);
  if (first < 0) throw new Error(`espeak-ng produced silence for "${text}" (${voice})`);
  let last = audio.length - 1;
  while (Math.abs(audio[last]) < SPEECH_THRESHOLD) last--;
  return { audio, speechStartMs: first / 16, speechEndMs: (last + 1) / 16 };
}

/** Whether a transcript message's time span overlaps an item's. */
export const overlaps = (m: TranscriptMessage, item: Item) => m.end_ms > item.startMs && m.start_ms < item.endMs;

/** Synthesises every sentence in every voice and reads the first 15 s of each recording. */
export function loadPool(): AudioPool {
  console.log('synthesising test speech, reading recordings ...');
  return {
    synthetic: SENTENCES.map((text) => ({ text, clips: VOICES.map((voice) => synthesizeClip(text, voice)) })),
    recordings: RECORDINGS.map((name) => ({ name, audio: readAudio16k(sharedPath('audio', name)).subarray(0, CLIP_MAX_MS * 16) })),
  };
}

/** Lays audio end to end; `posMs` is the stream time where the next part goes. */
export class PlanBuilder {
  posMs = 0;
  private readonly parts: Float32Array[] = [];
  private readonly items: Item[] = [];

  silence(ms: number): void {
    this.push(silence(ms));
  }

  /** A synthetic utterance with its known text; `trim` drops the silence espeak-ng puts around the speech. */
  utterance(text: string, clip: Clip, trim = false): void {
    const [from, to] = trim ? [clip.speechStartMs, clip.speechEndMs] : [0, clip.audio.length / 16];
    const startMs = this.posMs + clip.speechStartMs - from;
    this.items.push({ reference: text, name: 'synthetic', startMs, endMs: startMs + clip.speechEndMs - clip.speechStartMs });
    this.push(clip.audio.subarray(Math.round(from * 16), Math.round(to * 16)));
  }

  /** A clip of a real recording (no reference text). */
  recording(name: string, audio: Float32Array): void {
    this.items.push({ reference: null, name, startMs: this.posMs, endMs: this.posMs + audio.length / 16 });
    this.push(audio);
  }

  build(): Plan {
    return { pcm: toS16le(concat(...this.parts)), items: this.items };
  }

  private push(audio: Float32Array): void {
    this.parts.push(audio);
    this.posMs += audio.length / 16;
  }
}

/** The `j`th synthetic utterance of a stream: sentences in turn, voices in a different order. */
export function syntheticAt(pool: AudioPool, j: number): { text: string; clip: Clip } {
  const s = pool.synthetic[j % pool.synthetic.length];
  return { text: s.text, clip: s.clips[(j * 7) % s.clips.length] };
}

/**
 * Stream `streamIndex`'s plan: a lead-in silence of 300-999 ms that differs
 * by stream (so streams do not speak in lockstep), then `item(b, j)` for
 * j = streamIndex, streamIndex + 1, ... until `seconds` of audio are laid.
 */
export function streamPlan(streamIndex: number, seconds: number, item: (b: PlanBuilder, j: number) => void): Plan {
  const b = new PlanBuilder();
  b.silence(300 + ((streamIndex * 97) % 700));
  for (let j = streamIndex; b.posMs < seconds * 1000; j++) item(b, j);
  return b.build();
}
