/**
 * Diarization through the real server: the two-speaker phone call streamed
 * with diarize=true gets finals whose words carry speaker labels (revised by
 * speaker_update messages), exactly two distinct speakers, and a DER against
 * the reference turns under 30% (collar 250 ms). The turns scored are the
 * labelled words as a client would show them: consecutive words of one
 * speaker joined across gaps under 1 s.
 */
import { expectBadConfigRefusals } from './helpers/refusals.js';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../server/app.js';
import { diarizationErrorRate, parseRttm, type SpeakerTurn } from '../eval/der.js';
import type { SpeakerUpdateMessage, TranscriptMessage } from '../protocol/messages.js';
import { sharedPath } from '../testkit/paths.js';
import { startTestServer, TestClient } from '../testkit/server.js';
import { readAudio16k, synthesize, toS16le } from '../testkit/speech.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer({ diarizationModel: sharedPath('models/pyannote-segmentation-3.0/model.int8.onnx') });
});
afterAll(async () => {
  await server.shutdown();
});

/** Each final with the labels its latest speaker_update gave it. */
function labelledFinals(client: TestClient): TranscriptMessage[] {
  const finals = new Map<number, TranscriptMessage>();
  for (const m of client.messages) {
    if (m.type === 'final') finals.set(m.segment_id, structuredClone(m));
    if (m.type === 'speaker_update') {
      const u = m as SpeakerUpdateMessage;
      const f = finals.get(u.segment_id);
      if (!f) throw new Error(`speaker_update for segment ${u.segment_id} before its final`);
      expect(u.word_speakers).toHaveLength(f.words.length);
      f.speaker = u.speaker;
      u.word_speakers.forEach((s, i) => (f.words[i].speaker = s));
    }
  }
  return [...finals.values()];
}

function wordTurns(finals: TranscriptMessage[], maxGapMs = 1000): SpeakerTurn[] {
  const turns: SpeakerTurn[] = [];
  const words = finals.flatMap((f) => f.words).filter((w) => w.speaker !== '').sort((a, b) => a.start_ms - b.start_ms);
  for (const w of words) {
    const last = turns.at(-1);
    if (last && last.speaker === w.speaker && w.start_ms - last.endMs < maxGapMs) last.endMs = Math.max(last.endMs, w.end_ms);
    else turns.push({ speaker: w.speaker, startMs: w.start_ms, endMs: w.end_ms });
  }
  return turns;
}

describe('diarization', () => {
  it('labels the phone call with two speakers matching the reference turns', async () => {
    const audio = readAudio16k(sharedPath('audio/phone-call/sample.wav'));
    const client = await TestClient.connect(server.port, 'diarize=true');
    await client.streamBytes(toS16le(audio), [3200]);
    client.send({ type: 'close' });
    await client.waitClosed(120_000);
    const finals = labelledFinals(client);
    const speakers = new Set(finals.flatMap((f) => f.words.map((w) => w.speaker)).filter((s) => s !== ''));
    const reference = parseRttm(readFileSync(sharedPath('audio/phone-call/sample.rttm'), 'utf8')).get('sample')!;
    const der = diarizationErrorRate(reference, wordTurns(finals));
    console.log(`phone call through the server: ${finals.length} finals, speakers ${[...speakers].join(',')}, ` +
      `DER ${(der.der * 100).toFixed(1)}% (missed ${der.missedMs} ms, false alarm ${der.falseAlarmMs} ms, confusion ${der.confusionMs} ms of ${der.referenceSpeechMs} ms), ` +
      `${client.messages.filter((m) => m.type === 'speaker_update').length} speaker updates`);
    expect(speakers.size).toBe(2);
    expect(der.der).toBeLessThan(0.3);
    for (const f of finals) if (f.words.length > 0) expect(f.speaker).not.toBe('');
  });

  it('streamed in real time, sends provisional labels with finals and revises them with speaker_update', async () => {
    const audio = readAudio16k(sharedPath('audio/phone-call/sample.wav')).subarray(0, 16000 * 16);
    // Short endpointing: finals come at the call's brief pauses, before the diarizer has settled them.
    const client = await TestClient.connect(server.port, 'diarize=true&endpointing_ms=200');
    await client.streamPcm(audio, 40, true);
    client.send({ type: 'close' });
    await client.waitClosed(60_000);
    const updates = client.messages.filter((m): m is SpeakerUpdateMessage => m.type === 'speaker_update');
    const finals = labelledFinals(client);
    console.log(`real time: ${finals.length} finals, ${updates.length} speaker updates`);
    expect(updates.length).toBeGreaterThan(0);
    // Every update follows its segment's final and settles on known speakers.
    for (const u of updates) {
      const finalAt = client.messages.findIndex((m) => m.type === 'final' && m.segment_id === u.segment_id);
      expect(finalAt).toBeGreaterThanOrEqual(0);
      expect(client.messages.indexOf(u)).toBeGreaterThan(finalAt);
    }
    const speakers = new Set(finals.flatMap((f) => f.words.map((w) => w.speaker)).filter((s) => s !== ''));
    expect([...speakers].every((s) => /^S\d+$/.test(s))).toBe(true);
    expect(speakers.size).toBeGreaterThanOrEqual(1);
  });

  it('respects max_speakers=2: the call, 12 s of silence, its first 16 s again get at most two labels', async () => {
    // Without the cap the speakers back after the silence get new labels (tests/diarization-engine.test.ts).
    // Under 60 s in all: the server's burst allowance for audio sent faster than real time.
    const call = readAudio16k(sharedPath('audio/phone-call/sample.wav'));
    const again = call.subarray(0, 16 * 16000);
    const audio = new Float32Array(call.length + 12 * 16000 + again.length);
    audio.set(call);
    audio.set(again, call.length + 12 * 16000);
    const client = await TestClient.connect(server.port, 'diarize=true&max_speakers=2');
    await client.streamBytes(toS16le(audio), [3200]);
    client.send({ type: 'close' });
    await client.waitClosed(180_000);
    const ready = client.messages.find((m) => m.type === 'ready');
    expect(ready).toMatchObject({ config: { diarize: true, max_speakers: 2 } });
    const finals = labelledFinals(client);
    const speakers = new Set(finals.flatMap((f) => [f.speaker, ...f.words.map((w) => w.speaker)]).filter((s) => s !== ''));
    console.log(`the call, silence, the call again with max_speakers=2: ${finals.length} finals, speakers ${[...speakers].join(',')}`);
    expect(speakers.size).toBeGreaterThan(0);
    expect(speakers.size).toBeLessThanOrEqual(2);
    // The audio after the silence is labelled too (with the same labels).
    const secondHalf = finals.filter((f) => f.start_ms > call.length / 16 + 12_000 && f.words.length > 0);
    expect(secondHalf.length).toBeGreaterThan(0);
    expect(secondHalf.some((f) => f.speaker !== '')).toBe(true);
  });

  it('refuses min_speakers above max_speakers, and out-of-range hints', async () => {
    const cases: [string, RegExp][] = [
      ['diarize=true&min_speakers=3&max_speakers=2', /min_speakers \(3\) must not exceed max_speakers \(2\)/],
      ['diarize=true&max_speakers=0', /max_speakers must be an integer from 1 to 32/],
      ['diarize=true&max_speakers=33', /max_speakers must be an integer from 1 to 32/],
    ];
    await expectBadConfigRefusals(server.port, cases);
  });

  it('refuses diarize=true on a server without a diarization model', async () => {
    const plain = await startTestServer();
    try {
      const client = await TestClient.connect(plain.port, 'diarize=true');
      client.ws.send(toS16le(synthesize('hello there')));
      await client.waitClosed();
      expect(client.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'bad_config', fatal: true });
    } finally {
      await plain.shutdown();
    }
  });
});
