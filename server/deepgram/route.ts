/**
 * `/deepgram/v1/listen`: a Deepgram-compatible live endpoint, so a client
 * written for Deepgram's listen v1 WebSocket (the official SDK with its base
 * URL set to `ws://HOST:PORT/deepgram`) transcribes here unmodified. It runs
 * the same Session as /v1/listen (limits, engine, metrics) with Deepgram's
 * edges: credentials as `Authorization: Token <key>` (or `Bearer`) or the
 * `token` / `bearer` WebSocket subprotocol browsers use; the query of
 * options.ts; client messages `KeepAlive`, `Finalize`, `CloseStream` and
 * binary audio; server messages from wire.ts. A refused upgrade answers like
 * Deepgram: an HTTP error with `{err_code, err_msg, request_id}` and a
 * `dg-error` header. Admission, the caps, the owner's audio budget and the
 * revocation check are those of every front door (admission.ts): a session
 * whose key is revoked gets its finals, then close 1008. Sessions are not
 * resumable (Deepgram clients reconnect with a new session).
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import uWS from 'uWebSockets.js';
import type { SessionConfig } from '../../protocol/messages.js';
import type { Admission, Identity, Place } from '../admission.js';
import { SendGuard, sendGuarded } from '../backpressure.js';
import type { ServerConfig } from '../config.js';
import { opusContainer } from '../container.js';
import type { Metrics } from '../metrics.js';
import type { ServedModels } from '../models.js';
import { Session, sessionDeps } from '../session.js';
import { DeepgramQueryError, parseDeepgramQuery, type DeepgramOptions } from './options.js';
import { DeepgramOut } from './wire.js';

export const DEEPGRAM_LISTEN_PATH = '/deepgram/v1/listen';

interface SocketData extends Identity {
  requestId: string;
  config: SessionConfig;
  options: DeepgramOptions;
  /** The audio's encoding is still to be read from its first bytes (no `encoding` given). */
  sniffing: boolean;
  audioHash: Hash;
  guard: SendGuard;
  session: Session | null;
  /** The session's place in the caps, from open until close. */
  place: Place | null;
  out: DeepgramOut | null;
  /** No more sends: the session ended or the client is being cut off. */
  closed: boolean;
  /** The close handler ran: the socket must not be touched any more. */
  gone: boolean;
}

export interface DeepgramRoute {
  /** Refuse new sessions, finish the live ones (finals sent) within the shutdown grace. */
  drain(): Promise<void>;
}

/** The credential in `Authorization: Token|Bearer X`, else in the subprotocols `token, X` / `bearer, X` (browsers). */
export function deepgramCredential(authorization: string, protocols: string): string | null {
  const header = /^(?:Token|Bearer)[ \t]+(\S+)\s*$/i.exec(authorization);
  if (header) return header[1];
  const [scheme, value] = protocols.split(',').map((p) => p.trim());
  return (scheme === 'token' || scheme === 'bearer') && value ? value : null;
}

export function registerDeepgramRoute(app: uWS.TemplatedApp, cfg: ServerConfig, models: ServedModels, admission: Admission, metrics: Metrics): DeepgramRoute {
  const deps = sessionDeps(cfg, models, metrics);
  const sessions = new Set<Session>();
  let draining = false;
  const backpressure = { softLimitBytes: cfg.sendSoftLimitBytes, hardLimitBytes: cfg.sendHardLimitBytes, slowConsumerMs: cfg.slowConsumerMs };

  app.ws<SocketData>(DEEPGRAM_LISTEN_PATH, {
    maxPayloadLength: cfg.maxMessageBytes,
    idleTimeout: 120,
    maxBackpressure: Math.max(4 << 20, 2 * cfg.sendHardLimitBytes),
    upgrade: (res, req, context) => {
      const requestId = randomUUID();
      const query = req.getQuery() ?? '';
      const key = req.getHeader('sec-websocket-key');
      const protocols = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const origin = req.getHeader('origin');
      const credential = deepgramCredential(req.getHeader('authorization'), protocols);
      const refuse = (status: string, errCode: string, message: string) => refuseDeepgram(res, status, errCode, message, requestId);
      if (draining) return refuse('503 Service Unavailable', 'SERVICE_UNAVAILABLE', 'server is shutting down');
      const admitted = admission.admit(origin, credential, 'listen');
      if (!admitted.ok) {
        const errCode = admitted.code === 'overloaded' ? 'TOO_MANY_REQUESTS' : admitted.status.startsWith('403') ? 'INSUFFICIENT_PERMISSIONS' : 'INVALID_AUTH';
        return refuse(admitted.code === 'overloaded' ? '429 Too Many Requests' : admitted.status, errCode, admitted.message);
      }
      let parsed: ReturnType<typeof parseDeepgramQuery>;
      try {
        parsed = parseDeepgramQuery(query, requestId);
        const model = models.pick(parsed.config.model, parsed.config.language);
        if (parsed.config.diarize && !model.engine.canDiarize) throw new DeepgramQueryError('diarize=true, but this server has no diarization model');
        const keytermProblem = model.engine.keytermProblem(parsed.config.keyterms);
        if (keytermProblem !== undefined) throw new DeepgramQueryError(keytermProblem);
      } catch (err) {
        metrics.errors.inc({ code: 'bad_config' });
        return refuse('400 Bad Request', 'Bad Request', err instanceof Error ? err.message : String(err));
      }
      const data: SocketData = {
        requestId,
        ...parsed,
        owner: admitted.owner,
        keyId: admitted.keyId,
        sniffing: parsed.options.sniffContainer,
        audioHash: createHash('sha256'),
        guard: new SendGuard(backpressure),
        session: null,
        place: null,
        out: null,
        closed: false,
        gone: false,
      };
      // The subprotocol answered is the scheme, never the credential after it.
      res.upgrade<SocketData>(data, key, protocols.split(',')[0].trim(), extensions, context);
    },
    open: (ws) => {
      const data = ws.getUserData();
      metrics.liveSessions.inc();
      metrics.sessionsTotal.inc();
      metrics.apiRequests.inc({ api: 'deepgram' });
      const model = models.pick(data.config.model, data.config.language);
      data.out = new DeepgramOut(
        {
          requestId: data.requestId,
          modelName: model.name,
          channelCount: data.config.multichannel ? data.config.channels : 1,
          options: data.options,
          createdIso: new Date().toISOString(),
          audioSha256: () => data.audioHash.copy().digest('hex'),
        },
        {
          send: (json, kind) => sendGuarded(ws, kind, () => json, admission.limitMetrics),
          end: (code, reason) => {
            if (data.closed) return;
            data.closed = true;
            ws.end(code, reason);
          },
        },
      );
      // As on /v1/listen: checked each second until closed, the finals, then close 1008.
      data.place = admission.take(data, (error) => void data.session?.close('unauthorized', 1008, error));
      data.session = new Session(data.config, deps, data.out, data.place.ownerBudget);
      sessions.add(data.session);
    },
    message: (ws, message, isBinary) => {
      const data = ws.getUserData();
      const { session, out } = data;
      if (!session || !out) return;
      if (isBinary) {
        // uWS reuses the message buffer after this callback returns: copy it.
        const bytes = new Uint8Array(message.slice(0));
        if (bytes.length === 0) return;
        data.audioHash.update(bytes);
        if (data.sniffing) {
          data.sniffing = false;
          const encoding = opusContainer(bytes);
          if (!encoding) {
            out.fail(1008, 'DATA-0000: no encoding given and the audio is not Ogg or WebM Opus; set encoding (and sample_rate)');
            void session.close('bad_audio', 1008);
            return;
          }
          const config = { ...data.config, encoding };
          session.handle({ type: 'config', config: { encoding } }, config);
        }
        session.handle({ type: 'audio', audio: bytes });
        return;
      }
      const type = controlType(Buffer.from(message).toString('utf8'));
      if (type === 'CloseStream') return session.handle({ type: 'close' });
      if (type === 'Finalize' || type === 'KeepAlive') {
        // Before the first audio of a container stream the session cannot start: there is nothing to finalize yet.
        if (data.sniffing) return;
        if (type === 'Finalize') out.finalizeRequested();
        return session.handle({ type: type === 'Finalize' ? 'finalize' : 'keepalive' });
      }
      metrics.errors.inc({ code: 'bad_message' });
      out.fail(1008, `DATA-0000: unknown message ${JSON.stringify(type ?? 'not JSON').slice(0, 40)}; send KeepAlive, Finalize, CloseStream or binary audio`);
      void session.close('bad_message', 1008);
    },
    close: (ws) => {
      const data = ws.getUserData();
      data.closed = true;
      data.gone = true;
      if (data.place) admission.release(data.place);
      metrics.liveSessions.dec();
      if (data.session) {
        data.session.abort();
        sessions.delete(data.session);
      }
    },
  });

  return {
    async drain() {
      draining = true;
      const grace = new Promise<void>((r) => setTimeout(r, cfg.shutdownGraceMs).unref());
      await Promise.race([Promise.all([...sessions].map((s) => s.close('server_shutdown', 1001))), grace]);
    },
  };
}

/** The `type` of a Deepgram control message, or null when it is not a JSON object with one. */
function controlType(text: string): string | null {
  try {
    const msg: unknown = JSON.parse(text);
    return typeof msg === 'object' && msg !== null && typeof (msg as { type?: unknown }).type === 'string' ? (msg as { type: string }).type : null;
  } catch {
    return null;
  }
}

/** Refuses an upgrade as Deepgram does: the error in a JSON body and in the `dg-error` header. */
function refuseDeepgram(res: uWS.HttpResponse, status: string, errCode: string, message: string, requestId: string): void {
  res
    .writeStatus(status)
    .writeHeader('content-type', 'application/json')
    .writeHeader('dg-request-id', requestId)
    .writeHeader('dg-error', message.replace(/[\r\n]/g, ' '))
    .end(JSON.stringify({ err_code: errCode, err_msg: message, request_id: requestId }));
}
