/**
 * Example: stream an audio file (WAV, FLAC, MP3, Ogg/Opus or WebM/Opus) to a
 * running server through ListenClient, at real-time pace like a live source,
 * and print each final as it arrives (partials overwrite one line on a
 * terminal), then the session summary. Nothing outside npm is needed: no
 * sox, no ffmpeg (audio-file.ts says how each format is read).
 *
 *   npx tsx client/examples/stream-wav.ts FILE [--url ws://127.0.0.1:8080/v1/listen] [--speed 1] [--token T]
 *
 * `--speed 2` sends twice as fast as real time (a server allows a burst above
 * its --max-audio-rate, then that rate: 2x by default).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { ListenClient } from '../listen-client.js';
import { readAudioFile } from './audio-file.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:8080/v1/listen' },
    speed: { type: 'string', default: '1' },
    token: { type: 'string' },
  },
});
const speed = Number(values.speed);
if (positionals.length !== 1 || !(speed > 0)) {
  console.error('usage: npx tsx client/examples/stream-wav.ts FILE [--url URL] [--speed N (> 0, 1 = real time)] [--token T]');
  process.exit(2);
}

let file;
try {
  file = await readAudioFile(await readFile(positionals[0]));
} catch (err) {
  console.error(`cannot read ${positionals[0]}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
console.log(`${positionals[0]}: ${file.description}`);

const client = new ListenClient({
  url: values.url,
  token: values.token,
  WebSocket,
  config: { ...file.config, interim_results: process.stderr.isTTY === true },
});
const clearPartial = () => process.stderr.isTTY && process.stderr.write('\r\x1b[K');
client.on('partial', (p) => {
  clearPartial();
  process.stderr.write(`… ${p.text}`.slice(0, (process.stderr.columns ?? 80) - 1));
});
client.on('final', (f) => {
  clearPartial();
  if (f.text !== '') console.log(`[${(f.start_ms / 1000).toFixed(1)}s] ${f.text}`);
});
client.on('error', (e) => console.error(`error (${e.code}): ${e.message}`));
client.on('reconnecting', (r) => console.error(`connection dropped: retry ${r.attempt} in ${r.delayMs} ms`));

let ended = false;
client.done.then(
  () => (ended = true),
  () => (ended = true),
);

// Each chunk goes out once the audio before it would have been heard, against a schedule from the start.
const t0 = performance.now();
let sentMs = 0;
for (const chunk of file.chunks) {
  if (ended) break;
  const wait = t0 + sentMs / speed - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  client.sendAudio(chunk.bytes);
  sentMs = chunk.endMs;
}
try {
  const summary = await client.close();
  console.log(`done: ${summary.finals_sent} finals, ${(summary.audio_ms_received / 1000).toFixed(1)} s of audio (${summary.reason})`);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
