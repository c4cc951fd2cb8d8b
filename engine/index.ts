/**
 * The engine's entry point: everything a program needs to transcribe audio
 * without a server. `createEngine(config)` loads the models; `openStream`
 * gives a stream to `push` audio into (any supported encoding, or 16 kHz
 * float samples with `pushAudio`), `finalize` for finals so far, `finish` at
 * the end; events arrive at the listener. See tests/engine.test.ts.
 */
export { createEngine, type Engine, type EngineHooks } from './engine.js';
export { DEFAULT_ENGINE_CONFIG, type EngineConfig } from './config.js';
export { TranscriptionStream, type StreamOptions } from './transcription-stream.js';
export type { StreamEvent, StreamListener, Transcript, TranscriptWord } from './events.js';
export { AudioDecodeError, ENCODINGS, type AudioErrorCode, type Encoding } from './audio/decoder.js';
export { SAMPLE_RATE_HZ, samplesToMs } from './audio/format.js';
export { DEFAULT_BEAM_DECODING, type ExecutionProvider } from './asr/recognizer.js';
export { DECODING_FILE, DECODING_KEYS } from './asr/decoding-file.js';
export { DEFAULT_KEYTERM_BOOST_NATS, tokenizePhrase, type Keyterms } from './asr/context-graph.js';
export type { SchedulerStats } from './scheduler.js';
export type { VadStats } from './vad/vad-batcher.js';
