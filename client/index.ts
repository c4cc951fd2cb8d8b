/**
 * The client library's entry point (the `@live-transcribe/client` package,
 * and `/client.js` on a running server): the protocol client, transcript
 * merging, browser capture, transcript encryption and export. It depends on
 * protocol/ only (and, through it, protobufjs); client/README.md documents it.
 */
export * from './listen-client.js';
export * from './transcript-document.js';
export * from './crypto.js';
export * from './capture.js';
export * from './export.js';
export type * from '../protocol/messages.js';
