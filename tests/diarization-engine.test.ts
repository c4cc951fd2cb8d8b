/**
 * The diarization engine with the real pyannote segmentation model on real
 * recordings, streamed as a live client would (500 ms chunks, a step after
 * each).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DiarizationDriver,
  DiarizationEngine,
  type DiarizationStream,
  type LabelChange,
  type SpeakerEmbedder,
  type SpeakerTurn,
} from '../engine/diarization/index.js';
import { diarizationErrorRate, parseRttm } from '../eval/der.js';
import { sharedPath } from '../testkit/paths.js';
import { readWav } from '../testkit/wav.js';

const MODEL_PATH = sharedPath('models', 'pyannote-segmentation-3.0', 'model.int8.onnx');
const CHUNK_SAMPLES = 8000;
const phoneCall = readWav(sharedPath('audio', 'phone-call', 'sample.wav')).samples;

/** STM lines: `file channel speaker start end words...` */
function readStm(path: string): { speaker: string; startMs: number; endMs: number }[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [, , speaker, start, end] = line.split(/\s+/);
      return { speaker, startMs: Number(start) * 1000, endMs: Number(end) * 1000 };
    });
}

/** Pushes `audio` in 500 ms chunks with a step after each; `afterChunk` sees how much audio was pushed. */
async function streamAudio(engine: DiarizationEngine, stream: DiarizationStream, audio: Float32Array, afterChunk?: (pushedMs: number) => void) {
  for (let at = 0; at < audio.length; at += CHUNK_SAMPLES) {
    const chunk = audio.subarray(at, Math.min(at + CHUNK_SAMPLES, audio.length));
    stream.pushAudio(chunk);
    await engine.step();
    afterChunk?.((at + chunk.length) / 16);
  }
}

function speechMsPerLabel(turns: SpeakerTurn[]): Map<string, number> {
  const perLabel = new Map<string, number>();
  for (const t of turns) perLabel.set(t.speaker, (perLabel.get(t.speaker) ?? 0) + t.endMs - t.startMs);
  return perLabel;
}

describe('diarization engine (pyannote segmentation-3.0)', () => {
  let engine: DiarizationEngine;
  beforeAll(async () => {
    engine = await DiarizationEngine.create({ segmentationModelPath: MODEL_PATH });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('diarizes the two-speaker phone call live: two speakers, DER under 30 %, stable answers', async () => {
    const turns: SpeakerTurn[] = [];
    const changes: LabelChange[] = [];
    const stream = engine.openStream('phone', { onTurn: (t) => turns.push(t), onRelabel: (c) => changes.push(...c) });

    // Ask for each utterance's speaker as a recogniser would: soon after it ends.
    const utterances = readStm(sharedPath('audio', 'phone-call', 'sample.stm'));
    const answers = new Map<string, string>(); // "start-end" → latest label
    let next = 0;
    const askUntil = (pushedMs: number) => {
      for (; next < utterances.length && utterances[next].endMs + 300 <= pushedMs; next++) {
        const u = utterances[next];
        answers.set(`${u.startMs}-${u.endMs}`, stream.speakerFor(u.startMs, u.endMs));
      }
    };
    await streamAudio(engine, stream, phoneCall, askUntil);
    askUntil(Infinity); // the last utterance ends with the audio
    stream.close();
    for (const c of changes) answers.set(`${c.startMs}-${c.endMs}`, c.speaker);

    const reference = parseRttm(readFileSync(sharedPath('audio', 'phone-call', 'sample.rttm'), 'utf8')).get('sample')!;
    const result = diarizationErrorRate(reference, turns, { collarMs: 250 });
    console.log(
      `phone-call DER (collar 250 ms) ${(100 * result.der).toFixed(1)} %: missed ${(result.missedMs / 1000).toFixed(2)} s, ` +
        `false alarm ${(result.falseAlarmMs / 1000).toFixed(2)} s, confusion ${(result.confusionMs / 1000).toFixed(2)} s ` +
        `of ${(result.referenceSpeechMs / 1000).toFixed(2)} s; ${changes.length} relabels`,
    );
    expect(result.der).toBeLessThan(0.3);

    // Exactly two labels carry the speech: each over 20 %, all others together under 5 %.
    const perLabel = [...speechMsPerLabel(turns).values()].sort((a, b) => b - a);
    const total = perLabel.reduce((a, b) => a + b, 0);
    expect(perLabel.length).toBeGreaterThanOrEqual(2);
    expect(perLabel[1] / total).toBeGreaterThan(0.2);
    expect(perLabel.slice(2).reduce((a, b) => a + b, 0) / total).toBeLessThan(0.05);

    // The live answers (after relabels) follow the reference speaker of each
    // utterance, except Sheila's two short interjections inside Diane's first
    // turn (7.6 s, 9.8 s), which the model hears as Diane.
    const labelOf = new Map([...result.mapping].map(([ref, hyp]) => [ref, hyp]));
    const stmToRttm: Record<string, string> = { Diane: 'speaker90', Sheila: 'speaker91' };
    const right = utterances.filter((u) => answers.get(`${u.startMs}-${u.endMs}`) === labelOf.get(stmToRttm[u.speaker]));
    expect(right.length).toBeGreaterThanOrEqual(utterances.length - 3);
    // Relabelled answers agree with what the stream says once everything is final.
    for (const u of utterances) expect(answers.get(`${u.startMs}-${u.endMs}`)).toBe(stream.speakerFor(u.startMs, u.endMs));
  });

  it('batches the windows of all streams into one model call per step', async () => {
    const a = engine.openStream('a');
    const b = engine.openStream('b');
    const c = engine.openStream('c');
    expect(engine.streamCount).toBe(3);
    expect(await engine.step()).toBe(0); // nothing ready
    a.pushAudio(phoneCall.subarray(0, CHUNK_SAMPLES));
    b.pushAudio(phoneCall.subarray(0, CHUNK_SAMPLES));
    c.pushAudio(phoneCall.subarray(0, 3 * CHUNK_SAMPLES)); // a backlog of three windows
    expect(await engine.step()).toBe(5);
    expect(await engine.step()).toBe(0);
    expect(() => engine.openStream('a')).toThrow(/already open/);
    for (const s of [a, b, c]) s.close();
    expect(engine.streamCount).toBe(0);
    expect(() => a.pushAudio(new Float32Array(10))).toThrow(/closed/);
  });

  it('a driver flush analyses a backlog longer than one batch (the audio of a stream sent faster than real time)', async () => {
    const e = await DiarizationEngine.create({ segmentationModelPath: MODEL_PATH, maxBatchWindows: 8 });
    const steps: number[] = [];
    const driver = new DiarizationDriver(e, 3_600_000, (n) => steps.push(n), (err) => {
      throw err;
    });
    const stream = e.openStream('backlog');
    stream.pushAudio(phoneCall.subarray(0, 16000 * 12)); // 24 windows: three batches
    await driver.flush();
    expect(steps).toEqual([8, 8, 8]);
    expect(stream.finalUntilMs).toBeGreaterThan(12_000 - 1100);
    stream.close();
    await driver.close();
  });

  it('respects maxSpeakers: the call, 12 s of silence, the call again gets two labels, not four', async () => {
    const at = (s: number) => Math.round(s * 16000);
    const parts = [phoneCall, new Float32Array(at(12)), phoneCall];
    const audio = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((offset, p) => (audio.set(p, offset), offset + p.length), 0);
    const labels = async (maxSpeakers?: number) => {
      const turns: SpeakerTurn[] = [];
      const stream = engine.openStream(`call-twice-${maxSpeakers}`, { onTurn: (t) => turns.push(t) }, { maxSpeakers });
      await streamAudio(engine, stream, audio);
      stream.close();
      return speechMsPerLabel(turns);
    };
    // Without embeddings nothing links the second call to the first: new labels.
    expect((await labels()).size).toBeGreaterThan(2);
    const capped = await labels(2);
    expect([...capped.keys()].sort()).toEqual(['S1', 'S2']);
    expect(() => engine.openStream('bad', {}, { minSpeakers: 3, maxSpeakers: 2 })).toThrow(/must not exceed/);
  });

  it('uses the embedder to recognise a speaker back after 12 s of silence', async () => {
    // Diane alone (11.1-14.4 s of the call), 12 s of silence, Diane again (18.6-21.45 s).
    const at = (s: number) => Math.round(s * 16000);
    const parts = [phoneCall.subarray(at(11.1), at(14.4)), new Float32Array(at(12)), phoneCall.subarray(at(18.6), at(21.45)), new Float32Array(at(1))];
    const audio = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((offset, p) => (audio.set(p, offset), offset + p.length), 0);

    const labelsWith = async (embedding?: SpeakerEmbedder) => {
      const e = await DiarizationEngine.create({ segmentationModelPath: MODEL_PATH, embedding });
      const turns: SpeakerTurn[] = [];
      const stream = e.openStream('diane', { onTurn: (t) => turns.push(t) });
      await streamAudio(e, stream, audio);
      stream.close();
      await e.close();
      return [...speechMsPerLabel(turns)].filter(([, ms]) => ms > 500).map(([label]) => label);
    };

    expect(await labelsWith()).toEqual(['S1', 'S2']);

    // One voice in this audio, so a constant vector is a perfect embedding of it.
    let calls = 0;
    let inputs = 0;
    const sameVoice: SpeakerEmbedder = {
      embed: async (speech) => {
        calls++;
        inputs += speech.length;
        expect(speech.every((s) => s.length >= 0.99 * 16000)).toBe(true); // about 1 s of clean speech at least
        return speech.map(() => Float32Array.of(0.6, 0.8));
      },
    };
    expect(await labelsWith(sameVoice)).toEqual(['S1']);
    expect(calls).toBeGreaterThan(0);
    expect(inputs).toBeGreaterThanOrEqual(calls);
  });
});
