/**
 * The protobuf schema of protocol v1 as a string: `listen.proto`, verbatim,
 * for code that cannot read files (the browser client). `frames.ts` parses it
 * at load with protobufjs (`keepCase: true`, so field names stay snake_case);
 * tests/protocol.test.ts keeps it byte-identical to `listen.proto`.
 */

export const LISTEN_PROTO = `// Protocol v1 of live-transcribe, binary form: what travels on /v1/listen
// when the client connects with format=protobuf. Every WebSocket frame is
// then a binary frame holding one ClientMessage (client to server) or one
// ServerMessage (server to client); audio rides inside ClientMessage.audio.
//
// Field names are snake_case and identical to the JSON form, and each member
// of a "type" oneof is named after the JSON "type" value, so one document
// (protocol/README.md) describes both forms. Times are integer milliseconds
// of stream time: the position in the audio the client sent, counted from
// its first sample.
//
// protocol/schema.ts carries this text verbatim for clients that cannot read
// files; tests/protocol.test.ts keeps the two identical.

syntax = "proto3";

package livetranscribe.v1;

message ClientMessage {
  oneof type {
    SessionConfig config = 1;
    // Raw audio in the session's encoding: one frame's worth per message.
    bytes audio = 2;
    Finalize finalize = 3;
    KeepAlive keepalive = 4;
    Close close = 5;
  }
}

// Every field has presence ("optional"): a config message changes only the
// fields it sets. In Ready.config every field is set.
message SessionConfig {
  // pcm_s16le, pcm_f32le, mulaw, alaw, opus, ogg_opus or webm_opus.
  optional string encoding = 1;
  optional uint32 sample_rate = 2;
  optional uint32 channels = 3;
  optional bool multichannel = 4;
  optional string language = 5;
  optional string model = 6;
  optional bool interim_results = 7;
  optional uint32 endpointing_ms = 8;
  optional bool diarize = 9;
  optional string session_id = 10;
  optional string resume_token = 11;
  // Words and phrases the finals favour: up to 100, each up to 50
  // characters. Repeated fields have no presence: a config without any
  // leaves the keyterms as they were.
  repeated string keyterms = 12;
  // Nats added per model token of a keyterm heard (0 to 10).
  optional double keyterm_boost = 13;
  // Diarization hints (1 to 32): at least / at most this many speakers.
  // Unset: no hint; Ready.config leaves them unset when the client did.
  optional uint32 min_speakers = 14;
  optional uint32 max_speakers = 15;
}

// Flush: finals for everything received so far; the session stays open.
message Finalize {}

// Keeps an idle session open; answered by ServerMessage.keepalive.
message KeepAlive {}

// Finals for everything received, then ServerMessage.closed, then the
// server closes the socket.
message Close {}

message ServerMessage {
  oneof type {
    Ready ready = 1;
    Transcript partial = 2;
    Transcript final = 3;
    SpeechStarted speech_started = 4;
    UtteranceEnd utterance_end = 5;
    SpeakerUpdate speaker_update = 6;
    ServerError error = 7;
    Closed closed = 8;
    KeepAliveAck keepalive = 9;
  }
}

message Ready {
  string session_id = 1;
  string model = 2;
  // "v1".
  string protocol_version = 3;
  // The settings in force, every field set.
  SessionConfig config = 4;
  Limits limits = 5;
  // Pass as resume_token to continue this session after a dropped
  // connection; empty when the server does not offer resumption.
  string resume_token = 6;
  // True when the model is a shipped demo model, which knows only
  // synthetic voices (a real one is pulled with npm run models -- pull).
  bool demo = 7;
}

message Limits {
  uint32 max_message_bytes = 1;
  uint32 max_session_ms = 2;
  uint32 idle_timeout_ms = 3;
}

message Word {
  string word = 1;
  uint32 start_ms = 2;
  uint32 end_ms = 3;
  // 0 to 1.
  double confidence = 4;
  // Empty when unknown.
  string speaker = 5;
}

// A partial (may still change) or a final (definitive) transcript of one
// segment of one channel.
message Transcript {
  uint32 segment_id = 1;
  uint32 channel = 2;
  uint32 start_ms = 3;
  uint32 end_ms = 4;
  string text = 5;
  repeated Word words = 6;
  string speaker = 7;
}

message SpeechStarted {
  uint32 channel = 1;
  uint32 segment_id = 2;
  uint32 at_ms = 3;
}

message UtteranceEnd {
  uint32 channel = 1;
  uint32 segment_id = 2;
  uint32 at_ms = 3;
}

// New speaker labels for a segment already sent as final.
message SpeakerUpdate {
  uint32 channel = 1;
  uint32 segment_id = 2;
  string speaker = 3;
  // The new label of each word of the segment, in order.
  repeated string word_speakers = 4;
}

// Named ServerError, not Error, so generated code does not shadow the
// Error class of Java or JavaScript.
message ServerError {
  // One of the codes in protocol/README.md, e.g. "bad_config".
  string code = 1;
  string message = 2;
  // True when the server ends the session after this error.
  bool fatal = 3;
}

message Closed {
  string reason = 1;
  uint32 audio_ms_received = 2;
  uint32 finals_sent = 3;
}

message KeepAliveAck {}
`;
