/**
 * Speaker embeddings in diarization, with the real pyannote segmentation
 * model and the project's stand-in embedding model (models/
 * speaker-embedding-standin: a WeSpeaker-contract ONNX trained on synthetic
 * voices only, tools/train-speaker-embedding) on synthetic dialogues, whose
 * turns are known exactly: a speaker back after 20 s of silence keeps their
 * label, two labels found to be one person are merged with speaker_update,
 * max_speakers holds, and a bad model file is refused at start. Also the
 * input contracts of sherpa-onnx's exports, read from metadata.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiarizationEngine, SpeakerEmbeddingModel, type DiarizationStream } from '../engine/diarization/index.js';
import { embeddingContract, embeddingFeeds } from '../engine/diarization/embedding-contract.js';
import { cosineDistance } from '../engine/diarization/clustering.js';
import { SpeakerLabeler } from '../engine/speaker-labeler.js';
import type { StreamEvent, Transcript } from '../engine/events.js';
import { PROJECT_ROOT } from '../engine/project-root.js';
import { sharedPath } from '../testkit/paths.js';
import { concat, silence, synthesize, type Voice } from '../testkit/speech.js';
import { startTestServer } from '../testkit/server.js';

const SEGMENTATION = sharedPath('models', 'pyannote-segmentation-3.0', 'model.int8.onnx');
const STANDIN = path.join(PROJECT_ROOT, 'models', 'speaker-embedding-standin', 'model.onnx');
const CHUNK_SAMPLES = 8000;

const ALICE: Voice = { engine: 'espeak', voice: 'en-us+m3' };
const BOB: Voice = { engine: 'flite', voice: 'slt' };
const CAROL: Voice = { engine: 'espeak', voice: 'en-gb+f2' };

interface Turn {
  who: string;
  startMs: number;
  endMs: number;
}

/** Speech of each turn back to back (0.4 s apart; `silenceMs` entries are pauses): the audio and where each turn lies. */
function dialogue(parts: ([string, Voice, string] | number)[]): { audio: Float32Array; turns: Turn[] } {
  const pieces: Float32Array[] = [];
  const turns: Turn[] = [];
  let atMs = 0;
  for (const part of parts) {
    const piece = typeof part === 'number' ? silence(part) : concat(synthesize(part[2], part[1]), silence(400));
    if (typeof part !== 'number') turns.push({ who: part[0], startMs: atMs, endMs: atMs + (piece.length - 6400) / 16 });
    pieces.push(piece);
    atMs += piece.length / 16;
  }
  return { audio: concat(...pieces, silence(2000)), turns };
}

const TEXT = [
  'good morning everyone, thank you for joining the weekly planning meeting today',
  'we should look at the budget first and then talk about the schedule for next month',
  'i agree with that, the numbers from last quarter were better than we expected',
  'let me share the figures so that everybody can see what we are talking about',
  'after the break we will come back to the open questions from the last meeting',
];

async function stream(engine: DiarizationEngine, s: DiarizationStream, audio: Float32Array): Promise<void> {
  for (let at = 0; at < audio.length; at += CHUNK_SAMPLES) {
    s.pushAudio(audio.subarray(at, Math.min(at + CHUNK_SAMPLES, audio.length)));
    await engine.step();
  }
}

/** The label the closed stream gives each turn (its middle 60 %, away from the edges). */
function turnLabels(s: DiarizationStream, turns: Turn[]): string[] {
  return turns.map((t) => {
    const d = t.endMs - t.startMs;
    return s.speakerFor(t.startMs + 0.2 * d, t.endMs - 0.2 * d);
  });
}

describe('speaker-embedding contracts', () => {
  it('reads the contracts of WeSpeaker, 3D-Speaker and NeMo exports from their metadata, and refuses others clearly', () => {
    const wespeaker = embeddingContract({ framework: 'wespeaker', sample_rate: '16000', output_dim: '256', normalize_samples: '0' }, ['feats'], ['embs'], 'm');
    expect(wespeaker).toMatchObject({ framework: 'wespeaker', outputDim: 256, int16Samples: true, normalize: 'none', featureInput: 'feats', output: 'embs' });
    const campplus = embeddingContract(
      { framework: '3d-speaker', sample_rate: '16000', output_dim: '192', normalize_samples: '1', feature_normalize_type: 'global-mean' },
      ['x'],
      ['embedding'],
      'm',
    );
    expect(campplus).toMatchObject({ int16Samples: false, normalize: 'global-mean' });
    const titanet = embeddingContract(
      { framework: 'nemo', sample_rate: '16000', output_dim: '192', feat_dim: '80', window_size_ms: '25', window_stride_ms: '10', feature_normalize_type: 'per_feature', window_type: 'hann' },
      ['audio_signal', 'length'],
      ['logits', 'embs'],
      'm',
    );
    expect(titanet).toMatchObject({ normalize: 'per-feature', featureInput: 'audio_signal', lengthsInput: 'length', output: 'embs' });

    expect(() => embeddingContract({ sample_rate: '16000', output_dim: '8' }, ['x'], ['y'], 'f.onnx')).toThrow(/f\.onnx: metadata framework is missing/);
    expect(() => embeddingContract({ framework: 'wespeaker', sample_rate: '8000', output_dim: '8' }, ['x'], ['y'], 'm')).toThrow(/only 16000/);
    expect(() => embeddingContract({ framework: 'wespeaker', sample_rate: '16000' }, ['x'], ['y'], 'm')).toThrow(/output_dim missing/);
    expect(() => embeddingContract({ framework: 'nemo', sample_rate: '16000', output_dim: '8', window_stride_ms: '25' }, ['a', 'b'], ['c', 'd'], 'm')).toThrow(/25 \/ 10/);

    // Batches: shorter pieces repeat to the longest (WeSpeaker); NeMo gets zero padding and the true lengths, channel-major.
    const piece = (frames: number, value: number) => ({ data: new Float32Array(frames * 80).fill(value), numFrames: frames, numBins: 80 });
    const feeds = embeddingFeeds([piece(3, 1), piece(2, 2)], wespeaker);
    expect(feeds.feats.dims).toEqual([2, 3, 80]);
    expect([...feeds.feats.data.subarray(240, 480)].every((x) => x === 2)).toBe(true);
    const nemo = embeddingFeeds([piece(3, 1), piece(2, 2)], titanet);
    expect(nemo.audio_signal.dims).toEqual([2, 80, 3]);
    expect([...nemo.length.data]).toEqual([3n, 2n]);
    expect(nemo.audio_signal.data[240 + 2]).toBe(0);
  });
});

describe('diarization with the stand-in embedding model', () => {
  let embedder: SpeakerEmbeddingModel;
  let standin: DiarizationEngine;
  let plain: DiarizationEngine;
  // Alice and Bob talk, both fall silent for 20 s, then Alice comes back, then Bob.
  const { audio, turns } = dialogue([
    ['alice', ALICE, TEXT[0]],
    ['bob', BOB, TEXT[1]],
    ['alice', ALICE, TEXT[2]],
    ['bob', BOB, TEXT[3]],
    20_000,
    ['alice', ALICE, TEXT[4]],
    ['bob', BOB, TEXT[0]],
  ]);

  beforeAll(async () => {
    embedder = await SpeakerEmbeddingModel.load(STANDIN, 1);
    standin = await DiarizationEngine.create({ segmentationModelPath: SEGMENTATION, embedding: embedder });
    plain = await DiarizationEngine.create({ segmentationModelPath: SEGMENTATION });
  });
  afterAll(async () => {
    await standin?.close();
    await plain?.close();
    await embedder?.close();
  });

  it('the stand-in puts one voice nearer itself than another voice', async () => {
    expect(embedder.contract).toMatchObject({ framework: 'wespeaker', outputDim: 128, int16Samples: true });
    const [a1, a2, b1] = await embedder.embed([synthesize(TEXT[0], ALICE), synthesize(TEXT[1], ALICE), synthesize(TEXT[1], BOB)]);
    console.log(`stand-in distances: same voice ${cosineDistance(a1, a2).toFixed(3)}, other voice ${cosineDistance(a1, b1).toFixed(3)}, ${cosineDistance(a2, b1).toFixed(3)}`);
    expect(cosineDistance(a1, a2)).toBeLessThan(cosineDistance(a1, b1));
    expect(cosineDistance(a1, a2)).toBeLessThan(cosineDistance(a2, b1));
  });

  it('a speaker back after 20 s of silence keeps their label with embeddings, and gets a new one without', async () => {
    const labels = async (engine: DiarizationEngine, id: string) => {
      const s = engine.openStream(id);
      await stream(engine, s, audio);
      s.close();
      return turnLabels(s, turns);
    };
    const withEmbeddings = await labels(standin, 'with');
    const without = await labels(plain, 'without');
    console.log(`turn labels with embeddings ${withEmbeddings.join(' ')}, without ${without.join(' ')}`);
    const [alice1, bob1, alice2, bob2, alice3, bob3] = withEmbeddings;
    expect(alice1).toMatch(/^S\d$/);
    expect(bob1).toMatch(/^S\d$/);
    expect(bob1).not.toBe(alice1);
    expect([alice2, alice3]).toEqual([alice1, alice1]);
    expect([bob2, bob3]).toEqual([bob1, bob1]);
    // Without embeddings, nothing links the voices after the silence to those before it.
    expect(without[4]).not.toBe(without[0]);
  }, 300_000);

  it('max_speakers=2 holds with embeddings: a third voice goes to a known label', async () => {
    const three = dialogue([['alice', ALICE, TEXT[0]], ['bob', BOB, TEXT[1]], 12_000, ['carol', CAROL, TEXT[2]], ['alice', ALICE, TEXT[3]]]);
    const s = standin.openStream('capped', {}, { maxSpeakers: 2 });
    await stream(standin, s, three.audio);
    s.close();
    const labels = turnLabels(s, three.turns);
    expect(labels.every((l) => l === 'S1' || l === 'S2')).toBe(true);
    expect(new Set(labels).size).toBe(2);
  }, 300_000);

  it('merges two labels that turn out to be one person, and rewrites finals already sent with speaker_update', async () => {
    // A join threshold no embedding meets makes Alice's and Bob's returns new
    // labels; the merge threshold then finds each to be one person with
    // their earlier self, once both have 6 embeddings (~3 s of speech: by
    // then the new labels have gone out with finals).
    const engine = await DiarizationEngine.create({
      segmentationModelPath: SEGMENTATION,
      embedding: embedder,
      maxCosineDistance: 1e-6,
      mergeCosineDistance: 0.3,
      minMergeEmbeddings: 6,
    });
    const updates: Extract<StreamEvent, { type: 'speaker_update' }>[] = [];
    const labeler = new SpeakerLabeler(engine, 'merge', 0, (u) => updates.push(u));
    // Finals of 1 s pieces of each turn, sent half a second after their audio, as a live session sends short segments.
    const pieces = turns.flatMap((t) => Array.from({ length: Math.floor((t.endMs - t.startMs) / 1000) }, (_, i) => ({ who: t.who, startMs: t.startMs + 1000 * i, endMs: t.startMs + 1000 * (i + 1) })));
    const finals: Transcript[] = [];
    for (let at = 0; at < audio.length; at += CHUNK_SAMPLES) {
      labeler.pushAudio(audio.subarray(at, Math.min(at + CHUNK_SAMPLES, audio.length)));
      await engine.step();
      const pushedMs = (at + CHUNK_SAMPLES) / 16;
      while (finals.length < pieces.length && pieces[finals.length].endMs + 500 <= pushedMs) {
        const p = pieces[finals.length];
        const words = [{ word: p.who, startMs: p.startMs, endMs: p.endMs, confidence: 1, speaker: '' }];
        const final: Transcript = { channel: 0, segmentId: finals.length, startMs: p.startMs, endMs: p.endMs, text: p.who, words, speaker: '' };
        labeler.labelFinal(final);
        finals.push({ ...final, words: words.map((w) => ({ ...w })) });
      }
    }
    labeler.close();
    await engine.close();
    const labels = finals.map((f) => f.speaker);
    for (const u of updates) {
      expect(u.wordSpeakers).toEqual([u.speaker]);
      labels[u.segmentId] = u.speaker;
    }
    console.log(`labels as sent ${finals.map((f) => f.speaker || '-').join(' ')}; after ${updates.length} speaker_update: ${labels.map((l) => l || '-').join(' ')}`);
    // Some pieces went out under a label that a merge took back.
    const merged = updates.filter((u) => finals[u.segmentId].speaker !== '' && finals[u.segmentId].speaker !== u.speaker);
    expect(merged.length).toBeGreaterThan(0);
    // In the end each voice has one label (pieces whose labels never settled aside), and the two differ.
    const labelsOf = (who: string) => new Set(labels.filter((l, i) => l !== '' && pieces[i].who === who));
    expect(labelsOf('alice').size).toBe(1);
    expect(labelsOf('bob').size).toBe(1);
    expect([...labelsOf('alice')][0]).not.toBe([...labelsOf('bob')][0]);
  }, 300_000);
});

describe('server with --speaker-embedding-model', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lt-embedding-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a bad embedding model file at start with a clear error', async () => {
    const garbage = path.join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'not an onnx model');
    await expect(startTestServer({ diarizationModel: SEGMENTATION, speakerEmbeddingModel: garbage })).rejects.toThrow(/speaker embedding model .*garbage\.onnx/);
    await expect(startTestServer({ diarizationModel: SEGMENTATION, speakerEmbeddingModel: path.join(dir, 'missing.onnx') })).rejects.toThrow(
      /speaker embedding model .*missing\.onnx: ENOENT/,
    );
    // A real ONNX model without a speaker-embedding contract (the segmentation model itself).
    await expect(startTestServer({ diarizationModel: SEGMENTATION, speakerEmbeddingModel: SEGMENTATION })).rejects.toThrow(/metadata framework is missing/);
    await expect(startTestServer({ speakerEmbeddingModel: STANDIN })).rejects.toThrow(/needs --diarization-model/);
  }, 300_000);
});
