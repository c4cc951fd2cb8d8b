/**
 * Test kit: starts a real server in this process on 127.0.0.1 (any free port)
 * with the shared Silero v5 VAD, and a real WebSocket client that streams
 * audio and collects messages (the tests' client, and the soak's).
 */
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../server/app.js';
import { DEFAULT_CONFIG, type ServerConfig } from '../server/config.js';
import type { ServerMessage, TranscriptMessage } from '../protocol/messages.js';
import { resolveModel } from '../engine/models/resolve.js';
import { sharedPath } from './paths.js';
import { toS16le } from './speech.js';

/**
 * The model test servers serve unless a test names one: the engine's default
 * (the offline demo model), or the folder in LT_TEST_MODEL, so the same
 * server tests run against the streaming demo model too (vitest.config.ts).
 */
export const TEST_MODEL = process.env.LT_TEST_MODEL ?? DEFAULT_CONFIG.model;
/** Its name, as `ready` and the APIs' `model` give it. */
export const TEST_MODEL_NAME = resolveModel(TEST_MODEL || undefined, { log: () => {} }).name;

export async function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  return startServer(
    { ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0, vadModel: sharedPath('models/silero-vad-v5/silero_vad.onnx'), asrThreads: 1, model: TEST_MODEL, ...overrides },
    () => {},
  );
}

function listenUrl(port: number, query: string): string {
  return `ws://127.0.0.1:${port}/v1/listen${query ? `?${query}` : ''}`;
}

/** Opens /v1/listen expecting the server to refuse the upgrade: its HTTP status and JSON body. */
export async function refusedUpgrade(port: number, query = '', headers: Record<string, string> = {}): Promise<{ status: number; body: { code: string; message: string } }> {
  const ws = new WebSocket(listenUrl(port, query), { headers });
  ws.on('error', () => {}); // the aborted request below
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.close();
      reject(new Error('the server accepted the upgrade'));
    });
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
      });
    });
  });
}

export class TestClient {
  readonly messages: ServerMessage[] = [];
  private waiters: Array<() => void> = [];
  closedCode: number | null = null;
  closedReason = '';

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) throw new Error('unexpected binary message in JSON mode');
      this.messages.push(JSON.parse(data.toString()) as ServerMessage);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closedCode = code;
      this.closedReason = reason.toString();
      this.wake();
    });
  }

  static async connect(port: number, query = '', headers: Record<string, string> = {}): Promise<TestClient> {
    const ws = new WebSocket(listenUrl(port, query), { headers });
    // Listening before the open: a message sent at once (a resumed session's `ready`) comes in the same read.
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(msg: object): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** Streams 16 kHz audio as s16le in `frameMs` frames, paced in real time unless `realTime` is false. */
  async streamPcm(samples: Float32Array, frameMs = 20, realTime = true): Promise<void> {
    const bytes = toS16le(samples);
    const frameBytes = frameMs * 16 * 2;
    const t0 = performance.now();
    for (let pos = 0, i = 0; pos < bytes.length; pos += frameBytes, i++) {
      this.ws.send(bytes.subarray(pos, pos + frameBytes));
      if (realTime) {
        const due = t0 + (i + 1) * frameMs;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      } else if (i % 50 === 0) {
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  async waitFor(pred: (m: ServerMessage[]) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!pred(this.messages)) {
      if (this.closedCode !== null) throw new Error(`socket closed (${this.closedCode}) while waiting; got ${JSON.stringify(this.messages.map((m) => m.type))}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(this.messages).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.closedCode === null) {
      if (performance.now() > deadline) throw new Error('socket did not close');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Finals in arrival order, of one channel when `channel` is given. */
  finals(channel?: number): TranscriptMessage[] {
    return this.messages.filter((m): m is TranscriptMessage => m.type === 'final' && (channel === undefined || m.channel === channel));
  }

  partials(): TranscriptMessage[] {
    return this.messages.filter((m): m is TranscriptMessage => m.type === 'partial');
  }

  finalText(channel?: number): string {
    return this.finals(channel).map((f) => f.text).filter((t) => t !== '').join(' ');
  }

  /** Sends `bytes` as binary frames cut at the given sizes (cycled), yielding to the event loop now and then. */
  async streamBytes(bytes: Uint8Array, chunkSizes: number[]): Promise<void> {
    for (let pos = 0, i = 0; pos < bytes.length; i++) {
      const size = chunkSizes[i % chunkSizes.length];
      this.ws.send(bytes.subarray(pos, pos + size));
      pos += size;
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  /** Sends each packet as one binary frame. */
  async streamPackets(packets: Uint8Array[]): Promise<void> {
    for (let i = 0; i < packets.length; i++) {
      this.ws.send(packets[i]);
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
  }
}
