/**
 * The storage interface for encrypted transcripts, so backends can be swapped
 * (SQLite, sqlite-store.ts, embedded; PostgreSQL, pg-store.ts, shared by replicas). A store keeps, per owner
 * and transcript id, one envelope JSON text (ciphertext: the server cannot
 * read it) plus the little metadata listing needs. Every method is scoped to
 * an owner: no call can see or touch another owner's transcripts.
 *
 * Deletion is a promise to the user: once `delete` or `deleteAll` resolves,
 * the ciphertext must be gone from the backend's files, not merely unlinked.
 */

export interface TranscriptInfo {
  id: string;
  /** bytes of stored envelope JSON (UTF-8) */
  sizeBytes: number;
  /** milliseconds since the Unix epoch */
  createdAt: number;
  updatedAt: number;
}

export interface PutResult {
  /** false when an existing transcript was replaced */
  created: boolean;
  info: TranscriptInfo;
}

export interface TranscriptStore {
  /** Stores (or replaces) `owner`'s transcript `id`. The caller has validated the envelope. */
  put(owner: string, id: string, envelopeJson: string): Promise<PutResult>;
  /** The envelope JSON, or null when `owner` has no transcript `id`. */
  get(owner: string, id: string): Promise<string | null>;
  /** `owner`'s transcripts, most recently updated first. */
  list(owner: string): Promise<TranscriptInfo[]>;
  /** Permanently deletes `owner`'s transcript `id`; false when there was none. */
  delete(owner: string, id: string): Promise<boolean>;
  /** Permanently deletes all of `owner`'s transcripts; returns how many there were. */
  deleteAll(owner: string): Promise<number>;
  close(): Promise<void>;
}

/** The backend cannot be reached now (a lost database connection); the message says which and why. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}
