/**
 * `/v1/listen`: the WebSocket lifecycle of a streaming session. An upgrade
 * passes the origin allow-list, authentication, the config in its query and
 * the session caps before any audio is read; `open` starts a Session (or
 * resumes a dropped one, resume.ts); `message` decodes client frames into
 * it; `close` lets it go or holds it for its client to resume. A session
 * counts against the caps from its start until it is let go, dropped and
 * held included; the checks and the caps are those every front door shares
 * (admission.ts). Outgoing messages pass the slow-consumer guard
 * (backpressure.ts). A session whose API key (or the key its token was
 * minted with) was revoked or expired is closed with `unauthorized`, after
 * its finals (admission.ts checks). `drain()` refuses new sessions and
 * finishes the live ones, for a graceful shutdown.
 */
import uWS from 'uWebSockets.js';
import { decodeClientMessage, encodeServerMessage } from '../../protocol/frames.js';
import type { ErrorCode, ServerMessage, SessionConfig, WireFormat } from '../../protocol/messages.js';
import { ProtocolError } from '../../protocol/protocol-error.js';
import { configFromQuery, resumeFromQuery, wireFormatFromQuery } from '../../protocol/query.js';
import { DEFAULT_SESSION_CONFIG, resolveSessionConfig } from '../../protocol/session-config.js';
import type { Admission, Identity, Place } from '../admission.js';
import { bearerCredential } from '../auth.js';
import { SendGuard, sendGuarded } from '../backpressure.js';
import type { ServerConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { ServedModels } from '../models.js';
import type { ResumeTokens } from '../replica.js';
import { ResumeError, ResumeRegistry, type ResumableStream } from '../resume.js';
import { Session, sessionDeps, type SessionIo } from '../session.js';

/** The close message uWebSockets.js gives when it drops a client for a frame over maxPayloadLength. */
const UWS_TOO_BIG = 'Received too big message';

interface SocketData extends Identity {
  config: SessionConfig;
  format: WireFormat;
  session: Session | null;
  /** No more sends: the session ended or the client is being cut off. */
  closed: boolean;
  /** The close handler ran: the socket must not be touched any more. */
  gone: boolean;
  guard: SendGuard;
  /** The session's outgoing side and this socket's place in it (resume.ts). */
  stream: ResumableStream | null;
  io: SessionIo | null;
  /** The `resume_from` query parameter, when `config.resume_token` asks to resume. */
  resumeFrom: number;
}

export interface ListenRoute {
  /** True once `drain` was called: new sessions are refused. */
  readonly draining: boolean;
  /** Sessions whose socket dropped, held for their client to resume. */
  readonly droppedSessions: number;
  /** Refuse new sessions, finish the live ones (finals sent) within the shutdown grace. */
  drain(): Promise<void>;
}

export function registerListenRoute(app: uWS.TemplatedApp, cfg: ServerConfig, models: ServedModels, metrics: Metrics, admission: Admission, tokens: ResumeTokens): ListenRoute {
  const deps = sessionDeps(cfg, models, metrics);
  // Each session's place in the caps, held from its start until it is let go.
  const sessions = new Map<Session, Place>();
  // A session leaves `sessions` and the caps when it is let go: at once, or after its grace period when dropped.
  const resume = new ResumeRegistry(cfg.resumeGraceMs, tokens, (s) => {
    const place = sessions.get(s);
    if (!place) return;
    sessions.delete(s);
    admission.release(place);
  });
  let draining = false;
  const backpressure = { softLimitBytes: cfg.sendSoftLimitBytes, hardLimitBytes: cfg.sendHardLimitBytes, slowConsumerMs: cfg.slowConsumerMs };

  /** Sends unless the client lags (backpressure.ts): its partials are then skipped, and a client stuck too long is cut off. */
  const deliver = (ws: uWS.WebSocket<SocketData>, msg: ServerMessage): void => {
    sendGuarded(ws, msg.type, () => encodeServerMessage(msg, ws.getUserData().format), admission.limitMetrics);
  };

  app.ws<SocketData>('/v1/listen', {
    maxPayloadLength: cfg.maxMessageBytes,
    idleTimeout: 120,
    // Above the hard send limit the slow-consumer policy acts first; past this uWS drops messages.
    maxBackpressure: Math.max(4 << 20, 2 * cfg.sendHardLimitBytes),
    upgrade: (res, req, context) => {
      const query = req.getQuery() ?? '';
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const origin = req.getHeader('origin');
      const headerCredential = bearerCredential(req.getHeader('authorization'));
      if (draining) return refuseUpgrade(res, '503 Service Unavailable', 'overloaded', 'server is shutting down');
      const who = headerCredential ? admission.identify(origin, headerCredential, 'listen') : admission.identify(origin, new URLSearchParams(query).get('token'), 'listen', 'query');
      if (!who.ok) return refuseUpgrade(res, who.status, who.code, who.message);
      let config: SessionConfig;
      let format: WireFormat;
      let resumeFrom: number;
      try {
        format = wireFormatFromQuery(query);
        config = resolveSessionConfig(configFromQuery(query), DEFAULT_SESSION_CONFIG);
        models.pick(config.model, config.language);
        resumeFrom = resumeFromQuery(query);
      } catch (err) {
        return refuseUpgrade(res, '400 Bad Request', 'bad_config', err instanceof Error ? err.message : String(err));
      }
      // A resumed session is already counted: it was never let go.
      const full = config.resume_token === '' ? admission.room(who.owner) : null;
      if (full) return refuseUpgrade(res, full.status, full.code, full.message);
      // open() runs inside upgrade(), so the caps cannot be overrun between the check and the count.
      const data: SocketData = { config, format, session: null, closed: false, gone: false, owner: who.owner, keyId: who.keyId, guard: new SendGuard(backpressure), stream: null, io: null, resumeFrom };
      res.upgrade<SocketData>(data, key, protocol, extensions, context);
    },
    open: (ws) => {
      const data = ws.getUserData();
      metrics.liveSessions.inc();
      const io: SessionIo = {
        send: (msg: ServerMessage) => deliver(ws, msg),
        end: (code, reason) => {
          if (data.closed) return;
          data.closed = true;
          ws.end(code, reason);
        },
      };
      data.io = io;
      if (data.config.resume_token !== '') {
        // The session keeps its own settings; the rest of this query does not apply.
        try {
          data.stream = resume.resume(data.config.resume_token, data.resumeFrom, data.owner, io);
          data.session = data.stream.session;
          // It goes on under the credential it was resumed with.
          const place = sessions.get(data.session);
          if (place) place.keyId = data.keyId;
        } catch (err) {
          if (!(err instanceof ResumeError)) throw err;
          metrics.errors.inc({ code: 'bad_config' });
          deliver(ws, { type: 'error', code: 'bad_config', message: err.message, fatal: true });
          io.end(1011, 'resume_failed');
        }
        return;
      }
      metrics.sessionsTotal.inc();
      metrics.apiRequests.inc({ api: 'listen' });
      // Checked each second until let go, dropped and held included: the finals, then a fatal unauthorized error.
      const place = admission.take(data, (error) => void data.session?.close('unauthorized', 1008, error));
      data.stream = resume.start(io, data.owner, (out) => new Session(data.config, deps, out, place.ownerBudget));
      data.session = data.stream.session;
      sessions.set(data.session, place);
    },
    message: (ws, message, isBinary) => {
      const data = ws.getUserData();
      const session = data.session;
      if (!session) return;
      try {
        // uWS reuses the message buffer after this callback returns: copy it.
        const bytes = new Uint8Array(message.slice(0));
        const msg = decodeClientMessage(bytes, isBinary, data.format);
        if (msg.type === 'config' && msg.config.resume_token) {
          throw new ProtocolError('bad_config', 'resume_token belongs in the URL query of a new connection, not in a config message');
        }
        const override = msg.type === 'config' ? resolveSessionConfig({ ...data.config, ...msg.config }, DEFAULT_SESSION_CONFIG) : undefined;
        session.handle(msg, override);
      } catch (err) {
        const code = err instanceof ProtocolError ? err.code : 'bad_config';
        const text = err instanceof Error ? err.message : String(err);
        metrics.errors.inc({ code });
        deliver(ws, { type: 'error', code, message: text, fatal: false });
      }
    },
    close: (ws, code, message) => {
      const data = ws.getUserData();
      // Set before this handler only when the server ended the socket on purpose.
      const cutOff = data.closed;
      data.closed = true;
      data.gone = true;
      metrics.liveSessions.dec();
      // uWS drops a client whose frame exceeds maxPayloadLength itself (1006, no
      // chance to send an error): count it here so it shows in the metrics.
      if (code === 1006 && Buffer.from(message).toString() === UWS_TOO_BIG) metrics.errors.inc({ code: 'message_too_large' });
      // The session is let go, or held for its client to resume (resume.ts).
      if (data.stream && data.io) resume.socketClosed(data.stream, data.io, !cutOff);
    },
  });

  return {
    get draining() {
      return draining;
    },
    get droppedSessions() {
      return resume.droppedCount;
    },
    async drain() {
      draining = true;
      resume.clear();
      const grace = new Promise<void>((r) => setTimeout(r, cfg.shutdownGraceMs).unref());
      await Promise.race([Promise.all([...sessions.keys()].map((s) => s.close('server_shutdown', 1001))), grace]);
    },
  };
}

/** Refuses a WebSocket upgrade with a JSON `{code, message}` body (Node clients can read it; browsers only see the failure). */
function refuseUpgrade(res: uWS.HttpResponse, status: string, code: ErrorCode, message: string): void {
  res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify({ code, message }));
}
