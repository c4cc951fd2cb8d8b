/**
 * A whole audio file through a model's engine, as fast as the engine goes:
 * the same stream, VAD, batching scheduler and beam-searched finals as a live
 * session, without interim results. Decoding: Ogg and WebM Opus (what live
 * clients send) by the engine's own decoder; WAV (PCM, float, A-law,
 * mu-law: protocol/wav.ts) as the PCM encoding it holds; anything else (FLAC,
 * MP3, M4A, other WAV codecs, ...) by ffmpeg in a child process, when one is
 * configured, to 16 kHz mono float32 streamed into the engine as it comes.
 * Without ffmpeg only Opus containers and WAV are taken. The audio is charged to its owner's budget as
 * it is decoded, like a live session's (limits.ts), and transcription stops
 * when the file's credential is revoked.
 */
import { spawn } from 'node:child_process';
import { AudioDecodeError, SAMPLE_RATE_HZ, type Engine, type Transcript } from '../engine/index.js';
import { DEFAULT_SESSION_CONFIG } from '../protocol/session-config.js';
import { isWav, readWav, WavError, type WavAudio } from '../protocol/wav.js';
import { opusContainer } from './container.js';
import type { AudioRateLimiter } from './limits.js';
import { SessionError } from './session.js';

export interface FileTranscript {
  /** Finals with words, in order. */
  segments: Transcript[];
  audioMs: number;
}

/** The file is not audio this server can decode; the message is for the client. */
export class UndecodableFileError extends Error {
  override readonly name = 'UndecodableFileError';
}

/** What bounds one file's transcription. */
export interface FileLimits {
  /** The owner's audio budget, shared with its live sessions: overdrawing it fails the file with `rate_limited`. */
  ownerBudget: AudioRateLimiter;
  /** Aborted (with the reason to throw) when the file's credential is revoked. */
  signal: AbortSignal;
}

/** ffmpeg's stderr kept for the error message, at most. */
const MAX_STDERR_BYTES = 4096;

/**
 * Transcribes `file` with `engine`. `ffmpeg` is the binary for non-Opus
 * files, or 'none'. Throws UndecodableFileError for input it cannot decode,
 * a `rate_limited` SessionError when the owner's budget is spent, and the
 * signal's reason once `limits.signal` is aborted. `keyterms` bias the
 * finals at the session default boost (none if empty).
 */
export async function transcribeFile(engine: Engine, file: Uint8Array, ffmpeg: string, limits: FileLimits, keyterms: string[] = []): Promise<FileTranscript> {
  const container = opusContainer(file);
  const wav = container ? null : wavOf(file, ffmpeg);
  if (!container && !wav && ffmpeg === 'none') {
    throw new UndecodableFileError('this server decodes only WAV, Ogg Opus and WebM Opus files (it runs without ffmpeg); send one of those');
  }
  const segments: Transcript[] = [];
  let failure: unknown = null;
  const stream = await engine.openStream(
    {
      encoding: container ?? wav?.encoding ?? 'pcm_f32le',
      sampleRateHz: wav?.sampleRateHz ?? SAMPLE_RATE_HZ,
      channels: wav?.channels ?? 1,
      multichannel: false,
      interimResults: false,
      endpointingMs: DEFAULT_SESSION_CONFIG.endpointing_ms,
      diarize: false,
      keyterms: { phrases: keyterms, boostNats: DEFAULT_SESSION_CONFIG.keyterm_boost },
    },
    (event) => {
      if (event.type === 'final' && event.transcript.words.length > 0) segments.push(event.transcript);
      else if (event.type === 'error') failure ??= event.error;
    },
  );
  let chargedMs = 0;
  // Mono: one channel's audio time is what it costs.
  const push = async (chunk: Uint8Array) => {
    limits.signal.throwIfAborted();
    await stream.push(chunk);
    const audioMs = stream.audioMs - chargedMs;
    chargedMs = stream.audioMs;
    const { ownerBudget } = limits;
    if (!ownerBudget.take(audioMs, performance.now())) {
      throw new SessionError('rate_limited', `this owner's sessions and files together are sending more than ${ownerBudget.maxRate}x real time for longer than a ${ownerBudget.burstMs} ms burst allows`, true);
    }
  };
  try {
    if (container) await push(file);
    else if (wav) await push(wav.data);
    else await decodeWithFfmpeg(ffmpeg, file, push);
    limits.signal.throwIfAborted();
    await stream.finish();
  } catch (err) {
    if (err instanceof AudioDecodeError) throw new UndecodableFileError(`the file is not decodable ${container ?? 'audio'}: ${err.message}`);
    throw err;
  } finally {
    stream.close();
  }
  if (failure) throw failure;
  return { segments, audioMs: stream.audioMs };
}

/** A WAV file's samples as they are, when it holds a codec read here; a WAV in another codec goes to ffmpeg when there is one. */
function wavOf(file: Uint8Array, ffmpeg: string): WavAudio | null {
  if (!isWav(file)) return null;
  try {
    return readWav(file);
  } catch (err) {
    if (err instanceof WavError && ffmpeg === 'none') throw new UndecodableFileError(`${err.message}; this server runs without ffmpeg`);
    if (err instanceof WavError) return null;
    throw err;
  }
}

/** Runs ffmpeg on `file`, handing its 16 kHz mono f32le output to `onChunk` in order. */
function decodeWithFfmpeg(ffmpeg: string, file: Uint8Array, onChunk: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-vn', '-f', 'f32le', '-ac', '1', '-ar', String(SAMPLE_RATE_HZ), 'pipe:1'];
    const child = spawn(ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    // Chunks go to the engine one after another, each awaited, as the stream requires.
    let pushing = Promise.resolve();
    let pushFailure: unknown = null;
    child.stdout.on('data', (chunk: Buffer) => {
      pushing = pushing.then(() => onChunk(chunk)).catch((err) => {
        pushFailure ??= err;
        child.kill();
      });
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR_BYTES) stderr += chunk.toString('utf8');
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new UndecodableFileError(`cannot decode this file: ffmpeg (${ffmpeg}) is not installed; send Ogg Opus or WebM Opus`) : err);
    });
    child.on('close', (code) => {
      void pushing.then(() => {
        if (pushFailure) return reject(pushFailure);
        if (code !== 0) return reject(new UndecodableFileError(`the file is not audio ffmpeg can decode: ${stderr.trim().split('\n').pop() || `exit code ${code}`}`));
        resolve();
      });
    });
    // A corrupt file can make ffmpeg stop reading early: EPIPE on stdin is expected then.
    child.stdin.on('error', () => {});
    child.stdin.end(file);
  });
}
