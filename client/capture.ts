/**
 * Browser audio capture for the streaming protocol: the microphone (or a
 * picked file) as mono PCM s16le frames of `frameMs`, handed to a callback,
 * ready to send as binary WebSocket frames with
 * `encoding=pcm_s16le&sample_rate=<the capture's sampleRateHz>`.
 *
 * Microphone: getUserMedia → AudioWorklet. The worklet's code is a string
 * loaded through a Blob URL, so the page bundles into one script (a page with
 * a Content-Security-Policy must allow `blob:` scripts). Chrome and Safari
 * accept `new AudioContext({sampleRate: 16000})` and resample the microphone
 * into it with their own band-limited resampler, so the graph runs at 16 kHz,
 * the rate the server works at; where a browser refuses to connect a
 * microphone to a context at another rate (Firefox), the context runs at the
 * device's rate, frames go out at that rate, and the server resamples them
 * (the protocol takes any rate from 8 to 192 kHz). The client does no DSP of
 * its own.
 *
 * File: decodeAudioData in an OfflineAudioContext at 16 kHz (the browser
 * decodes and resamples), a render pass mixes it down to mono, and
 * `streamPaced` hands it out frame by frame at (a multiple of) real time.
 */
/** The rate asked of the browser: the server's own, so nothing needs resampling there. */
export const CAPTURE_RATE_HZ = 16_000;
/** 50 ms: within the protocol's recommended 20-100 ms per frame. */
export const DEFAULT_FRAME_MS = 50;

export type FrameHandler = (frame: Uint8Array) => void;

/**
 * Collects float samples into s16le frames of exactly `frameMs` at
 * `sampleRateHz` (the last one, from `flush`, may be shorter).
 */
export class PcmFramer {
  private readonly frame: Int16Array;
  private filled = 0;

  constructor(
    readonly sampleRateHz: number,
    readonly frameMs: number,
    private readonly onFrame: FrameHandler,
  ) {
    const frameSamples = Math.round((frameMs * sampleRateHz) / 1000);
    if (!Number.isInteger(frameMs) || frameSamples < 1) throw new RangeError(`frameMs must be a positive integer, got ${frameMs}`);
    this.frame = new Int16Array(frameSamples);
  }

  push(samples: Float32Array): void {
    for (const x of samples) {
      const clamped = x > 1 ? 1 : x < -1 ? -1 : x;
      this.frame[this.filled++] = Math.round(clamped * 32767);
      if (this.filled === this.frame.length) this.emit(this.filled);
    }
  }

  /** Sends what is left as a last, shorter frame. */
  flush(): void {
    if (this.filled > 0) this.emit(this.filled);
  }

  private emit(samples: number): void {
    // A copy: the frame buffer is reused, the receiver may keep or transfer what it gets.
    this.onFrame(new Uint8Array(this.frame.slice(0, samples).buffer));
    this.filled = 0;
  }
}

export interface MicrophoneOptions {
  onFrame: FrameHandler;
  frameMs?: number;
  /** the microphone stopped on its own (unplugged, permission revoked) */
  onEnded?: () => void;
}

export interface MicrophoneCapture {
  /** The frames' rate, to declare as the session's `sample_rate`: 16000 where the browser resamples, else the device's. */
  readonly sampleRateHz: number;
  /** Stops the microphone; frames captured up to now are delivered before this resolves. */
  stop(): Promise<void>;
}

/**
 * Accumulates the first input's (mono-mixed) samples into blocks and posts
 * each to the main thread, transferring its buffer. 'stop' posts what is
 * left, marked last, and ends the processor.
 */
const WORKLET_SOURCE = `
class PcmTap extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.blockSamples = options.processorOptions.blockSamples;
    this.block = new Float32Array(this.blockSamples);
    this.filled = 0;
    this.running = true;
    this.port.onmessage = (event) => {
      if (event.data !== 'stop' || !this.running) return;
      this.running = false;
      this.port.postMessage({ samples: this.block.slice(0, this.filled), last: true });
    };
  }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (this.running && channel) {
      for (let i = 0; i < channel.length; i++) {
        this.block[this.filled++] = channel[i];
        if (this.filled === this.blockSamples) {
          this.port.postMessage({ samples: this.block, last: false }, [this.block.buffer]);
          this.block = new Float32Array(this.blockSamples);
          this.filled = 0;
        }
      }
    }
    return this.running;
  }
}
registerProcessor('pcm-tap', PcmTap);
`;

/** How long `stop` waits for the worklet's last block (a suspended context never answers). */
const STOP_WAIT_MS = 1000;

/** Call from a user gesture (a click), or the browser may keep the audio context suspended. */
export async function captureMicrophone(options: MicrophoneOptions): Promise<MicrophoneCapture> {
  const frameMs = options.frameMs ?? DEFAULT_FRAME_MS;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 }, video: false });
  let ctx: AudioContext | null = null;
  try {
    const opened = openContext(stream);
    ctx = opened.ctx;
    const { source } = opened;
    const framer = new PcmFramer(ctx.sampleRate, frameMs, options.onFrame);
    const workletUrl = URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: 'text/javascript' }));
    try {
      await ctx.audioWorklet.addModule(workletUrl);
    } finally {
      URL.revokeObjectURL(workletUrl);
    }
    const tap = new AudioWorkletNode(ctx, 'pcm-tap', {
      numberOfInputs: 1,
      // No output: nothing reaches the speakers; a node without outputs is still processed.
      numberOfOutputs: 0,
      // Stereo microphones are mixed down to mono before the worklet sees them.
      channelCount: 1,
      channelCountMode: 'explicit',
      channelInterpretation: 'speakers',
      processorOptions: { blockSamples: Math.round((frameMs * ctx.sampleRate) / 1000) },
    });
    let lastBlock: () => void = () => {};
    const lastBlockSeen = new Promise<void>((resolve) => (lastBlock = resolve));
    let flushed = false;
    tap.port.onmessage = (event: MessageEvent<{ samples: Float32Array; last: boolean }>) => {
      if (flushed) return; // a block later than STOP_WAIT_MS: the stream already ended
      framer.push(event.data.samples);
      if (event.data.last) lastBlock();
    };
    source.connect(tap);
    for (const track of stream.getAudioTracks()) track.addEventListener('ended', () => options.onEnded?.());
    await ctx.resume();

    const context = ctx;
    let stopped: Promise<void> | null = null;
    return {
      sampleRateHz: context.sampleRate,
      stop() {
        stopped ??= (async () => {
          tap.port.postMessage('stop');
          await Promise.race([lastBlockSeen, new Promise((r) => setTimeout(r, STOP_WAIT_MS))]);
          flushed = true;
          framer.flush();
          source.disconnect();
          for (const track of stream.getTracks()) track.stop();
          await context.close();
        })();
        return stopped;
      },
    };
  } catch (err) {
    for (const track of stream.getTracks()) track.stop();
    await ctx?.close();
    throw err;
  }
}

function openContext(stream: MediaStream): { ctx: AudioContext; source: MediaStreamAudioSourceNode } {
  let ctx: AudioContext | null = null;
  try {
    ctx = new AudioContext({ sampleRate: CAPTURE_RATE_HZ });
    return { ctx, source: ctx.createMediaStreamSource(stream) };
  } catch {
    // Firefox: "Connecting AudioNodes from AudioContexts with different sample-rate is currently not supported".
    void ctx?.close();
  }
  ctx = new AudioContext();
  return { ctx, source: ctx.createMediaStreamSource(stream) };
}

/** Decodes any file the browser can play into 16 kHz mono float samples. */
export async function decodeAudioFile(file: Blob): Promise<Float32Array> {
  const bytes = await file.arrayBuffer();
  // decodeAudioData resamples to its context's rate; the length of this one does not matter.
  const decoded = await new OfflineAudioContext(1, 1, CAPTURE_RATE_HZ).decodeAudioData(bytes);
  // Rendering into a one-channel context mixes every channel down to mono.
  const render = new OfflineAudioContext(1, decoded.length, CAPTURE_RATE_HZ);
  const source = render.createBufferSource();
  source.buffer = decoded;
  source.connect(render.destination);
  source.start();
  return (await render.startRendering()).getChannelData(0);
}

export interface PacedOptions {
  onFrame: FrameHandler;
  frameMs?: number;
  /** 1 = real time (as a live microphone would), 2 = twice as fast, ... */
  speed?: number;
  /** stops the stream early; the promise then resolves */
  signal?: AbortSignal;
}

/** Hands 16 kHz samples out as frames, paced like a live source. Resolves after the last frame. */
export async function streamPaced(samples: Float32Array, options: PacedOptions): Promise<void> {
  const frameMs = options.frameMs ?? DEFAULT_FRAME_MS;
  const speed = options.speed ?? 1;
  if (!(speed > 0)) throw new RangeError(`speed must be positive, got ${speed}`);
  const framer = new PcmFramer(CAPTURE_RATE_HZ, frameMs, options.onFrame);
  const blockSamples = (frameMs * CAPTURE_RATE_HZ) / 1000;
  const startedAt = performance.now();
  for (let block = 0; block * blockSamples < samples.length; block++) {
    if (options.signal?.aborted) return;
    framer.push(samples.subarray(block * blockSamples, (block + 1) * blockSamples));
    // Against a schedule from the start, so timer lateness does not add up.
    const wait = startedAt + ((block + 1) * frameMs) / speed - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  framer.flush();
}
