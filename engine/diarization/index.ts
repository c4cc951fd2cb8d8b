/**
 * Public surface of rolling speaker diarization, for the server and the bench.
 */
export { DiarizationEngine } from './engine.js';
export { DiarizationDriver } from './driver.js';
export type { DiarizationOptions } from './options.js';
export type { DiarizationListener, DiarizationStream, LabelChange, SpeakerHints, SpeakerMerge } from './stream.js';
export { checkSpeakerHints } from './stream.js';
export type { SpeakerEmbedder } from './embedding.js';
export type { SpeakerTurn } from './turns.js';
export { SpeakerEmbeddingModel } from './embedding-model.js';
