/**
 * The one error type audio ingest throws. Everything a client can send that
 * we cannot decode ends up here, so the session can tell a client mistake
 * (answer with an error message) from a bug (log it), and a glitch it can
 * ride over (`recoverable`) from a stream that is beyond saving.
 */

export type AudioErrorCode = 'bad_audio' | 'unsupported_encoding' | 'bad_config';

export class AudioDecodeError extends Error {
  override readonly name = 'AudioDecodeError';

  constructor(
    readonly code: AudioErrorCode,
    message: string,
    /** True when only the offending chunk is lost and later chunks still decode. */
    readonly recoverable: boolean,
  ) {
    super(message);
  }
}

/** The stream is damaged or is not what was declared; nothing after this decodes. */
export function corruptStream(message: string): AudioDecodeError {
  return new AudioDecodeError('bad_audio', message, false);
}

/** What the first bytes of a stream look like, for error messages that help a client fix its `encoding`. */
export function describeStreamStart(bytes: Uint8Array): string {
  const hex = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const ascii = String.fromCharCode(...bytes.subarray(0, 4));
  if (ascii === 'OggS') return `${hex}, an Ogg stream (encoding ogg_opus)`;
  if (hex === '1a 45 df a3') return `${hex}, a WebM/Matroska stream (encoding webm_opus)`;
  if (ascii === 'RIFF') return `${hex}, a WAV file (send its samples without the header, as pcm_s16le or pcm_f32le)`;
  return hex;
}
