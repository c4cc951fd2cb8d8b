/**
 * Streaming Ogg demuxer for Ogg Opus (RFC 3533 pages, RFC 7845 mapping):
 * bytes cut anywhere in, the OpusHead and the audio packets out. It holds
 * at most one incomplete page and one incomplete packet.
 *
 * It is strict, because the stream arrives over a reliable socket: a page
 * that fails its CRC, a missing page (sequence gap), a second logical stream
 * or anything after the end-of-stream page is corruption, not something to
 * resynchronise over, and ends the stream with a non-recoverable error.
 */
import { corruptStream, describeStreamStart } from './errors.js';
import { parseOpusHead, type OpusHead } from './opus-head.js';

const HEADER_BYTES = 27;
const FLAG_CONTINUED = 0x01;
const FLAG_FIRST = 0x02;
const FLAG_LAST = 0x04;
/** Bound on one audio packet spanning pages; real ones are under 8 KB. */
const MAX_PACKET_BYTES = 1 << 16;

export class OggOpusDemuxer {
  head: OpusHead | null = null;
  private pending: Uint8Array = new Uint8Array(0);
  /** Stream offset of pending[0], for error messages. */
  private offset = 0;
  private serial = -1;
  private nextSequence = 0;
  private ended = false;
  /** Packets completed so far: 0 is OpusHead, 1 is OpusTags, then audio. */
  private packetIndex = 0;
  /** Segments of the packet that continues on the next page (not kept for OpusTags, which may hold cover art). */
  private partial: Uint8Array[] = [];
  private partialBytes = 0;

  /** The audio packets completed by `chunk`. */
  push(chunk: Uint8Array): Uint8Array[] {
    const data = concat(this.pending, chunk);
    const packets: Uint8Array[] = [];
    let pos = 0;
    while (data.length - pos >= HEADER_BYTES) {
      if (data[pos] !== 0x4f || data[pos + 1] !== 0x67 || data[pos + 2] !== 0x67 || data[pos + 3] !== 0x53) {
        if (this.offset + pos === 0) {
          throw corruptStream(`ogg_opus stream does not start with an Ogg page (it starts ${describeStreamStart(data)})`);
        }
        throw corruptStream(`Ogg stream is corrupt: no page where one should start, at byte ${this.offset + pos}`);
      }
      const segments = data[pos + 26];
      if (data.length - pos < HEADER_BYTES + segments) break;
      let bodyBytes = 0;
      for (let s = 0; s < segments; s++) bodyBytes += data[pos + HEADER_BYTES + s];
      const pageBytes = HEADER_BYTES + segments + bodyBytes;
      if (data.length - pos < pageBytes) break;
      this.page(data.subarray(pos, pos + pageBytes), this.offset + pos, packets);
      pos += pageBytes;
    }
    this.pending = data.slice(pos);
    this.offset += pos;
    return packets;
  }

  private page(page: Uint8Array, at: number, packets: Uint8Array[]): void {
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    if (page[4] !== 0) throw corruptStream(`Ogg page version ${page[4]} at byte ${at} is not supported`);
    if (view.getUint32(22, true) !== oggCrc(page)) throw corruptStream(`Ogg page at byte ${at} is corrupt (CRC mismatch)`);
    const flags = page[5];
    const serial = view.getUint32(14, true);
    const sequence = view.getUint32(18, true);
    if (this.ended) throw corruptStream('data after the end of the Ogg stream (chained or concatenated streams are not supported)');
    if (this.serial === -1) {
      if (!(flags & FLAG_FIRST)) throw corruptStream('Ogg stream does not begin with a beginning-of-stream page');
      this.serial = serial;
    } else if (serial !== this.serial || flags & FLAG_FIRST) {
      throw corruptStream('Ogg stream carries more than one logical stream (only a single Opus stream is supported)');
    }
    if (sequence !== this.nextSequence) {
      throw corruptStream(`Ogg stream is missing data: page ${this.nextSequence} expected, page ${sequence} found at byte ${at}`);
    }
    this.nextSequence++;
    if (Boolean(flags & FLAG_CONTINUED) !== this.partialBytes > 0) {
      throw corruptStream(`Ogg page at byte ${at} does not continue the packet before it`);
    }
    this.ended = (flags & FLAG_LAST) !== 0;

    const segments = page[26];
    let bodyPos = HEADER_BYTES + segments;
    for (let s = 0; s < segments; s++) {
      const lacing = page[HEADER_BYTES + s];
      const segment = page.subarray(bodyPos, bodyPos + lacing);
      bodyPos += lacing;
      this.partialBytes += lacing;
      if (this.packetIndex !== 1) {
        if (this.partialBytes > MAX_PACKET_BYTES) throw corruptStream(`Ogg packet over ${MAX_PACKET_BYTES} bytes: not an Opus stream`);
        this.partial.push(segment);
      }
      if (lacing < 255) this.packet(packets); // a lacing value below 255 ends the packet
    }
    // A packet going on into the next page: copy its start out of this chunk so as not to pin the chunk.
    if (this.partial.length > 0) this.partial = [concat(...this.partial).slice()];
  }

  private packet(packets: Uint8Array[]): void {
    const packet = concat(...this.partial);
    this.partial = [];
    this.partialBytes = 0;
    const index = this.packetIndex++;
    if (index === 0) {
      if (String.fromCharCode(...packet.subarray(0, 8)) !== 'OpusHead') {
        throw corruptStream(`Ogg stream does not carry Opus (first packet starts ${describeCodec(packet)})`);
      }
      this.head = parseOpusHead(packet);
    } else if (index >= 2) {
      packets.push(packet);
    }
  }
}

/** Names the codec of a first Ogg packet that is not Opus, so the error tells the client what it sent. */
function describeCodec(packet: Uint8Array): string {
  const text = String.fromCharCode(...packet.subarray(0, 8));
  if (text.startsWith('\x01vorbis')) return '"\\x01vorbis": Vorbis';
  if (text.startsWith('Speex')) return '"Speex": Speex';
  if (text.startsWith('\x7fFLAC')) return '"\\x7fFLAC": FLAC';
  return JSON.stringify(text);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** CRC-32 of Ogg pages: polynomial 0x04c11db7, MSB first, no reflection, initial 0, computed with the CRC field as zeros. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

export function oggCrc(page: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < page.length; i++) {
    const byte = i >= 22 && i < 26 ? 0 : page[i];
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]) >>> 0;
  }
  return crc;
}
