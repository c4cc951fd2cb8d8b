/**
 * A transcript store that opens its backend on first use, so a server that
 * only streams never creates the data folder or the database file (audio and
 * everything else of a live session stays in memory).
 */
import type { PutResult, TranscriptInfo, TranscriptStore } from './transcript-store.js';

export class LazyTranscriptStore implements TranscriptStore {
  private store: TranscriptStore | null = null;
  private closed = false;

  constructor(private readonly open: () => TranscriptStore) {}

  private get backend(): TranscriptStore {
    if (this.closed) throw new Error('the transcript store is closed');
    this.store ??= this.open();
    return this.store;
  }

  async put(owner: string, id: string, envelopeJson: string): Promise<PutResult> {
    return this.backend.put(owner, id, envelopeJson);
  }

  async get(owner: string, id: string): Promise<string | null> {
    return this.backend.get(owner, id);
  }

  async list(owner: string): Promise<TranscriptInfo[]> {
    return this.backend.list(owner);
  }

  async delete(owner: string, id: string): Promise<boolean> {
    return this.backend.delete(owner, id);
  }

  async deleteAll(owner: string): Promise<number> {
    return this.backend.deleteAll(owner);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.store?.close();
    this.store = null;
  }
}
