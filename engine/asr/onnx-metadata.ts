/**
 * Reads an ONNX model's custom metadata (ModelProto.metadata_props), which
 * onnxruntime-node does not expose. Scans the top-level protobuf fields only,
 * skipping the graph without decoding it.
 */
import protobuf from 'protobufjs';

const METADATA_PROPS_FIELD = 14;
const LENGTH_DELIMITED = 2;

export function readOnnxMetadata(model: Uint8Array): Record<string, string> {
  const reader = protobuf.Reader.create(model);
  const meta: Record<string, string> = {};
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === METADATA_PROPS_FIELD && wireType === LENGTH_DELIMITED) {
      const entry = protobuf.Reader.create(reader.bytes());
      let key = '';
      let value = '';
      while (entry.pos < entry.len) {
        const t = entry.uint32();
        if (t >>> 3 === 1) key = entry.string();
        else if (t >>> 3 === 2) value = entry.string();
        else entry.skipType(t & 7);
      }
      meta[key] = value;
    } else {
      reader.skipType(wireType);
    }
  }
  return meta;
}
