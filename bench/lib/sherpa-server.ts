/**
 * The peer server of the live-client benches (`--server sherpa`): a minimal
 * streaming server built on sherpa-onnx-node's own VAD and offline
 * recognizer, the way its examples do simulated streaming, serving the same
 * model file as ours. Run as its own process:
 * `node --import tsx bench/lib/sherpa-server.ts [--port 0] [--model M]
 * [--vad-model F] [--threads 1] [--decoders N]`; prints
 * `listening on ws://127.0.0.1:PORT` once ready; exits on SIGTERM.
 *
 * It speaks the subset of our protocol the bench clients use, at
 * `/v1/listen`: s16le 16 kHz mono binary frames in (query `endpointing_ms`
 * = the VAD's minimum silence); out `ready` at connect, `speech_started`
 * when the VAD starts a segment, one `final` per VAD segment (text, words
 * with times from sherpa's token timestamps) then `utterance_end`, an answer
 * to `keepalive`, and on `close` the finals left then `closed`. No partials,
 * no batching (one segment per decode: sherpa's Node API has no batched
 * decode), no language models (greedy CTC).
 *
 * One Silero VAD (sherpa's) per stream, on the event loop; ONE
 * OfflineRecognizer shared by all streams, decoding with decodeAsync off the
 * event loop, at most `--decoders` segments at once (default: one per core,
 * as our server runs one recognizer thread per core), each with `--threads`
 * onnxruntime threads (default 1, as our server's --asr-threads).
 *
 * GET /metrics serves the two counters the benches read from every server
 * (audio received, in the names ours uses); the figures only ours has
 * (batch sizes, model time, dropped partials, event-loop lag) are absent and
 * the benches report them as null.
 */
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { WebSocketServer, type WebSocket } from 'ws';
import { SAMPLE_RATE_HZ } from '../../engine/audio/format.js';
import { resolveModel } from '../../engine/models/resolve.js';
import { DEFAULT_SEGMENTER_OPTIONS } from '../../engine/vad/segmenter.js';
import type { ServerMessage, Word } from '../../protocol/messages.js';
import { sharedPath } from '../../testkit/paths.js';

/** Silero v5 window, as sherpa's examples feed it. */
const WINDOW = 512;
/** Longest segment before the VAD cuts it, as our server's --max-segment-ms default. */
const MAX_SEGMENT_S = DEFAULT_SEGMENTER_OPTIONS.maxSegmentMs / 1000;
/** Word end of a segment's last word when sherpa's timestamps give no frame stride. */
const DEFAULT_FRAME_MS = 40;

interface SpeechSegment {
  start: number;
  samples: Float32Array;
}
interface SherpaVad {
  acceptWaveform(samples: Float32Array): void;
  isEmpty(): boolean;
  isDetected(): boolean;
  front(enableExternalBuffer?: boolean): SpeechSegment;
  pop(): void;
  flush(): void;
}
interface SherpaResult {
  text: string;
  tokens: string[];
  timestamps: number[];
}
interface SherpaStream {
  acceptWaveform(w: { samples: Float32Array; sampleRate: number }): void;
}
interface Sherpa {
  Vad: new (config: object, bufferSizeInSeconds: number) => SherpaVad;
  OfflineRecognizer: new (config: object) => { createStream(): SherpaStream; decodeAsync(s: SherpaStream): Promise<SherpaResult> };
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const model = resolveModel(option('model', '') || undefined);
const vadModel = option('vad-model', sharedPath('models/silero-vad-v5/silero_vad.onnx'));
const threads = Number(option('threads', '1'));
const maxDecoders = Number(option('decoders', String(availableParallelism())));
const sherpa = createRequire(import.meta.url)('sherpa-onnx-node') as Sherpa;
const recognizer = new sherpa.OfflineRecognizer({
  featConfig: { sampleRate: SAMPLE_RATE_HZ, featureDim: 80 },
  modelConfig: { nemoCtc: { model: model.modelPath }, tokens: model.tokensPath, numThreads: threads, provider: 'cpu', debug: 0 },
});

let audioSecondsTotal = 0;

/** At most maxDecoders decodes in flight; the others wait in arrival order. */
let decoding = 0;
const waiting: Array<() => void> = [];
async function decode(samples: Float32Array): Promise<SherpaResult> {
  if (decoding >= maxDecoders) await new Promise<void>((r) => waiting.push(r));
  decoding++;
  try {
    const stream = recognizer.createStream();
    stream.acceptWaveform({ samples, sampleRate: SAMPLE_RATE_HZ });
    return await recognizer.decodeAsync(stream);
  } finally {
    decoding--;
    waiting.shift()?.();
  }
}

/**
 * Words from sherpa's tokens (a leading space, its ▁, starts a word) and
 * token times (seconds into the segment): a word ends where the next begins;
 * the last one a frame after its last token (the frame: the smallest step
 * between token times).
 */
function wordsOf(r: SherpaResult, segStartMs: number, segEndMs: number): Word[] {
  const steps = r.timestamps.slice(1).map((t, i) => t - r.timestamps[i]).filter((d) => d > 0);
  const frameMs = steps.length ? Math.min(...steps) * 1000 : DEFAULT_FRAME_MS;
  const words: Array<{ word: string; first: number; last: number }> = [];
  r.tokens.forEach((tok, i) => {
    const current = words[words.length - 1];
    if (current === undefined || /^[\s\u2581]/.test(tok)) words.push({ word: tok.replace(/^[\s\u2581]+/, ''), first: i, last: i });
    else (current.word += tok), (current.last = i);
  });
  const at = (i: number) => segStartMs + r.timestamps[i] * 1000;
  return words
    .filter((w) => w.word !== '')
    .map((w, k, all) => ({
      word: w.word,
      start_ms: Math.round(at(w.first)),
      end_ms: Math.round(Math.min(segEndMs, k + 1 < all.length ? at(all[k + 1].first) : at(w.last) + frameMs)),
      confidence: 1,
      speaker: '',
    }));
}

/** One client: its VAD, its segments in order, its counters. */
class Session {
  private readonly vad: SherpaVad;
  private pending = new Float32Array(0);
  private samplesReceived = 0;
  private nextSegmentId = 0;
  private finalsSent = 0;
  private inSpeech = false;
  /** Finals go out in segment order even when decodes finish out of order. */
  private sendChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ws: WebSocket,
    endpointingMs: number,
  ) {
    this.vad = new sherpa.Vad(
      {
        sileroVad: { model: vadModel, threshold: 0.5, minSilenceDuration: endpointingMs / 1000, minSpeechDuration: 0.25, windowSize: WINDOW, maxSpeechDuration: MAX_SEGMENT_S },
        sampleRate: SAMPLE_RATE_HZ,
        numThreads: 1,
        provider: 'cpu',
        debug: 0,
      },
      60,
    );
    // The clients ignore `ready`; it carries what this server knows, not our config and limits.
    this.send({ type: 'ready', session_id: '', model: model.name, resume_token: '' });
  }

  private send(msg: ServerMessage | { type: string; [k: string]: unknown }): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }

  audio(buf: Buffer): void {
    const pcm = new Int16Array(buf.buffer, buf.byteOffset, buf.byteLength >> 1);
    this.samplesReceived += pcm.length;
    audioSecondsTotal += pcm.length / SAMPLE_RATE_HZ;
    const all = new Float32Array(this.pending.length + pcm.length);
    all.set(this.pending);
    for (let i = 0; i < pcm.length; i++) all[this.pending.length + i] = pcm[i] / 32768;
    let off = 0;
    for (; off + WINDOW <= all.length; off += WINDOW) {
      this.vad.acceptWaveform(all.subarray(off, off + WINDOW));
      if (this.vad.isDetected() && !this.inSpeech) {
        this.inSpeech = true;
        this.send({ type: 'speech_started', channel: 0, segment_id: this.nextSegmentId, at_ms: Math.round(((this.samplesReceived - pcm.length + off) * 1000) / SAMPLE_RATE_HZ) });
      } else if (!this.vad.isDetected()) this.inSpeech = false;
      this.drainSegments();
    }
    this.pending = all.slice(off);
  }

  private drainSegments(): void {
    while (!this.vad.isEmpty()) {
      const seg = this.vad.front(false);
      this.vad.pop();
      const id = this.nextSegmentId++;
      const startMs = (seg.start * 1000) / SAMPLE_RATE_HZ;
      const endMs = ((seg.start + seg.samples.length) * 1000) / SAMPLE_RATE_HZ;
      const result = decode(seg.samples);
      this.sendChain = this.sendChain.then(async () => {
        const r = await result;
        this.send({ type: 'final', segment_id: id, channel: 0, start_ms: Math.round(startMs), end_ms: Math.round(endMs), text: r.text.trim().replace(/\s+/g, ' '), words: wordsOf(r, startMs, endMs), speaker: '' });
        this.send({ type: 'utterance_end', channel: 0, segment_id: id, at_ms: Math.round(endMs) });
        this.finalsSent++;
      });
    }
  }

  /** `close`: the rest of the audio through the VAD, its finals, then `closed`, then the socket. */
  close(): void {
    if (this.pending.length) this.vad.acceptWaveform(this.pending);
    this.pending = new Float32Array(0);
    this.vad.flush();
    this.drainSegments();
    void this.sendChain.then(() => {
      this.send({ type: 'closed', reason: 'client_close', audio_ms_received: Math.round((this.samplesReceived * 1000) / SAMPLE_RATE_HZ), finals_sent: this.finalsSent });
      this.ws.close(1000);
    });
  }

  message(data: Buffer, isBinary: boolean): void {
    if (isBinary) return this.audio(data);
    const msg = JSON.parse(data.toString()) as { type?: string };
    if (msg.type === 'close') this.close();
    else if (msg.type === 'keepalive') this.send({ type: 'keepalive' });
  }
}

const http = createServer((req, res) => {
  if (req.url !== '/metrics') return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'text/plain' }).end(`lt_audio_seconds_received_total ${audioSecondsTotal}\n`);
});
const wss = new WebSocketServer({ server: http, path: '/v1/listen' });
wss.on('connection', (ws, req) => {
  const endpointingMs = Number(new URL(req.url ?? '', 'http://x').searchParams.get('endpointing_ms') ?? 500);
  const session = new Session(ws, endpointingMs);
  ws.on('message', (data, isBinary) => session.message(data as Buffer, isBinary));
});
http.listen(Number(option('port', '0')), '127.0.0.1', () => {
  const address = http.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected address ${address}`);
  console.error(`sherpa-onnx-node ${model.modelPath}, VAD ${vadModel}, ${threads} onnxruntime thread(s), at most ${maxDecoders} decode(s) at once`);
  console.log(`listening on ws://127.0.0.1:${address.port}`);
});
process.on('SIGTERM', () => process.exit(0));
