/**
 * client/examples/stream-wav.ts, run as a user would (tsx, its own process)
 * against the real server, on a machine without sox or ffmpeg: its PATH is a
 * folder holding only `node`. It streams one spoken sentence from each
 * format it reads (WAV, FLAC, MP3, Ogg/Opus, WebM/Opus; made here by
 * espeak-ng and ffmpeg, never committed) and prints its finals and the
 * summary; the server must have received the whole file. The file reading
 * (client/examples/audio-file.ts) is also checked on its own: WAV layouts,
 * chunk timing, and bad input.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioFileError, CHUNK_MS, readAudioFile, readOggOpus, readWav, readWebm } from '../client/examples/audio-file.js';
import type { RunningServer } from '../server/app.js';
import { startTestServer } from '../testkit/server.js';
import { PROJECT_ROOT } from '../testkit/paths.js';
import { ffmpegEncode } from '../testkit/encode.js';
import { concat, silence, synthesize } from '../testkit/speech.js';
import { wordErrorRate } from '../eval/wer.js';
import { TEST_MODEL_WER, describeWer } from './helpers/demo-model.js';

const SENTENCE = 'please call stella and ask her to bring these things with her from the store';
const speech = concat(silence(500), synthesize(SENTENCE), silence(800));
const speechS = speech.length / 16_000;

/** ffmpeg arguments for each format, from 16 kHz mono speech. */
const FORMATS: Record<string, string[]> = {
  'speech.wav': ['-ar', '22050', '-c:a', 'pcm_s16le', '-f', 'wav'],
  'speech.flac': ['-ar', '44100', '-ac', '2', '-c:a', 'flac', '-f', 'flac'],
  'speech.mp3': ['-ar', '44100', '-c:a', 'libmp3lame', '-b:a', '64k', '-f', 'mp3'],
  'speech.opus': ['-ar', '48000', '-c:a', 'libopus', '-b:a', '24k', '-f', 'ogg'],
  'speech.webm': ['-ar', '48000', '-c:a', 'libopus', '-b:a', '24k', '-f', 'webm'],
};

const root = mkdtempSync(path.join(os.tmpdir(), 'lt-example-'));
/** A PATH with node and nothing else: no sox, no ffmpeg. */
const binDir = path.join(root, 'bin');
let server: RunningServer;

beforeAll(async () => {
  mkdirSync(binDir);
  symlinkSync(process.execPath, path.join(binDir, 'node'));
  for (const [name, args] of Object.entries(FORMATS)) writeFileSync(path.join(root, name), ffmpegEncode(speech, args));
  server = await startTestServer();
});
afterAll(async () => {
  await server?.shutdown();
  rmSync(root, { recursive: true, force: true });
});

function runExample(args: string[]) {
  return promisify(execFile)(path.join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['client/examples/stream-wav.ts', ...args], {
    cwd: PROJECT_ROOT,
    timeout: 60_000,
    env: { ...process.env, PATH: binDir },
  });
}

describe('examples/stream-wav.ts, without sox or ffmpeg', () => {
  it('runs where neither sox nor ffmpeg can be found', () => {
    expect(readdirSync(binDir)).toEqual(['node']);
    expect(() => execFileSync('sox', ['--version'], { env: { PATH: binDir }, stdio: 'ignore' })).toThrow(/ENOENT/);
  });

  for (const name of Object.keys(FORMATS)) {
    it(`streams ${name} and prints its finals and the summary`, async () => {
      const { stdout, stderr } = await runExample([path.join(root, name), '--url', `ws://127.0.0.1:${server.port}/v1/listen`, '--speed', '4']);
      expect(stderr).toBe('');
      const lines = stdout.trim().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^${path.join(root, name).replace(/[.]/g, '\\.')}: `));
      const [, finals, seconds] = /^done: ([1-9]\d*) finals, ([\d.]+) s of audio \(client_close\)$/.exec(lines.at(-1)!) ?? [];
      expect(finals, lines.at(-1)).toBeDefined();
      // All of it reached the server (Opus containers may pad their last packet).
      expect(Math.abs(Number(seconds) - speechS)).toBeLessThanOrEqual(0.15);
      const texts = lines.slice(1, -1).map((line) => /^\[\d+\.\ds\] (\S.*)$/.exec(line)?.[1]);
      for (const text of texts) expect(text).toBeDefined();
      const wer = wordErrorRate(SENTENCE, texts.join(' ')).wer;
      console.log(`${name} (${lines[0].split(': ')[1]}): ${describeWer('heard', wer, TEST_MODEL_WER.sentence)}`);
      expect(wer).toBeLessThan(TEST_MODEL_WER.sentence.bound);
    });
  }

  it('explains its usage when called wrongly, and names a file it cannot read', async () => {
    await expect(runExample(['--speed', '0', 'x.wav'])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^usage: npx tsx client\/examples\/stream-wav\.ts FILE/) });
    const text = path.join(root, 'notes.txt');
    writeFileSync(text, 'not audio');
    await expect(runExample([text])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('not a WAV, FLAC, MP3, Ogg/Opus or WebM/Opus file') });
  });
});

describe('audio-file.ts', () => {
  const wav = (args: string[]) => ffmpegEncode(speech, [...args, '-f', 'wav']);

  it('sends 16-bit, float, A-law and mu-law WAV as they are, and widens 8, 24 and 32-bit PCM to float', () => {
    const cases: Array<[string[], string, number]> = [
      [['-c:a', 'pcm_s16le'], 'pcm_s16le', 2],
      [['-c:a', 'pcm_f32le'], 'pcm_f32le', 4],
      [['-c:a', 'pcm_alaw'], 'alaw', 1],
      [['-c:a', 'pcm_mulaw'], 'mulaw', 1],
      [['-c:a', 'pcm_u8'], 'pcm_f32le', 4],
      [['-c:a', 'pcm_s24le'], 'pcm_f32le', 4],
      [['-c:a', 'pcm_s32le'], 'pcm_f32le', 4],
    ];
    for (const [args, encoding, bytesPerSample] of cases) {
      const file = readWav(wav([...args, '-ar', '16000']));
      expect(file.config, args.join(' ')).toEqual({ encoding, sample_rate: 16_000, channels: 1 });
      const bytes = file.chunks.reduce((n, c) => n + c.bytes.length, 0);
      expect(bytes).toBe(speech.length * bytesPerSample);
      expect(file.chunks[0].endMs).toBe(CHUNK_MS);
      expect(file.chunks.at(-1)!.endMs).toBeCloseTo(speechS * 1000, 6);
    }
  });

  it('widens 24-bit PCM to the same samples as 16-bit', () => {
    const s16 = new Int16Array(readWav(wav(['-c:a', 'pcm_s16le'])).chunks.flatMap((c) => [...new Int16Array(c.bytes.slice().buffer)]));
    const f32 = new Float32Array(Uint8Array.from(readWav(wav(['-c:a', 'pcm_s24le'])).chunks.flatMap((c) => [...c.bytes])).buffer);
    for (let i = 0; i < s16.length; i += 97) expect(Math.abs(f32[i] - s16[i] / 32768)).toBeLessThan(1 / 32768 + 1e-6);
  });

  it('times Ogg and WebM chunks from the container, about CHUNK_MS each, covering every byte', () => {
    for (const [read, args] of [
      [readOggOpus, FORMATS['speech.opus']],
      [readWebm, FORMATS['speech.webm']],
    ] as const) {
      const bytes = ffmpegEncode(speech, args);
      const file = read(bytes);
      expect(file.chunks.reduce((n, c) => n + c.bytes.length, 0)).toBe(bytes.length);
      const ends = file.chunks.map((c) => c.endMs);
      for (let i = 1; i < ends.length; i++) expect(ends[i]).toBeGreaterThanOrEqual(ends[i - 1]);
      // The last block starts within one Opus packet (20 ms) of the end, plus the encoder's padding.
      expect(Math.abs(ends.at(-1)! - speechS * 1000)).toBeLessThan(80);
      expect(Math.max(...ends.map((e, i) => e - (ends[i - 1] ?? 0)))).toBeLessThanOrEqual(CHUNK_MS + 1);
    }
  });

  it('refuses what it cannot read with a message saying why', async () => {
    await expect(readAudioFile(new TextEncoder().encode('hello'))).rejects.toThrow(AudioFileError);
    const vorbis = ffmpegEncode(speech, ['-c:a', 'libvorbis', '-f', 'ogg']);
    await expect(readAudioFile(vorbis)).rejects.toThrow(/Ogg: not an Opus stream/);
    const adpcm = wav(['-c:a', 'adpcm_ms']);
    await expect(readAudioFile(adpcm)).rejects.toThrow(/WAV: format 2 at 4 bits is not supported/);
  });
});
