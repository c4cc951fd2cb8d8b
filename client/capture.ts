/**
 * Browser audio capture for the streaming protocol: the microphone (or a
 * picked file) as frames handed to a callback, ready to send as binary
 * WebSocket frames, with the session settings (`encoding`, `sample_rate`,
 * `channels`) they need.
 *
 * Microphone: getUserMedia → AudioWorklet, which hands float blocks to the
 * main thread (and a level per block, for a meter). The worklet's code is a
 * string loaded through a Blob URL, so the page bundles into one script (a
 * page with a Content-Security-Policy must allow `blob:` scripts). Chrome and
 * Safari accept `new AudioContext({sampleRate: 16000})` and resample the
 * microphone into it with their own band-limited resampler, so the graph runs
 * at 16 kHz, the rate the server works at; where a browser refuses to connect
 * a microphone to a context at another rate (Firefox), the context runs at
 * the device's rate and the server resamples. The client does no DSP of its
 * own.
 *
 * What goes upstream, best first (`upload: 'auto'`):
 * - `webcodecs`: the worklet's blocks encoded by WebCodecs' AudioEncoder as
 *   Opus (24 kbit/s, 20 ms packets), each packet one frame, sent as encoding
 *   `opus` (one raw packet per frame). Raw packets rather than a container:
 *   AudioEncoder gives packets, a frame lost to a dropped socket costs 20 ms
 *   instead of breaking a container stream, and no muxer is needed here.
 * - `mediarecorder`: where AudioEncoder is missing or refuses Opus,
 *   MediaRecorder's WebM/Opus (Chrome, Safari) or Ogg/Opus (Firefox)
 *   container chunks, sent as `webm_opus` / `ogg_opus`, cut where the
 *   recorder cuts them. A chunk lost to a dropped socket breaks the
 *   container, so a resumed session fails with `bad_audio` on this path.
 * - `pcm`: 16-bit PCM at the context's rate, `pcm_s16le` (256 kbit/s at
 *   16 kHz): where neither encoder exists, or when asked for.
 *
 * File: decodeAudioData in an OfflineAudioContext at 16 kHz (the browser
 * decodes and resamples), a render pass mixes it down to mono, and
 * `streamPaced` hands it out as PCM frames at (a multiple of) real time.
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

/** Root mean square of a block of samples: the level a meter shows (0 silence, about 0.7 a full-scale sine). */
export function rmsLevel(samples: Float32Array): number {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return samples.length === 0 ? 0 : Math.sqrt(sum / samples.length);
}

/** What a capture may send, best first; `auto` takes the first this browser has. */
export type UploadMethod = 'webcodecs' | 'mediarecorder' | 'pcm';
export const UPLOAD_METHODS: readonly UploadMethod[] = ['webcodecs', 'mediarecorder', 'pcm'];

/** Opus at this rate is transparent for speech recognition, and a tenth of 16 kHz PCM. */
export const OPUS_BITRATE_BPS = 24_000;
/** 20 ms: Opus's usual packet, within the protocol's recommended 20-100 ms per frame. */
const OPUS_FRAME_US = 20_000;
const MEDIA_RECORDER_TYPES = [
  { mimeType: 'audio/webm;codecs=opus', encoding: 'webm_opus' },
  { mimeType: 'audio/ogg;codecs=opus', encoding: 'ogg_opus' },
] as const;

/** The session settings the frames need: pass them in the session's config. */
export interface UploadConfig {
  encoding: 'opus' | 'webm_opus' | 'ogg_opus' | 'pcm_s16le';
  sample_rate: number;
  channels: 1;
}

export interface MicrophoneOptions {
  onFrame: FrameHandler;
  /** PCM frame length, and the block length of levels; default 50 ms */
  frameMs?: number;
  /** `auto` (default): WebCodecs Opus, else MediaRecorder Opus, else PCM. A method this browser lacks is an error. */
  upload?: UploadMethod | 'auto';
  /** each block's level (`rmsLevel`), for a meter; whatever is uploaded */
  onLevel?: (rms: number) => void;
  /** the microphone stopped on its own (unplugged, permission revoked) */
  onEnded?: () => void;
}

export interface MicrophoneCapture {
  /** What is sent. */
  readonly method: UploadMethod;
  /** The session settings for the frames: `encoding`, `sample_rate`, `channels`. */
  readonly config: UploadConfig;
  /** The context's rate: 16000 where the browser resamples, else the device's. */
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

/** Where the worklet's blocks go, and how the upload ends. */
interface Sink {
  method: UploadMethod;
  config: UploadConfig;
  push(samples: Float32Array): void;
  /** Delivers everything still held, then frees the encoder. */
  finish(): Promise<void>;
}

/** Call from a user gesture (a click), or the browser may keep the audio context suspended. */
export async function captureMicrophone(options: MicrophoneOptions): Promise<MicrophoneCapture> {
  const frameMs = options.frameMs ?? DEFAULT_FRAME_MS;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 }, video: false });
  let ctx: AudioContext | null = null;
  let sink: Sink | null = null;
  try {
    const opened = openContext(stream);
    ctx = opened.ctx;
    const { source } = opened;
    sink = await openSink(options.upload ?? 'auto', stream, ctx.sampleRate, frameMs, options.onFrame);
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
    const upload = sink;
    tap.port.onmessage = (event: MessageEvent<{ samples: Float32Array; last: boolean }>) => {
      if (flushed) return; // a block later than STOP_WAIT_MS: the stream already ended
      upload.push(event.data.samples);
      if (event.data.samples.length > 0) options.onLevel?.(rmsLevel(event.data.samples));
      if (event.data.last) lastBlock();
    };
    source.connect(tap);
    for (const track of stream.getAudioTracks()) track.addEventListener('ended', () => options.onEnded?.());
    await ctx.resume();

    const context = ctx;
    let stopped: Promise<void> | null = null;
    return {
      method: upload.method,
      config: upload.config,
      sampleRateHz: context.sampleRate,
      stop() {
        stopped ??= (async () => {
          tap.port.postMessage('stop');
          await Promise.race([lastBlockSeen, new Promise((r) => setTimeout(r, STOP_WAIT_MS))]);
          flushed = true;
          await upload.finish();
          source.disconnect();
          for (const track of stream.getTracks()) track.stop();
          await context.close();
        })();
        return stopped;
      },
    };
  } catch (err) {
    await sink?.finish().catch(() => {});
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

/** The first of `upload` (or, for `auto`, of every method in order) this browser can do. */
async function openSink(upload: UploadMethod | 'auto', stream: MediaStream, sampleRateHz: number, frameMs: number, onFrame: FrameHandler): Promise<Sink> {
  for (const method of upload === 'auto' ? UPLOAD_METHODS : [upload]) {
    const sink =
      method === 'webcodecs' ? await openOpusEncoder(sampleRateHz, onFrame) : method === 'mediarecorder' ? openMediaRecorder(stream, frameMs, onFrame) : openPcm(sampleRateHz, frameMs, onFrame);
    if (sink) return sink;
  }
  throw new Error(`this browser cannot upload with ${upload}`);
}

function openPcm(sampleRateHz: number, frameMs: number, onFrame: FrameHandler): Sink {
  const framer = new PcmFramer(sampleRateHz, frameMs, onFrame);
  return {
    method: 'pcm',
    config: { encoding: 'pcm_s16le', sample_rate: sampleRateHz, channels: 1 },
    push: (samples) => framer.push(samples),
    finish: async () => framer.flush(),
  };
}

/** WebCodecs Opus: null where the browser has no AudioEncoder or it refuses this configuration. */
async function openOpusEncoder(sampleRateHz: number, onFrame: FrameHandler): Promise<Sink | null> {
  if (typeof AudioEncoder === 'undefined' || typeof AudioData === 'undefined') return null;
  const encoderConfig: AudioEncoderConfig = {
    codec: 'opus',
    sampleRate: sampleRateHz,
    numberOfChannels: 1,
    bitrate: OPUS_BITRATE_BPS,
    // 'opus' format: bare packets, no Ogg pages around them.
    opus: { format: 'opus', frameDuration: OPUS_FRAME_US },
  };
  const support = await AudioEncoder.isConfigSupported(encoderConfig).catch(() => null);
  if (!support?.supported) return null;
  let failure: Error | null = null;
  const encoder = new AudioEncoder({
    output: (chunk) => {
      const packet = new Uint8Array(chunk.byteLength);
      chunk.copyTo(packet);
      onFrame(packet);
    },
    error: (err) => (failure = err),
  });
  encoder.configure(encoderConfig);
  let samplesIn = 0;
  return {
    method: 'webcodecs',
    // The server ignores the rate of raw Opus (it decodes to its own); this one is what the encoder was given.
    config: { encoding: 'opus', sample_rate: sampleRateHz, channels: 1 },
    push(samples) {
      if (samples.length === 0 || encoder.state !== 'configured') return;
      const data = new AudioData({ format: 'f32-planar', sampleRate: sampleRateHz, numberOfFrames: samples.length, numberOfChannels: 1, timestamp: Math.round((samplesIn / sampleRateHz) * 1e6), data: samples as Float32Array<ArrayBuffer> });
      samplesIn += samples.length;
      encoder.encode(data);
      data.close();
    },
    async finish() {
      if (encoder.state === 'configured') await encoder.flush();
      if (encoder.state !== 'closed') encoder.close();
      if (failure) throw failure;
    },
  };
}

/** MediaRecorder WebM or Ogg Opus, in chunks of `frameMs`: null where the browser records neither. */
function openMediaRecorder(stream: MediaStream, frameMs: number, onFrame: FrameHandler): Sink | null {
  if (typeof MediaRecorder === 'undefined') return null;
  const type = MEDIA_RECORDER_TYPES.find((t) => MediaRecorder.isTypeSupported(t.mimeType));
  if (!type) return null;
  const recorder = new MediaRecorder(stream, { mimeType: type.mimeType, audioBitsPerSecond: OPUS_BITRATE_BPS });
  // Blobs are read asynchronously: chained, so chunks go out in the order they were cut.
  let delivered = Promise.resolve();
  recorder.ondataavailable = (event) => {
    const blob = event.data;
    if (blob.size > 0) delivered = delivered.then(async () => onFrame(new Uint8Array(await blob.arrayBuffer())));
  };
  const stopped = new Promise<void>((resolve) => recorder.addEventListener('stop', () => resolve(), { once: true }));
  recorder.start(frameMs);
  return {
    method: 'mediarecorder',
    // The container carries its own rate; sample_rate is only what the protocol needs to be valid.
    config: { encoding: type.encoding, sample_rate: 48_000, channels: 1 },
    // The recorder reads the microphone itself; the worklet's blocks are only for the level.
    push: () => {},
    async finish() {
      if (recorder.state !== 'inactive') {
        recorder.stop();
        await stopped;
      }
      await delivered;
    },
  };
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
