/**
 * `POST /v1/audio/transcriptions`: OpenAI's file transcription, so the
 * official `openai` client (baseURL `http://HOST:PORT/v1`) and anything
 * written against it transcribe here. Multipart fields: `file` (required),
 * `model` (one this server serves; default the first), `language` (checked
 * against the model's), `prompt` (its names and terms become the file's
 * keyterms, biasing its finals: prompt.ts says how), `temperature`
 * (accepted, ignored), `response_format` (formats.ts), `timestamp_granularities[]` (verbose_json
 * only); anything else is refused, `stream=true` too. Credentials as
 * `Authorization: Bearer <API key or token>` (scope `listen`); a file in
 * flight counts as a live session against the shared caps, charges its
 * owner's audio budget (429 `rate_limited` when spent) and is answered 401
 * at once when its key is revoked (admission.ts, file-transcription.ts).
 * The upload is limited to `maxUploadBytes` (413). Errors use OpenAI's shape,
 * `{error: {message, type, param, code}}`.
 */
import busboy from 'busboy';
import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { ErrorCode } from '../../protocol/messages.js';
import { ProtocolError } from '../../protocol/protocol-error.js';
import type { Admission } from '../admission.js';
import { bearerCredential } from '../auth.js';
import type { ServerConfig } from '../config.js';
import { transcribeFile, UndecodableFileError } from '../file-transcription.js';
import type { Metrics } from '../metrics.js';
import type { ServedModels } from '../models.js';
import { SessionError } from '../session.js';
import { formatTranscript, GRANULARITIES, RESPONSE_FORMATS, type Granularity, type ResponseFormat } from './formats.js';
import { promptKeyterms } from './prompt.js';

export const TRANSCRIPTIONS_PATH = '/v1/audio/transcriptions';
const MAX_FIELD_BYTES = 64 << 10;
const IGNORED_FIELDS = new Set(['temperature']);

/** A request this route refuses: HTTP status, our error code (metrics), and the message and parameter for the client. */
class RequestError extends Error {
  constructor(
    readonly status: string,
    readonly code: ErrorCode,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

interface Upload {
  fields: Map<string, string[]>;
  file: Uint8Array | null;
}

export interface TranscriptionRoute {
  /** Refuse new files, wait (within the shutdown grace) for those in flight. */
  drain(): Promise<void>;
}

export function registerTranscriptionRoute(app: TemplatedApp, cfg: ServerConfig, models: ServedModels, admission: Admission, metrics: Metrics): TranscriptionRoute {
  const inFlight = new Set<Promise<void>>();
  let draining = false;
  const tooLarge = () => new RequestError('413 Payload Too Large', 'message_too_large', `the upload is larger than this server's limit of ${cfg.maxUploadBytes} bytes`, 'file');

  app.post(TRANSCRIPTIONS_PATH, (res, req) => {
    const credential = bearerCredential(req.getHeader('authorization'));
    const origin = req.getHeader('origin');
    const contentType = req.getHeader('content-type');
    const contentLength = Number(req.getHeader('content-length') || 0);
    let done = false;
    const reply = (status: string, type: string, body: string, closeConnection = false) => {
      if (done) return;
      done = true;
      res.cork(() => res.writeStatus(status).writeHeader('content-type', type).end(body, closeConnection));
    };
    // The body may be unread: close the connection rather than read on.
    const fail = (err: RequestError) => {
      metrics.errors.inc({ code: err.code });
      const type = err.code === 'unauthorized' ? 'authentication_error' : err.code === 'overloaded' || err.code === 'rate_limited' ? 'rate_limit_error' : err.code === 'internal' ? 'server_error' : 'invalid_request_error';
      reply(err.status, 'application/json', JSON.stringify({ error: { message: err.message, type, param: err.param, code: err.code } }), true);
    };
    let parser: busboy.Busboy | null = null;
    res.onAborted(() => {
      done = true;
      parser?.destroy();
    });

    if (draining) return fail(new RequestError('503 Service Unavailable', 'overloaded', 'server is shutting down'));
    const admitted = admission.admit(origin, credential, 'listen');
    if (!admitted.ok) return fail(new RequestError(admitted.code === 'overloaded' ? '429 Too Many Requests' : admitted.status, admitted.code, admitted.message));
    if (contentLength > cfg.maxUploadBytes) return fail(tooLarge());
    if (!/^multipart\/form-data/i.test(contentType)) return fail(new RequestError('400 Bad Request', 'bad_message', 'the body must be multipart/form-data with a file field'));

    metrics.apiRequests.inc({ api: 'openai' });
    const revoked = new AbortController();
    // As a live session's: checked each second until released; the answer is 401 at once, and transcription stops.
    const place = admission.take(admitted, (error) => {
      if (revoked.signal.aborted) return;
      revoked.abort(error);
      parser?.destroy();
      fail(new RequestError('401 Unauthorized', error.code, error.message));
    });
    const work = (async () => {
      const upload = await readUpload(res, contentType, cfg.maxUploadBytes, tooLarge, (p) => (parser = p));
      const request = checkRequest(upload, models);
      const transcript = await transcribeFile(request.model.engine, request.file, cfg.ffmpeg, { ownerBudget: place.ownerBudget, signal: revoked.signal }, request.keyterms);
      metrics.audioSeconds.inc(transcript.audioMs / 1000);
      const formatted = formatTranscript(transcript, request.format, request.granularities, request.languageName);
      reply('200 OK', formatted.contentType, formatted.body);
    })()
      .catch((err: unknown) => {
        // Answered already.
        if (revoked.signal.aborted) return;
        if (err instanceof RequestError) return fail(err);
        if (err instanceof SessionError) return fail(new RequestError('429 Too Many Requests', err.code, err.message));
        if (err instanceof UndecodableFileError) return fail(new RequestError('400 Bad Request', 'bad_audio', err.message, 'file'));
        console.error('POST /v1/audio/transcriptions: internal error', err);
        fail(new RequestError('500 Internal Server Error', 'internal', 'internal error while transcribing this file'));
      })
      .finally(() => {
        admission.release(place);
        inFlight.delete(work);
      });
    inFlight.add(work);
  });

  return {
    async drain() {
      draining = true;
      const grace = new Promise<void>((r) => setTimeout(r, cfg.shutdownGraceMs).unref());
      await Promise.race([Promise.all(inFlight), grace]);
    },
  };
}

/** Reads the multipart body through busboy: the fields, and the one file in memory (at most `maxBytes` in all). */
function readUpload(res: HttpResponse, contentType: string, maxBytes: number, tooLarge: () => RequestError, onParser: (p: busboy.Busboy) => void): Promise<Upload> {
  return new Promise((resolve, reject) => {
    const upload: Upload = { fields: new Map(), file: null };
    let failed = false;
    const failWith = (err: RequestError) => {
      if (failed) return;
      failed = true;
      parser.destroy();
      reject(err);
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': contentType }, limits: { files: 1, fileSize: maxBytes, fieldSize: MAX_FIELD_BYTES, fields: 32 } });
    } catch (err) {
      return reject(new RequestError('400 Bad Request', 'bad_message', `not a multipart body: ${err instanceof Error ? err.message : String(err)}`));
    }
    onParser(parser);
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return failWith(new RequestError('400 Bad Request', 'bad_message', `field ${name} is longer than ${MAX_FIELD_BYTES} bytes`, name));
      upload.fields.set(name, [...(upload.fields.get(name) ?? []), value]);
    });
    parser.on('file', (name, stream) => {
      if (name !== 'file') {
        stream.resume();
        return failWith(new RequestError('400 Bad Request', 'bad_message', `unexpected file field ${JSON.stringify(name)}; the audio goes in "file"`, name));
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => failWith(tooLarge()));
      stream.on('end', () => (upload.file = Buffer.concat(chunks)));
    });
    parser.on('filesLimit', () => failWith(new RequestError('400 Bad Request', 'bad_message', 'one file per request', 'file')));
    parser.on('error', (err: Error) => failWith(new RequestError('400 Bad Request', 'bad_message', `malformed multipart body: ${err.message}`)));
    parser.on('close', () => {
      if (!failed) resolve(upload);
    });
    let received = 0;
    res.onData((chunk, isLast) => {
      if (failed) return;
      received += chunk.byteLength;
      if (received > maxBytes) return failWith(tooLarge());
      // uWS neuters the chunk when this callback returns: copy it.
      parser.write(Buffer.from(chunk.slice(0)));
      if (isLast) parser.end();
    });
  });
}

interface TranscriptionRequest {
  file: Uint8Array;
  model: ReturnType<ServedModels['pick']>;
  format: ResponseFormat;
  granularities: Granularity[];
  /** The transcript's language as OpenAI names it in verbose_json (`english`). */
  languageName: string;
  /** From `prompt` (prompt.ts); empty without one. */
  keyterms: string[];
}

function checkRequest(upload: Upload, models: ServedModels): TranscriptionRequest {
  const bad = (message: string, param: string) => new RequestError('400 Bad Request', 'bad_config', message, param);
  const known = new Set(['model', 'language', 'prompt', 'response_format', 'timestamp_granularities[]', 'timestamp_granularities', 'stream', ...IGNORED_FIELDS]);
  for (const name of upload.fields.keys()) if (!known.has(name)) throw bad(`unknown parameter ${JSON.stringify(name)}`, name);
  const one = (name: string): string | undefined => {
    const values = upload.fields.get(name);
    if (values && values.length > 1) throw bad(`${name} is given more than once`, name);
    return values?.[0];
  };
  if (!upload.file || upload.file.length === 0) throw bad('the request has no file (multipart field "file")', 'file');
  if (one('stream') === 'true') throw bad('stream=true is not supported: the transcript comes in one response (stream live audio over /v1/listen or /deepgram/v1/listen)', 'stream');
  const format = one('response_format') ?? 'json';
  if (!(RESPONSE_FORMATS as readonly string[]).includes(format)) throw bad(`response_format must be one of ${RESPONSE_FORMATS.join(', ')} (got ${JSON.stringify(format)})`, 'response_format');
  const granularities = [...(upload.fields.get('timestamp_granularities[]') ?? []), ...(upload.fields.get('timestamp_granularities') ?? [])];
  for (const g of granularities) if (!(GRANULARITIES as readonly string[]).includes(g)) throw bad(`timestamp_granularities must be word and/or segment (got ${JSON.stringify(g)})`, 'timestamp_granularities');
  if (granularities.length > 0 && format !== 'verbose_json') throw bad('timestamp_granularities needs response_format=verbose_json', 'timestamp_granularities');
  const language = one('language') ?? '';
  const modelName = one('model') ?? '';
  const pick = (lang: string, param: string) => {
    try {
      return models.pick(modelName, lang);
    } catch (err) {
      throw err instanceof ProtocolError ? bad(err.message, param) : err;
    }
  };
  pick('', 'model');
  const model = pick(language, 'language');
  const code = language === '' ? model.languages[0] : language;
  return {
    file: upload.file,
    model,
    format: format as ResponseFormat,
    // OpenAI's default: segment timestamps.
    granularities: granularities.length > 0 ? (granularities as Granularity[]) : ['segment'],
    languageName: new Intl.DisplayNames(['en'], { type: 'language' }).of(code)?.toLowerCase() ?? code,
    keyterms: promptKeyterms(one('prompt') ?? '', (ch) => model.engine.keytermProblem([ch]) === undefined),
  };
}
