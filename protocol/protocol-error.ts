/**
 * The one error protocol code throws for whatever a peer sends that protocol
 * v1 does not allow, and the small helpers that describe untrusted values in
 * its messages. Decoders and validators throw `ProtocolError` and nothing
 * else, with a message naming the problem, so the server can pass it
 * straight to the client.
 */
import type { ErrorCode } from './messages.js';

export type ProtocolErrorCode = Extract<ErrorCode, 'bad_message' | 'bad_config'>;

/** A peer sent something protocol v1 does not allow; `message` says what, for people. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';

  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short, safe rendering of an untrusted value for an error message. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = typeof value;
  }
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

