/**
 * `/v1/listen`: the WebSocket lifecycle of a streaming session. An upgrade
 * passes the origin allow-list, authentication, the config in its query and
 * the session caps before any audio is read; `open` starts a Session (or
 * resumes a dropped one, resume.ts); `message` decodes client frames into
 * it; `close` lets it go or holds it for its client to resume. Outgoing
 * messages pass the slow-consumer guard (backpressure.ts). `drain()` refuses
 * new sessions and finishes the live ones, for a graceful shutdown.
 */
import uWS from 'uWebSockets.js';
import { decodeClientMessage, encodeServerMessage } from '../../protocol/frames.js';
import type { ErrorCode, ServerMessage, SessionConfig, WireFormat } from '../../protocol/messages.js';
import { ProtocolError } from '../../protocol/protocol-error.js';
import { configFromQuery, resumeFromQuery, wireFormatFromQuery } from '../../protocol/query.js';
import { DEFAULT_SESSION_CONFIG, resolveSessionConfig } from '../../protocol/session-config.js';
import { bearerCredential, type Authenticator } from '../auth.js';
import type { Admission } from '../admission.js';
import { SendGuard } from '../backpressure.js';
import type { ServerConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { ServedModels } from '../models.js';
import { ResumeError, ResumeRegistry, type ResumableStream } from '../resume.js';
import { Session, sessionDeps, type SessionIo } from '../session.js';

/** The close message uWebSockets.js gives when it drops a client for a frame over maxPayloadLength. */
const UWS_TOO_BIG = 'Received too big message';

interface SocketData {
  config: SessionConfig;
  format: WireFormat;
  session: Session | null;
  /** No more sends: the session ended or the client is being cut off. */
  closed: boolean;
  /** The close handler ran: the socket must not be touched any more. */
  gone: boolean;
  owner: string;
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
  /** Refuse new sessions, finish the live ones (finals sent) within the shutdown grace. */
  drain(): Promise<void>;
}

export function registerListenRoute(app: uWS.TemplatedApp, cfg: ServerConfig, models: ServedModels, auth: Authenticator, metrics: Metrics, admission: Admission): ListenRoute {
  const deps = sessionDeps(cfg, models, metrics);
  const sessions = new Set<Session>();
  // A session leaves `sessions` when it is let go: at once, or after its grace period when dropped.
  const resume = new ResumeRegistry(cfg.resumeGraceMs, (s) => sessions.delete(s));
  let draining = false;
  // Shared with the other front doors (admission.ts).
  const { origins, caps, limitMetrics } = admission;
  const backpressure = { softLimitBytes: cfg.sendSoftLimitBytes, hardLimitBytes: cfg.sendHardLimitBytes, slowConsumerMs: cfg.slowConsumerMs };

  /** Sends unless the client lags (backpressure.ts): its partials are then skipped, and a client stuck too long is cut off. */
  const deliver = (ws: uWS.WebSocket<SocketData>, msg: ServerMessage): void => {
    const data = ws.getUserData();
    if (data.closed) return;
    const decision = data.guard.decide(msg.type, ws.getBufferedAmount(), performance.now());
    if (decision === 'skip') return void limitMetrics.partialsSkipped.inc();
    if (decision === 'send') {
      const payload = encodeServerMessage(msg, data.format);
      // 2: over uWS maxBackpressure, the message was dropped; a lost final must not pass silently.
      if (ws.send(payload, typeof payload !== 'string') !== 2) return;
    }
    limitMetrics.slowConsumers.inc();
    data.closed = true;
    // Not from inside the session's own send: the close handler tears the session down.
    setImmediate(() => {
      if (!data.gone) ws.end(1008, 'slow_consumer');
    });
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
      if (!origins.allows(origin)) {
        limitMetrics.refused.inc({ reason: 'origin' });
        return refuseUpgrade(res, '403 Forbidden', 'unauthorized', `origin ${JSON.stringify(origin)} may not open sessions on this server`);
      }
      const who = headerCredential ? auth.check(headerCredential, 'listen') : auth.check(new URLSearchParams(query).get('token'), 'listen', 'query');
      if (!who.ok) {
        limitMetrics.refused.inc({ reason: 'unauthorized' });
        return refuseUpgrade(res, '401 Unauthorized', 'unauthorized', who.message);
      }
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
      const full = caps.refusal(who.owner);
      if (full) {
        limitMetrics.refused.inc({ reason: 'overloaded' });
        return refuseUpgrade(res, '503 Service Unavailable', 'overloaded', full);
      }
      // open() runs inside upgrade(), so the caps cannot be overrun between the check and the count.
      const data: SocketData = { config, format, session: null, closed: false, gone: false, owner: who.owner, guard: new SendGuard(backpressure), stream: null, io: null, resumeFrom };
      res.upgrade<SocketData>(data, key, protocol, extensions, context);
    },
    open: (ws) => {
      const data = ws.getUserData();
      caps.add(data.owner);
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
      data.stream = resume.start(io, data.owner, (out) => new Session(data.config, deps, out));
      data.session = data.stream.session;
      sessions.add(data.session);
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
      caps.remove(data.owner);
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
    async drain() {
      draining = true;
      resume.clear();
      const grace = new Promise<void>((r) => setTimeout(r, cfg.shutdownGraceMs).unref());
      await Promise.race([Promise.all([...sessions].map((s) => s.close('server_shutdown', 1001))), grace]);
    },
  };
}

/** Refuses a WebSocket upgrade with a JSON `{code, message}` body (Node clients can read it; browsers only see the failure). */
function refuseUpgrade(res: uWS.HttpResponse, status: string, code: ErrorCode, message: string): void {
  res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify({ code, message }));
}
