/**
 * An audio file as the stream-wav example sends it: the session settings it
 * needs and its bytes cut into timed chunks (each with the stream time it
 * reaches), so the sender can pace them like a live source. No sox, no
 * ffmpeg:
 *
 * - Ogg/Opus and WebM/Opus go as they are (`ogg_opus`, `webm_opus`): the
 *   server's own demuxer and Opus decoder read them, and the upload is the
 *   file's size. Times come from the container (Ogg granule positions, WebM
 *   block timecodes); only those are read here.
 * - WAV is read by protocol/wav.ts (16-bit PCM, 32-bit float, A-law and
 *   mu-law go as they are; 8, 24 and 32-bit integer PCM become 32-bit float).
 * - FLAC and MP3 are decoded here by @wasm-audio-decoders/flac and
 *   mpg123-decoder (WebAssembly builds of libFLAC and libmpg123, from the
 *   maintainer of the opus-decoder package the server uses), then sent as
 *   32-bit float PCM at the file's rate and channels; the server resamples
 *   and mixes.
 *
 * Everything but the two decoders is pure and synchronous.
 */
import { FLACDecoder } from '@wasm-audio-decoders/flac';
import { MPEGDecoder } from 'mpg123-decoder';
import type { SessionConfig } from '../../protocol/messages.js';
import { isWav, readWav as readWavAudio, WavError, type WavAudio } from '../../protocol/wav.js';

/** The longest stretch of audio in one chunk: the protocol recommends 20 to 100 ms per frame. */
export const CHUNK_MS = 100;

export interface TimedChunk {
  bytes: Uint8Array;
  /** Stream time at the end of this chunk's audio. */
  endMs: number;
}

export interface AudioFile {
  /** What the file is and how it is sent, for people. */
  description: string;
  config: Pick<SessionConfig, 'encoding' | 'sample_rate' | 'channels'>;
  chunks: TimedChunk[];
}

export class AudioFileError extends Error {
  override readonly name = 'AudioFileError';
}

const ascii = (bytes: Uint8Array, from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));

/** Reads any supported file; the format is told by its first bytes, not its name. */
export async function readAudioFile(bytes: Uint8Array): Promise<AudioFile> {
  if (isWav(bytes)) return readWav(bytes);
  if (ascii(bytes, 0, 4) === 'OggS') return readOggOpus(bytes);
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return readWebm(bytes);
  if (ascii(bytes, 0, 4) === 'fLaC') return decoded('FLAC', await decodeFlac(bytes));
  if (ascii(bytes, 0, 3) === 'ID3' || (bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0)) return decoded('MP3', await decodeMp3(bytes));
  throw new AudioFileError('not a WAV, FLAC, MP3, Ogg/Opus or WebM/Opus file (by its first bytes)');
}

// ------------------------------------------------------------------ raw PCM

/** Cuts interleaved PCM into chunks of CHUNK_MS, whole sample frames each. */
export function pcmChunks(pcm: Uint8Array, sampleRateHz: number, bytesPerFrame: number): TimedChunk[] {
  const framesPerChunk = Math.max(1, Math.round((sampleRateHz * CHUNK_MS) / 1000));
  const chunkBytes = framesPerChunk * bytesPerFrame;
  const chunks: TimedChunk[] = [];
  for (let pos = 0; pos < pcm.length; pos += chunkBytes) {
    const bytes = pcm.subarray(pos, Math.min(pcm.length, pos + chunkBytes));
    chunks.push({ bytes, endMs: ((pos + bytes.length) / bytesPerFrame / sampleRateHz) * 1000 });
  }
  return chunks;
}

/** RIFF WAVE, read by protocol/wav.ts (the server reads uploads the same way) and cut into timed chunks. */
export function readWav(bytes: Uint8Array): AudioFile {
  let wav: WavAudio;
  try {
    wav = readWavAudio(bytes);
  } catch (err) {
    throw err instanceof WavError ? new AudioFileError(err.message) : err;
  }
  const bytesPerSample = wav.encoding === 'pcm_s16le' ? 2 : wav.encoding === 'pcm_f32le' ? 4 : 1;
  return {
    description: `${wav.description}, sent as ${wav.encoding}`,
    config: { encoding: wav.encoding, sample_rate: wav.sampleRateHz, channels: wav.channels },
    chunks: pcmChunks(wav.data, wav.sampleRateHz, bytesPerSample * wav.channels),
  };
}

// ------------------------------------------------------------------ decoded (FLAC, MP3)

interface DecodedAudio {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
}

async function decodeFlac(bytes: Uint8Array): Promise<DecodedAudio> {
  const decoder = new FLACDecoder();
  try {
    await decoder.ready;
    return await decoder.decodeFile(bytes);
  } finally {
    decoder.free();
  }
}

async function decodeMp3(bytes: Uint8Array): Promise<DecodedAudio> {
  const decoder = new MPEGDecoder();
  try {
    await decoder.ready;
    return decoder.decode(bytes);
  } finally {
    decoder.free();
  }
}

function decoded(kind: string, audio: DecodedAudio): AudioFile {
  const channels = audio.channelData.length;
  if (audio.samplesDecoded === 0 || channels === 0) throw new AudioFileError(`${kind}: no audio could be decoded`);
  const interleaved = new Float32Array(audio.samplesDecoded * channels);
  for (let c = 0; c < channels; c++) {
    const plane = audio.channelData[c];
    for (let i = 0; i < audio.samplesDecoded; i++) interleaved[i * channels + c] = plane[i];
  }
  return {
    description: `${kind}, ${audio.sampleRate} Hz, ${channels} channel(s), decoded here and sent as pcm_f32le`,
    config: { encoding: 'pcm_f32le', sample_rate: audio.sampleRate, channels },
    chunks: pcmChunks(new Uint8Array(interleaved.buffer), audio.sampleRate, 4 * channels),
  };
}

// ------------------------------------------------------------------ containers, sent as they are

/**
 * Cuts a container at points whose stream times are known, and cuts each
 * stretch between two points further into pieces of about CHUNK_MS, timed in
 * proportion to their bytes (containers may be cut anywhere).
 */
export function containerChunks(bytes: Uint8Array, points: Array<{ offset: number; timeMs: number }>): TimedChunk[] {
  const chunks: TimedChunk[] = [];
  let from = { offset: 0, timeMs: 0 };
  for (const to of [...points, { offset: bytes.length, timeMs: points.at(-1)?.timeMs ?? 0 }]) {
    if (to.offset <= from.offset) continue;
    const pieces = Math.max(1, Math.ceil((to.timeMs - from.timeMs) / CHUNK_MS));
    for (let i = 1; i <= pieces; i++) {
      const start = from.offset + Math.floor(((to.offset - from.offset) * (i - 1)) / pieces);
      const end = from.offset + Math.floor(((to.offset - from.offset) * i) / pieces);
      if (end > start) chunks.push({ bytes: bytes.subarray(start, end), endMs: from.timeMs + ((to.timeMs - from.timeMs) * i) / pieces });
    }
    from = to;
  }
  return chunks;
}

/** Ogg pages (RFC 3533): where each ends, and its granule position (48 kHz samples for Opus) as stream time. */
export function readOggOpus(bytes: Uint8Array): AudioFile {
  if (ascii(bytes, 28, 36) !== 'OpusHead') throw new AudioFileError('Ogg: not an Opus stream (Vorbis and others are not supported)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const points: Array<{ offset: number; timeMs: number }> = [];
  for (let pos = 0; pos + 27 <= bytes.length; ) {
    if (ascii(bytes, pos, pos + 4) !== 'OggS') throw new AudioFileError(`Ogg: no page at byte ${pos}`);
    const segments = bytes[pos + 26];
    let end = pos + 27 + segments;
    for (let i = 0; i < segments; i++) end += bytes[pos + 27 + i];
    const granule = Number(view.getBigInt64(pos + 6, true));
    // -1: no packet ends on this page; its time is the next page's.
    if (granule >= 0) points.push({ offset: Math.min(end, bytes.length), timeMs: granule / 48 });
    pos = end;
  }
  return { description: 'Ogg/Opus, sent as it is (ogg_opus)', config: { encoding: 'ogg_opus', sample_rate: 48_000, channels: 1 }, chunks: containerChunks(bytes, points) };
}

const EBML = {
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Cluster: 0x1f43b675,
  Timecode: 0xe7,
  BlockGroup: 0xa0,
  Block: 0xa1,
  SimpleBlock: 0xa3,
} as const;
const EBML_ENTERED = new Set<number>([EBML.Segment, EBML.Info, EBML.Cluster, EBML.BlockGroup]);

/** An EBML variable-length integer at `pos`: its value (marker bit kept for IDs) and length; null past the end. */
function vint(bytes: Uint8Array, pos: number, keepMarker: boolean): { value: number; length: number; unknown: boolean } | null {
  const first = bytes[pos];
  if (first === undefined || first === 0) return null;
  const length = Math.clz32(first) - 23;
  if (pos + length > bytes.length) return null;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + bytes[pos + i];
    allOnes &&= bytes[pos + i] === 0xff;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

/**
 * WebM (Matroska): each block's end and its time (cluster timecode plus the
 * block's own, in TimecodeScale units). A flat walk: it steps into Segment,
 * Info, Cluster and BlockGroup (whose sizes may be unknown, as MediaRecorder
 * writes them) and skips every other element by its size.
 */
export function readWebm(bytes: Uint8Array): AudioFile {
  const points: Array<{ offset: number; timeMs: number }> = [];
  let scaleNs = 1_000_000;
  let clusterTime = 0;
  for (let pos = 0; pos < bytes.length; ) {
    const id = vint(bytes, pos, true);
    const size = id && vint(bytes, pos + id.length, false);
    if (!id || !size) break;
    const body = pos + id.length + size.length;
    if (EBML_ENTERED.has(id.value)) {
      pos = body;
      continue;
    }
    if (size.unknown) throw new AudioFileError(`WebM: element ${id.value.toString(16)} of unknown size at byte ${pos}`);
    const end = body + size.value;
    const uint = () => bytes.subarray(body, Math.min(end, bytes.length)).reduce((n, b) => n * 256 + b, 0);
    if (id.value === EBML.TimecodeScale) scaleNs = uint();
    else if (id.value === EBML.Timecode) clusterTime = uint();
    else if ((id.value === EBML.SimpleBlock || id.value === EBML.Block) && end <= bytes.length) {
      const track = vint(bytes, body, false);
      if (track) {
        const relative = new DataView(bytes.buffer, bytes.byteOffset + body + track.length, 2).getInt16(0);
        points.push({ offset: end, timeMs: ((clusterTime + relative) * scaleNs) / 1e6 });
      }
    }
    pos = end;
  }
  return { description: 'WebM/Opus, sent as it is (webm_opus)', config: { encoding: 'webm_opus', sample_rate: 48_000, channels: 1 }, chunks: containerChunks(bytes, points) };
}
