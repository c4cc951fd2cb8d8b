/**
 * Utterance sets for the recognizer benches: synthetic speech (espeak-ng, known
 * text, mixed lengths) and real read speech from LibriSpeech test-other in
 * ../shared/audio (no transcripts there), as 16 kHz float32 in memory.
 */
import { readdirSync } from 'node:fs';
import { readAudio16k, synthesize } from '../../testkit/speech.js';
import { sharedPath } from '../../testkit/paths.js';

const SENTENCES = [
  'please call stella at four fifteen tomorrow',
  'the train leaves at seven thirty from platform nine',
  'you will be called upon to help a friend in trouble',
  'if the very old will remember the very young will listen to the stories of the old days',
  'never give a sucker an even break',
  'we counted forty two people at the station before the doors opened in the morning',
  'send the report',
  'the meeting moved to the second floor of the old building near the river',
];
const VOICES = ['en-us', 'en-gb', 'en-us+f3', 'en-gb-x-rp+m3'];

export interface Utterance {
  name: string;
  audio: Float32Array;
}

/** `count` synthetic utterances cycling through the sentences (each synthesised once). */
export function syntheticUtterances(count: number): Utterance[] {
  const base = SENTENCES.slice(0, Math.min(count, SENTENCES.length)).map((s, i) => synthesize(s, { engine: 'espeak', voice: VOICES[i % VOICES.length] }));
  return Array.from({ length: count }, (_, i) => ({ name: `synthetic/${i % base.length}`, audio: base[i % base.length] }));
}

/** `count` LibriSpeech test-other utterances, taken round-robin over the speakers. */
export function librispeechUtterances(count: number): Utterance[] {
  const root = sharedPath('audio', 'librispeech-test-other');
  const speakers = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const files = speakers.map((s) => readdirSync(`${root}/${s}`).filter((f) => f.endsWith('.flac')).sort().map((f) => `${s}/${f}`));
  const picked: string[] = [];
  for (let round = 0; picked.length < count && files.some((f) => round < f.length); round++) {
    for (const f of files) if (round < f.length && picked.length < count) picked.push(f[round]);
  }
  return picked.map((f) => ({ name: `librispeech/${f}`, audio: readAudio16k(`${root}/${f}`) }));
}
