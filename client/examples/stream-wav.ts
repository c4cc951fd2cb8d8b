/**
 * Example: stream an audio file to a running server through ListenClient and
 * print each final as it arrives, then the session summary. sox decodes the
 * file (WAV, FLAC, MP3, ... anything sox reads) to 16 kHz mono 16-bit PCM;
 * the audio is sent in 100 ms frames at real-time pace, like a live source.
 *
 *   npx tsx client/examples/stream-wav.ts FILE [--url ws://127.0.0.1:8080/v1/listen] [--speed 1] [--token T]
 *
 * `--speed 2` sends twice as fast as real time (a server allows a burst above
 * its --max-audio-rate, then that rate: 2x by default).
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { ListenClient } from '../listen-client.js';

const FRAME_MS = 100;
const BYTES_PER_MS = 32; // 16 kHz, 16-bit, mono

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

const pcm = execFileSync('sox', [positionals[0], '-t', 'raw', '-r', '16000', '-c', '1', '-e', 'signed', '-b', '16', '-'], { maxBuffer: 1 << 30 });
const client = new ListenClient({
  url: values.url,
  token: values.token,
  WebSocket,
  config: { encoding: 'pcm_s16le', sample_rate: 16_000, interim_results: false },
});
client.on('final', (f) => {
  if (f.text !== '') console.log(`[${(f.start_ms / 1000).toFixed(1)}s] ${f.text}`);
});
client.on('error', (e) => console.error(`error (${e.code}): ${e.message}`));
client.on('reconnecting', (r) => console.error(`connection dropped: retry ${r.attempt} in ${r.delayMs} ms`));

let ended = false;
client.done.then(
  () => (ended = true),
  () => (ended = true),
);

const frameBytes = FRAME_MS * BYTES_PER_MS;
const t0 = performance.now();
for (let pos = 0, i = 0; pos < pcm.length && !ended; pos += frameBytes, i++) {
  client.sendAudio(pcm.subarray(pos, pos + frameBytes));
  const wait = t0 + ((i + 1) * FRAME_MS) / speed - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
try {
  const summary = await client.close();
  console.log(`done: ${summary.finals_sent} finals, ${(summary.audio_ms_received / 1000).toFixed(1)} s of audio (${summary.reason})`);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
