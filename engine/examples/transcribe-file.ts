/**
 * Example: transcribe an audio file with the engine alone, no server. sox
 * decodes the file (WAV, FLAC, MP3, ... anything sox reads) to 16 kHz mono
 * 16-bit PCM; the engine takes it as fast as it can and prints each final.
 *
 *   npx tsx engine/examples/transcribe-file.ts FILE [--model NAME|DIR]
 *
 * The model is chosen as the server chooses it: a registry name or folder,
 * else a pulled model, else the shipped demo model.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createEngine, DEFAULT_ENGINE_CONFIG, SAMPLE_RATE_HZ, type Transcript } from '../index.js';

/** 100 ms of 16-bit mono. */
const CHUNK_BYTES = (SAMPLE_RATE_HZ / 10) * 2;

const { values, positionals } = parseArgs({ allowPositionals: true, options: { model: { type: 'string', default: '' } } });
if (positionals.length !== 1) {
  console.error('usage: npx tsx engine/examples/transcribe-file.ts FILE [--model NAME|DIR]');
  process.exit(2);
}

const pcm = execFileSync('sox', [positionals[0], '-t', 'raw', '-r', String(SAMPLE_RATE_HZ), '-c', '1', '-e', 'signed', '-b', '16', '-'], { maxBuffer: 1 << 30 });
const engine = await createEngine({ ...DEFAULT_ENGINE_CONFIG, model: values.model });
const finals: Transcript[] = [];
let failure: unknown = null;
const stream = await engine.openStream(
  { encoding: 'pcm_s16le', sampleRateHz: SAMPLE_RATE_HZ, channels: 1, multichannel: false, interimResults: false, endpointingMs: 500, diarize: false },
  (event) => {
    if (event.type === 'final' && event.transcript.text !== '') {
      finals.push(event.transcript);
      console.log(`[${(event.transcript.startMs / 1000).toFixed(1)}s] ${event.transcript.text}`);
    } else if (event.type === 'error') failure = event.error;
  },
);
for (let pos = 0; pos < pcm.length; pos += CHUNK_BYTES) await stream.push(pcm.subarray(pos, pos + CHUNK_BYTES));
await stream.finish();
await engine.close();
if (failure) throw failure;
console.log(`done: ${finals.length} finals, ${(stream.audioMs / 1000).toFixed(1)} s of audio (${engine.modelName})`);
