/**
 * The encrypted transcript HTTP API on a uWebSockets.js app:
 *
 *   PUT    /v1/transcripts/:id   store or replace (body: an envelope, protocol/envelope.ts)
 *   GET    /v1/transcripts/:id   the envelope as stored
 *   DELETE /v1/transcripts/:id   delete it, permanently
 *   GET    /v1/transcripts       list: id, size, created and updated times
 *   DELETE /v1/transcripts       delete all of the caller's transcripts
 *
 * Every route first asks `getOwner` who is calling (401 if nobody), and only
 * ever touches that owner's transcripts: another owner's transcript answers
 * 404 exactly like a missing one, so ids reveal nothing. Bodies that are not
 * well-formed envelopes (plaintext included) are refused with 400, bodies over
 * the limit with 413 once they end (or are cut off at DRAIN_LIMIT_FACTOR times it). Errors are JSON `{code, message}`.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { EnvelopeError, isValidTranscriptId, parseEnvelope, TRANSCRIPT_ID_PATTERN } from '../../protocol/envelope.js';
import { StoreUnavailableError, type TranscriptInfo, type TranscriptStore } from '../store/transcript-store.js';

export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;
/** A body over the limit is read (and dropped) up to this many times the limit before the connection is cut. */
const DRAIN_LIMIT_FACTOR = 4;

export type GetOwner = (req: HttpRequest, res: HttpResponse) => string | null;

export interface TranscriptRouteOptions {
  /** the largest PUT body accepted, in bytes */
  maxBodyBytes?: number;
  /** where storage failures are reported (the client only sees a 500) */
  log?: (line: string) => void;
}

export type TranscriptErrorCode = 'unauthorized' | 'not_found' | 'bad_id' | 'bad_envelope' | 'payload_too_large' | 'unavailable' | 'internal';

interface Reply {
  status: number;
  /** JSON text, or null for no body */
  body: string | null;
}

const STATUS_LINES: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  404: '404 Not Found',
  413: '413 Payload Too Large',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

export function registerTranscriptRoutes(app: TemplatedApp, store: TranscriptStore, getOwner: GetOwner, options: TranscriptRouteOptions = {}): void {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = options.log ?? console.error;

  app.put('/v1/transcripts/:id', (res, req) => {
    // HttpRequest is only valid until this handler returns: read it all now.
    const id = req.getParameter(0);
    const contentLength = req.getHeader('content-length');
    const exchange = new Exchange(res, log);
    const owner = getOwner(req, res);
    // The body is left unread on these early answers: close the connection rather than parse it.
    if (owner === null) return exchange.reply(unauthorized(), true);
    if (!isValidTranscriptId(id)) return exchange.reply(badId(id), true);
    if (contentLength !== '' && Number(contentLength) > maxBodyBytes) return exchange.reply(tooLarge(maxBodyBytes), true);

    let chunks: Buffer[] = [];
    let received = 0;
    res.onData((chunk, isLast) => {
      if (!exchange.open) return;
      received += chunk.byteLength;
      // Chunked bodies carry no length up front, so the limit is checked as bytes arrive.
      // Past it the body is read and dropped until it ends, and only then answered: closing
      // on unread bytes resets the connection, and the client would see that, not the 413.
      // A body that goes on past the drain limit is cut off.
      if (received > maxBodyBytes) {
        chunks = [];
        if (isLast || received > DRAIN_LIMIT_FACTOR * maxBodyBytes) exchange.reply(tooLarge(maxBodyBytes), !isLast);
        return;
      }
      // uWS neuters the chunk when this callback returns: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) exchange.run(() => putTranscript(store, owner, id, Buffer.concat(chunks)));
    });
  });

  app.get('/v1/transcripts/:id', (res, req) => {
    const id = req.getParameter(0);
    const exchange = new Exchange(res, log);
    const owner = getOwner(req, res);
    if (owner === null) return exchange.reply(unauthorized());
    if (!isValidTranscriptId(id)) return exchange.reply(badId(id));
    exchange.run(async () => {
      const envelopeJson = await store.get(owner, id);
      return envelopeJson === null ? notFound() : { status: 200, body: envelopeJson };
    });
  });

  app.del('/v1/transcripts/:id', (res, req) => {
    const id = req.getParameter(0);
    const exchange = new Exchange(res, log);
    const owner = getOwner(req, res);
    if (owner === null) return exchange.reply(unauthorized());
    if (!isValidTranscriptId(id)) return exchange.reply(badId(id));
    exchange.run(async () => ((await store.delete(owner, id)) ? { status: 204, body: null } : notFound()));
  });

  app.get('/v1/transcripts', (res, req) => {
    const exchange = new Exchange(res, log);
    const owner = getOwner(req, res);
    if (owner === null) return exchange.reply(unauthorized());
    exchange.run(async () => {
      const transcripts = (await store.list(owner)).map(toWire);
      return { status: 200, body: JSON.stringify({ transcripts }) };
    });
  });

  app.del('/v1/transcripts', (res, req) => {
    const exchange = new Exchange(res, log);
    const owner = getOwner(req, res);
    if (owner === null) return exchange.reply(unauthorized());
    exchange.run(async () => ({ status: 200, body: JSON.stringify({ deleted: await store.deleteAll(owner) }) }));
  });
}

async function putTranscript(store: TranscriptStore, owner: string, id: string, body: Buffer): Promise<Reply> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return error(400, 'bad_envelope', 'the body must be a JSON envelope (UTF-8)');
  }
  let envelopeJson: string;
  try {
    const envelope = parseEnvelope(json);
    if (envelope.transcript_id !== id) {
      return error(400, 'bad_envelope', `the envelope is for transcript ${envelope.transcript_id}, not ${id}`);
    }
    // Stored re-serialised from the checked object, so nothing the check did not see is kept.
    envelopeJson = JSON.stringify(envelope);
  } catch (err) {
    if (err instanceof EnvelopeError) return error(400, 'bad_envelope', err.message);
    throw err;
  }
  const { created, info } = await store.put(owner, id, envelopeJson);
  return { status: created ? 201 : 200, body: JSON.stringify(toWire(info)) };
}

/**
 * One request in flight. uWS invalidates the response when the client goes
 * away (onAborted) and forbids writing to it afterwards, and writes from
 * outside the handler's own tick must be corked: this keeps both rules and
 * makes sure each request is answered at most once.
 */
class Exchange {
  private aborted = false;
  private answered = false;

  constructor(
    private readonly res: HttpResponse,
    private readonly log: (line: string) => void,
  ) {
    res.onAborted(() => {
      this.aborted = true;
    });
  }

  get open(): boolean {
    return !this.aborted && !this.answered;
  }

  /** Answers with whatever `work` resolves to, 503 when the store is unreachable, or a bare 500 if it throws otherwise. */
  run(work: () => Promise<Reply>): void {
    work().then(
      (reply) => this.reply(reply),
      (err: unknown) => {
        if (err instanceof StoreUnavailableError) {
          this.log(`transcript store unavailable: ${err.message}`);
          return this.reply(error(503, 'unavailable', 'the transcript store is unreachable; try again shortly'));
        }
        this.log(`transcript store error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        this.reply(error(500, 'internal', 'internal error'));
      },
    );
  }

  reply(reply: Reply, closeConnection = false): void {
    if (!this.open) return;
    this.answered = true;
    const res = this.res;
    res.cork(() => {
      res.writeStatus(STATUS_LINES[reply.status]);
      // Transcripts are private: no cache anywhere may keep a copy.
      res.writeHeader('cache-control', 'no-store');
      if (reply.body === null) {
        res.endWithoutBody(undefined, closeConnection);
      } else {
        res.writeHeader('content-type', 'application/json');
        res.end(reply.body, closeConnection);
      }
    });
  }
}

function toWire(info: TranscriptInfo): { id: string; size_bytes: number; created_at: string; updated_at: string } {
  return {
    id: info.id,
    size_bytes: info.sizeBytes,
    created_at: new Date(info.createdAt).toISOString(),
    updated_at: new Date(info.updatedAt).toISOString(),
  };
}

function error(status: number, code: TranscriptErrorCode, message: string): Reply {
  return { status, body: JSON.stringify({ code, message }) };
}

function unauthorized(): Reply {
  return error(401, 'unauthorized', 'authentication required');
}

function notFound(): Reply {
  return error(404, 'not_found', 'no such transcript');
}

function badId(id: string): Reply {
  return error(400, 'bad_id', `transcript id must match ${TRANSCRIPT_ID_PATTERN.source}, got ${JSON.stringify(id.slice(0, 80))}`);
}

function tooLarge(limit: number): Reply {
  return error(413, 'payload_too_large', `the body is over the ${limit}-byte limit`);
}
