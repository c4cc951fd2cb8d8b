/**
 * The engine through its entry point alone (engine/index.ts), no server and
 * no protocol: a WAV file of known sentences transcribed, with the events in
 * the order and shape a program relies on; every audio format the protocol
 * lets a client declare opens an engine stream (the two are kept apart by
 * the layers, so this is where they are checked to agree); what the engine
 * refuses; a stream's keyterms biasing its finals and no other stream's;
 * and engine/examples/transcribe-file.ts run as a user would.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioDecodeError, createEngine, DEFAULT_ENGINE_CONFIG, DEFAULT_KEYTERM_BOOST_NATS, type Engine, type StreamEvent, type StreamOptions } from '../engine/index.js';
import { corpusWer } from '../eval/wer.js';
import { AUDIO_ENCODINGS, CONFIG_RULES } from '../protocol/session-config.js';
import { PROJECT_ROOT, sharedPath } from '../testkit/paths.js';
import { concat, silence, synthesize } from '../testkit/speech.js';
import { SENTENCES, speechPlan } from '../testkit/speech-plan.js';
import { readWav } from '../testkit/wav.js';
import { DEMO_MODEL_WER, describeWer } from './helpers/demo-model.js';

const MONO: StreamOptions = { encoding: 'pcm_f32le', sampleRateHz: 16_000, channels: 1, multichannel: false, interimResults: true, endpointingMs: 500, diarize: false };

let engine: Engine;
let dir: string;

beforeAll(async () => {
  engine = await createEngine({ ...DEFAULT_ENGINE_CONFIG, vadModel: sharedPath('models/silero-vad-v5/silero_vad.onnx'), asrThreads: 1 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'lt-engine-'));
});
afterAll(async () => {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Float samples as pcm_f32le bytes. */
function f32Bytes(samples: Float32Array): Uint8Array {
  return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
}

describe('engine entry point', () => {
  it('transcribes a WAV file: createEngine, openStream, push, finish', async () => {
    const plan = speechPlan(SENTENCES.slice(0, 4));
    // A 44.1 kHz 16-bit WAV, as a program would find one on disk: the engine resamples it.
    const raw = path.join(dir, 'plan.f32');
    const wavPath = path.join(dir, 'plan.wav');
    writeFileSync(raw, f32Bytes(plan.audio));
    execFileSync('sox', ['-t', 'f32', '-r', '16000', '-c', '1', raw, '-r', '44100', '-b', '16', '-e', 'signed', wavPath]);
    const wav = readWav(wavPath);
    expect(wav.sampleRateHz).toBe(44_100);

    const events: StreamEvent[] = [];
    const stream = await engine.openStream({ ...MONO, sampleRateHz: wav.sampleRateHz }, (e) => events.push(e));
    const bytes = f32Bytes(wav.samples);
    // Cut anywhere, even inside a sample.
    for (let pos = 0; pos < bytes.length; pos += 4410) await stream.push(bytes.subarray(pos, pos + 4410));
    await stream.finish();

    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    const finals = events.flatMap((e) => (e.type === 'final' && e.transcript.text !== '' ? [e.transcript] : []));
    expect(finals).toHaveLength(plan.sentences.length);
    finals.forEach((f, i) => {
      const s = plan.sentences[i];
      expect(f.startMs < s.endMs && f.endMs > s.startMs, `final ${i} [${f.startMs}, ${f.endMs}) overlaps its sentence [${s.startMs}, ${s.endMs})`).toBe(true);
      expect(f.words.length).toBeGreaterThan(0);
      for (const w of f.words) expect(w.startMs >= f.startMs && w.endMs <= f.endMs && w.confidence >= 0 && w.confidence <= 1).toBe(true);
    });
    const wer = corpusWer(finals.map((f, i) => ({ reference: plan.sentences[i].text, hypothesis: f.text }))).wer;
    console.log(describeWer('engine, WAV file', wer, DEMO_MODEL_WER.sentences));
    expect(wer).toBeLessThan(DEMO_MODEL_WER.sentences.bound);

    // Per segment: speech_started, then its partials, then its final, then utterance_end.
    for (const f of finals) {
      const order = events
        .map((e, i) => ({ e, i }))
        .filter(({ e }) => e.type !== 'error' && ('segmentId' in e ? e.segmentId : e.transcript.segmentId) === f.segmentId)
        .map(({ e }) => e.type);
      expect(order[0]).toBe('speech_started');
      expect(order.slice(-2)).toEqual(['final', 'utterance_end']);
      expect(order.slice(1, -2).every((t) => t === 'partial')).toBe(true);
    }
    expect(events.some((e) => e.type === 'partial' && e.firstLatencyMs !== undefined)).toBe(true);
    expect(stream.finalsEmitted).toBe(events.filter((e) => e.type === 'final').length);
    expect(stream.audioMs).toBeCloseTo((plan.audio.length / 16_000) * 1000, -1);
  });

  it('biases the finals of a stream with keyterms, and only that stream\'s', async () => {
    // The demo model hears "cuban it's" here, and "kubernetes" is in neither of its LMs.
    const said = 'we deployed the service on kubernetes last night';
    const audio = concat(silence(300), synthesize(said), silence(1_000));
    const finalOf = async (options: StreamOptions) => {
      const events: StreamEvent[] = [];
      const stream = await engine.openStream(options, (e) => events.push(e));
      await stream.push(f32Bytes(audio));
      await stream.finish();
      expect(events.filter((e) => e.type === 'error')).toEqual([]);
      return events.flatMap((e) => (e.type === 'final' ? [e.transcript.text] : [])).join(' ');
    };
    const keyterms = { phrases: ['Kubernetes', 'Grafana'], boostNats: DEFAULT_KEYTERM_BOOST_NATS };
    // At once, so their finals may share a batch.
    const [plain, biased, plainAgain] = await Promise.all([finalOf(MONO), finalOf({ ...MONO, keyterms }), finalOf(MONO)]);
    expect(plain).toBe('we deployed the service on cuban it\'s last night');
    expect(biased).toBe(said);
    expect(plainAgain).toBe(plain);
  });

  it('opens a stream for every encoding, rate and channel count the protocol lets a client declare', async () => {
    const rates = CONFIG_RULES.sample_rate;
    const channels = CONFIG_RULES.channels;
    if (rates.kind !== 'int' || channels.kind !== 'int') throw new Error('sample_rate and channels are integer rules');
    for (const encoding of AUDIO_ENCODINGS) {
      // Raw Opus packets carry one or two channels; more travel in a container (a session error says so).
      const maxChannels = encoding === 'opus' ? 2 : channels.max;
      for (const sampleRateHz of [rates.min, rates.max]) {
        for (const n of [channels.min, maxChannels]) {
          const stream = await engine.openStream({ ...MONO, encoding, sampleRateHz, channels: n, multichannel: true }, () => {});
          expect(stream.channelCount).toBe(n);
          stream.close();
        }
      }
    }
  });

  it('refuses what it cannot do, with errors a caller can tell apart', async () => {
    await expect(engine.openStream({ ...MONO, encoding: 'opus', channels: 3 }, () => {})).rejects.toBeInstanceOf(AudioDecodeError);
    await expect(engine.openStream({ ...MONO, encoding: 'wav' as 'pcm_s16le' }, () => {})).rejects.toMatchObject({ code: 'unsupported_encoding' });
    await expect(engine.openStream({ ...MONO, diarize: true }, () => {})).rejects.toThrow(/no diarization model/);
    const stream = await engine.openStream({ ...MONO, encoding: 'ogg_opus' }, () => {});
    await expect(stream.push(new TextEncoder().encode('not an ogg stream at all '.repeat(20)))).rejects.toMatchObject({ code: 'bad_audio' });
    stream.close();
  });
});

describe('engine/examples/transcribe-file.ts', () => {
  it('transcribes a recording from the command line, as the README shows', async () => {
    const { stdout } = await promisify(execFile)(path.join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['engine/examples/transcribe-file.ts', sharedPath('audio/jfk/jfk.flac')], {
      cwd: PROJECT_ROOT,
      timeout: 60_000,
    });
    const lines = stdout.trim().split('\n');
    // jfk.flac is 11.0 s of a real voice; the words are not checked (the demo model knows synthetic voices only).
    expect(lines.at(-1)).toMatch(/^done: [1-9]\d* finals, 11\.0 s of audio \(demo-en-ctc\)$/);
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^\[\d+\.\ds\] \S/);
  });

  it('explains its usage when called wrongly', async () => {
    const run = promisify(execFile)(path.join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['engine/examples/transcribe-file.ts'], { cwd: PROJECT_ROOT });
    await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^usage: npx tsx engine\/examples\/transcribe-file\.ts FILE/) });
  });
});
