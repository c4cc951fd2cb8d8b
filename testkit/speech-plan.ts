/**
 * Test kit: known speech for checking a session's transcript structure: sentences
 * synthesised by espeak-ng, laid out with silence between them, with where
 * each one lies in stream time; and a check that a session answered with
 * exactly one non-empty final per sentence, in order, each overlapping its
 * sentence, then a `closed` whose counts match; and a client that streams
 * one. Structural only: the fault, drain and soak tests (and the soak and
 * streams benches) check delivery, not accuracy (tests/server-streaming.test.ts
 * does that).
 */
import type { ServerMessage, TranscriptMessage } from '../protocol/messages.js';
import { TestClient } from './server.js';
import { concat, silence, synthesize } from './speech.js';

export const SENTENCES = [
  'please call stella at four fifteen tomorrow',
  'the train leaves at seven thirty from platform nine',
  'you will be called upon to help a friend in trouble',
  'if the very old will remember the very young will listen',
  'the covers of this book are too far apart',
  'never give a sucker an even break',
  'we counted forty two people at the station',
  'send the report to martha before june third',
  'the meeting moved to the second floor of the old building',
  'nobody knows how long the winter will last this year',
];

export const VOICES = ['en-us', 'en-gb', 'en-us+f3', 'en-gb-x-rp+m3', 'en-us+m7', 'en-gb-scotland+f2'];

export interface PlannedSentence {
  text: string;
  startMs: number;
  endMs: number;
}

export interface SpeechPlan {
  /** 16 kHz mono. */
  audio: Float32Array;
  sentences: PlannedSentence[];
}

/** `texts` spoken by `voice`, after `leadMs` of silence, each followed by `gapMs` (well over the default 500 ms endpointing). */
export function speechPlan(texts: string[], voice = 'en-us', leadMs = 300, gapMs = 1200): SpeechPlan {
  const parts = [silence(leadMs)];
  const sentences: PlannedSentence[] = [];
  let posMs = leadMs;
  for (const text of texts) {
    const speech = synthesize(text, { engine: 'espeak', voice });
    const ms = speech.length / 16;
    sentences.push({ text, startMs: posMs, endMs: posMs + ms });
    parts.push(speech, silence(gapMs));
    posMs += ms + gapMs;
  }
  return { audio: concat(...parts), sentences };
}

/**
 * What is wrong with a session that streamed all of `plan` and then sent
 * `close` (empty when nothing is): one final per sentence with text, segment
 * ids increasing, each final overlapping its sentence, no error, and a last
 * message `closed` with `reason`, the finals count and all the audio.
 */
export function sessionProblems(plan: SpeechPlan, messages: ServerMessage[], reason = 'client_close'): string[] {
  const problems: string[] = [];
  const finals = messages.filter((m): m is TranscriptMessage => m.type === 'final');
  if (finals.length !== plan.sentences.length) {
    problems.push(`${finals.length} finals for ${plan.sentences.length} sentences: ${JSON.stringify(finals.map((f) => [f.start_ms, f.end_ms, f.text]))}`);
  }
  finals.forEach((f, i) => {
    if (f.text.trim() === '') problems.push(`final ${i} (${f.start_ms}-${f.end_ms} ms) has no text`);
    if (i > 0 && f.segment_id <= finals[i - 1].segment_id) problems.push(`final ${i} has segment_id ${f.segment_id} after ${finals[i - 1].segment_id}`);
    const s = plan.sentences[i];
    if (s && !(f.start_ms < s.endMs && f.end_ms > s.startMs)) {
      problems.push(`final ${i} (${f.start_ms}-${f.end_ms} ms) does not overlap sentence ${i} (${Math.round(s.startMs)}-${Math.round(s.endMs)} ms)`);
    }
  });
  for (const e of messages.filter((m) => m.type === 'error')) problems.push(`error ${JSON.stringify(e)}`);
  const last = messages.at(-1);
  const audioMs = Math.round(plan.audio.length / 16);
  if (last?.type !== 'closed') problems.push(`last message is ${JSON.stringify(last)?.slice(0, 200)}, not closed`);
  else {
    if (last.reason !== reason) problems.push(`closed with reason ${last.reason}, not ${reason}`);
    if (last.finals_sent !== finals.length) problems.push(`closed says ${last.finals_sent} finals sent, ${finals.length} arrived`);
    if (last.audio_ms_received !== audioMs) problems.push(`closed says ${last.audio_ms_received} ms of audio received, ${audioMs} ms sent`);
  }
  return problems;
}

/** Streams all of `plan` in real time as one session (a `config` first, so `ready` comes before the audio), sends `close`, and returns every message the server sent. */
export async function runPlan(port: number, plan: SpeechPlan, timeoutMs = 60_000): Promise<ServerMessage[]> {
  const client = await TestClient.connect(port, 'encoding=pcm_s16le&sample_rate=16000');
  client.send({ type: 'config', config: { interim_results: true } });
  await client.waitFor((m) => m.some((x) => x.type === 'ready'), timeoutMs);
  await client.streamPcm(plan.audio);
  client.send({ type: 'close' });
  await client.waitClosed(timeoutMs);
  return client.messages;
}
