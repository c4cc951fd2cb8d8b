/**
 * Streaming WebM (Matroska) demuxer for the Opus track: bytes cut anywhere
 * in, the OpusHead (the track's CodecPrivate) and the Opus packets of its
 * SimpleBlocks and Blocks out.
 *
 * A small hand parser rather than the `ebml` package: that one buffers every
 * element it reads (video frames included), concatenates its whole buffer on
 * each write, runs as a Node Transform stream, and closes unknown-size
 * elements on their first child, while MediaRecorder writes its Segment and
 * Clusters with unknown size. This parser never tracks where a master element
 * ends: it steps into the few masters on the way to what it needs (Segment,
 * Tracks, TrackEntry, Cluster, BlockGroup), reads the few leaves it needs, and
 * skips everything else by its size without buffering it. Element IDs are
 * unique across those levels, so the flat walk reads the same stream as a
 * tree walk would, and an unknown-size master costs nothing special.
 */
import { AudioDecodeError, corruptStream, describeStreamStart } from './errors.js';
import { parseOpusHead, type OpusHead } from './opus-head.js';

const ID = {
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  Segment: 0x18538067,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  Cluster: 0x1f43b675,
  BlockGroup: 0xa0,
  SimpleBlock: 0xa3,
  Block: 0xa1,
} as const;

/** Masters whose children we need: stepped into, never skipped. */
const ENTERED = new Set<number>([ID.EBML, ID.Segment, ID.Tracks, ID.TrackEntry, ID.Cluster, ID.BlockGroup]);
/** Leaves whose value we need. */
const READ = new Set<number>([ID.DocType, ID.TrackNumber, ID.CodecID, ID.CodecPrivate]);
/** Bound on an element we buffer (a header field or an Opus block; real ones are under 8 KB). */
const MAX_READ_BYTES = 1 << 16;
/**
 * Bound on an element we skip. Nothing in a live audio stream comes near it,
 * while a corrupt size field usually does, and would otherwise swallow the
 * rest of the stream without a word.
 */
const MAX_SKIP_BYTES = 1 << 24;
/** Block header after the track number: 16-bit timecode and flags. */
const BLOCK_HEADER_TAIL_BYTES = 3;

interface Track {
  number: number;
  codecId: string;
  codecPrivate: Uint8Array | null;
}

interface ElementHeader {
  id: number;
  /** null: unknown size (all value bits set), as live writers give Segment and Cluster. */
  size: number | null;
  headerBytes: number;
}

export class WebmOpusDemuxer {
  head: OpusHead | null = null;
  private pending: Uint8Array = new Uint8Array(0);
  /** Stream offset of pending[0], for error messages. */
  private offset = 0;
  /** Bytes still to drop of an element being skipped. */
  private skipBytes = 0;
  private tracks: Track[] = [];
  private opusTrack = -1;

  /** The Opus packets completed by `chunk`. */
  push(chunk: Uint8Array): Uint8Array[] {
    let data = chunk;
    if (this.skipBytes > 0) {
      const skipped = Math.min(this.skipBytes, data.length);
      this.skipBytes -= skipped;
      this.offset += skipped;
      data = data.subarray(skipped);
    }
    if (this.pending.length > 0) {
      const joined = new Uint8Array(this.pending.length + data.length);
      joined.set(this.pending);
      joined.set(data, this.pending.length);
      data = joined;
    }
    const packets: Uint8Array[] = [];
    let pos = 0;
    while (this.skipBytes === 0) {
      const consumed = this.element(data, pos, packets);
      if (consumed === 0) break;
      pos += consumed;
      if (pos > data.length) {
        // A skipped element runs past this chunk.
        this.skipBytes = pos - data.length;
        pos = data.length;
      }
    }
    this.offset += pos;
    this.pending = data.slice(pos);
    return packets;
  }

  /** Handles the element at `pos`: the bytes it consumed (possibly past the data, when skipping), or 0 to wait for more. */
  private element(data: Uint8Array, pos: number, packets: Uint8Array[]): number {
    const at = this.offset + pos;
    if (at === 0) {
      if (data.length < 4) return 0;
      if (readUint(data.subarray(0, 4)) !== ID.EBML) {
        throw corruptStream(`webm_opus stream does not start with an EBML header (it starts ${describeStreamStart(data)})`);
      }
    }
    const header = readElementHeader(data, pos, at);
    if (!header) return 0;
    const { id, size, headerBytes } = header;
    if (ENTERED.has(id)) {
      if (id === ID.TrackEntry) this.tracks.push({ number: -1, codecId: '', codecPrivate: null });
      if (id === ID.Cluster) this.selectOpusTrack();
      return headerBytes;
    }
    if (size === null) throw corruptStream(`WebM element 0x${id.toString(16)} at byte ${at} has unknown size, which only containers may have`);
    if (id === ID.SimpleBlock || id === ID.Block) return this.block(data, pos, header, packets);
    if (READ.has(id)) {
      if (size > MAX_READ_BYTES) throw corruptStream(`WebM element 0x${id.toString(16)} at byte ${at} is implausibly large (${size} bytes)`);
      if (data.length - pos < headerBytes + size) return 0;
      this.field(id, data.subarray(pos + headerBytes, pos + headerBytes + size), at);
      return headerBytes + size;
    }
    if (size > MAX_SKIP_BYTES) throw corruptStream(`WebM element 0x${id.toString(16)} at byte ${at} is implausibly large (${size} bytes)`);
    return headerBytes + size;
  }

  private field(id: number, value: Uint8Array, at: number): void {
    if (id === ID.DocType) {
      const docType = String.fromCharCode(...value).replace(/\0+$/, '');
      if (docType !== 'webm' && docType !== 'matroska') throw corruptStream(`EBML document type "${docType}" is not WebM or Matroska`);
      return;
    }
    const track = this.tracks.at(-1);
    if (!track) throw corruptStream(`WebM track field 0x${id.toString(16)} outside a TrackEntry at byte ${at}`);
    if (id === ID.TrackNumber) track.number = readUint(value);
    else if (id === ID.CodecID) track.codecId = String.fromCharCode(...value).replace(/\0+$/, '');
    else track.codecPrivate = value.slice();
  }

  /** Picks the Opus track once the track list is complete: at the first Cluster or block. */
  private selectOpusTrack(): void {
    if (this.head) return;
    const track = this.tracks.find((t) => t.codecId === 'A_OPUS');
    if (!track) {
      const found = this.tracks.map((t) => t.codecId).join(', ') || 'no tracks';
      throw corruptStream(`WebM stream has no Opus audio track before its first cluster (found: ${found})`);
    }
    if (!track.codecPrivate) throw corruptStream('WebM Opus track has no CodecPrivate (OpusHead)');
    this.head = parseOpusHead(track.codecPrivate);
    this.opusTrack = track.number;
  }

  private block(data: Uint8Array, pos: number, header: ElementHeader, packets: Uint8Array[]): number {
    const at = this.offset + pos;
    const size = header.size as number;
    const start = pos + header.headerBytes;
    const track = readVint(data, start, Math.min(data.length, start + size));
    if (track === undefined) {
      if (data.length - start < Math.min(size, 8)) return 0; // the track number has not all arrived
      throw corruptStream(`WebM block at byte ${at} has no valid track number`);
    }
    this.selectOpusTrack();
    if (track.value !== this.opusTrack) {
      if (size > MAX_SKIP_BYTES) throw corruptStream(`WebM block at byte ${at} is implausibly large (${size} bytes)`);
      return header.headerBytes + size; // another track's frame: skipped, however large
    }
    if (size > MAX_READ_BYTES) throw corruptStream(`WebM Opus block at byte ${at} is implausibly large (${size} bytes)`);
    if (data.length - pos < header.headerBytes + size) return 0;
    const payloadStart = start + track.length + BLOCK_HEADER_TAIL_BYTES;
    if (payloadStart > start + size) throw corruptStream(`WebM block at byte ${at} is shorter than its header`);
    const flags = data[payloadStart - 1];
    // Lacing packs several frames in a block; MediaRecorder, ffmpeg and libwebm never lace Opus.
    if ((flags & 0x06) !== 0) throw new AudioDecodeError('bad_audio', `WebM block at byte ${at} uses lacing, which is not supported`, false);
    packets.push(data.slice(payloadStart, start + size));
    return header.headerBytes + size;
  }
}

/**
 * An EBML variable-length integer at `pos` (before `end`) with its length
 * marker removed, or undefined when the bytes are not there or the first one
 * is 0 (no marker within 8 bytes). `allOnes` tells an unknown size.
 */
function readVint(data: Uint8Array, pos: number, end: number): { value: number; length: number; allOnes: boolean } | undefined {
  if (pos >= end || data[pos] === 0) return undefined;
  const first = data[pos];
  const length = Math.clz32(first) - 23; // leading zeros within the byte, plus one
  if (pos + length > end) return undefined;
  const mask = 0xff >> length;
  let value = first & mask;
  let allOnes = value === mask;
  for (let i = 1; i < length; i++) {
    value = value * 256 + data[pos + i];
    allOnes &&= data[pos + i] === 0xff;
  }
  return { value, length, allOnes };
}

/** ID and size of the element at `pos`, or null when its header has not all arrived. */
function readElementHeader(data: Uint8Array, pos: number, at: number): ElementHeader | null {
  if (pos >= data.length) return null;
  const idLength = data[pos] === 0 ? 9 : Math.clz32(data[pos]) - 23;
  if (idLength > 4) throw corruptStream(`WebM stream is corrupt: invalid element ID at byte ${at}`);
  if (data.length - pos < idLength + 1) return null;
  let id = 0;
  for (let i = 0; i < idLength; i++) id = id * 256 + data[pos + i];
  if (data[pos + idLength] === 0) throw corruptStream(`WebM stream is corrupt: invalid element size at byte ${at}`);
  const size = readVint(data, pos + idLength, data.length);
  if (!size) return null;
  if (size.allOnes) return { id, size: null, headerBytes: idLength + size.length };
  if (size.value > Number.MAX_SAFE_INTEGER) throw corruptStream(`WebM stream is corrupt: element size overflows at byte ${at}`);
  return { id, size: size.value, headerBytes: idLength + size.length };
}

function readUint(bytes: Uint8Array): number {
  let value = 0;
  for (const b of bytes) value = value * 256 + b;
  return value;
}
