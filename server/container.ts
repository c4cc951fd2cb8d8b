/**
 * Which container a byte stream is, from its first bytes, for the front doors
 * whose clients do not declare an encoding (a Deepgram session without
 * `encoding`, an uploaded file): the containers the engine decodes itself.
 */
import type { AudioEncoding } from '../protocol/messages.js';

const OGG_MAGIC = [0x4f, 0x67, 0x67, 0x53]; // "OggS"
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3]; // Matroska / WebM

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** ogg_opus or webm_opus when `bytes` starts like one, else null. */
export function opusContainer(bytes: Uint8Array): Extract<AudioEncoding, 'ogg_opus' | 'webm_opus'> | null {
  if (startsWith(bytes, OGG_MAGIC)) return 'ogg_opus';
  if (startsWith(bytes, EBML_MAGIC)) return 'webm_opus';
  return null;
}
