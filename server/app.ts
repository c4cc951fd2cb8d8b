/**
 * The HTTP + WebSocket server (uWebSockets.js): `/v1/listen` streaming
 * sessions, `/healthz`, `/readyz`, `/metrics`. It owns the shared engine —
 * one VAD batcher and one recognition scheduler for every live session — and
 * graceful shutdown: stop accepting, finalize every session, then close.
 */
import uWS from 'uWebSockets.js';
import type { ServerMessage, SessionConfig, WireFormat } from '../protocol/messages.js';
import { configFromQuery, decodeClientMessage, encodeServerMessage, ProtocolError, resolveSessionConfig, wireFormatFromQuery, DEFAULT_SESSION_CONFIG } from '../protocol/codec.js';
import { CtcRecognizer } from '../engine/asr/recognizer.js';
import { resolveModel } from '../engine/models/resolve.js';
import { RecognitionScheduler } from '../engine/scheduler.js';
import { SileroVad } from '../engine/vad/silero.js';
import { VadBatcher } from '../engine/vad/vad-batcher.js';
import type { ServerConfig } from './config.js';
import { Metrics } from './metrics.js';
import { Session } from './session.js';

interface SocketData {
  config: SessionConfig;
  format: WireFormat;
  session: Session | null;
  closed: boolean;
}

export interface RunningServer {
  port: number;
  metrics: Metrics;
  modelName: string;
  /** Stop accepting, finalize and flush every live session, then close. */
  shutdown(): Promise<void>;
}

export async function startServer(cfg: ServerConfig, log: (line: string) => void = console.log): Promise<RunningServer> {
  const model = resolveModel(cfg.model || undefined, { log });
  const recognizer = await CtcRecognizer.load({
    modelPath: model.modelPath,
    tokensPath: model.tokensPath,
    name: model.name,
    executionProvider: cfg.executionProvider,
    numThreads: cfg.asrThreads,
  });
  const vad = await SileroVad.load(cfg.vadModel);
  log(`model ${model.name} (${model.source}: ${model.modelPath}), VAD Silero v${vad.version} (${cfg.vadModel})`);

  const metrics = new Metrics();
  const vadBatcher = new VadBatcher(vad, 16, metrics.vadStats);
  const scheduler = new RecognitionScheduler(recognizer, { maxBatch: cfg.maxBatch }, metrics.schedulerStats);
  const limits = { max_message_bytes: cfg.maxMessageBytes, max_session_ms: cfg.maxSessionMs, idle_timeout_ms: cfg.idleTimeoutMs };
  const sessions = new Set<Session>();
  let draining = false;

  const app = uWS.App();

  app.get('/healthz', (res) => {
    res.writeHeader('content-type', 'text/plain').end('ok\n');
  });
  app.get('/readyz', (res) => {
    if (draining) res.writeStatus('503 Service Unavailable').end('draining\n');
    else res.writeHeader('content-type', 'text/plain').end('ready\n');
  });
  app.get('/metrics', (res) => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    void metrics.registry.metrics().then((text) => {
      if (aborted) return;
      res.cork(() => res.writeHeader('content-type', metrics.registry.contentType).end(text));
    });
  });

  app.ws<SocketData>('/v1/listen', {
    maxPayloadLength: cfg.maxMessageBytes,
    idleTimeout: 120,
    maxBackpressure: 4 << 20,
    upgrade: (res, req, context) => {
      const query = req.getQuery() ?? '';
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      if (draining) {
        res.writeStatus('503 Service Unavailable').writeHeader('content-type', 'application/json').end(JSON.stringify({ code: 'overloaded', message: 'server is shutting down' }));
        return;
      }
      let config: SessionConfig;
      let format: WireFormat;
      try {
        format = wireFormatFromQuery(query);
        config = resolveSessionConfig(configFromQuery(query), DEFAULT_SESSION_CONFIG);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        res.writeStatus('400 Bad Request').writeHeader('content-type', 'application/json').end(JSON.stringify({ code: 'bad_config', message }));
        return;
      }
      res.upgrade<SocketData>({ config, format, session: null, closed: false }, key, protocol, extensions, context);
    },
    open: (ws) => {
      const data = ws.getUserData();
      metrics.liveSessions.inc();
      metrics.sessionsTotal.inc();
      const session = new Session(
        data.config,
        { vadBatcher, scheduler, metrics, modelName: recognizer.name, limits, partialIntervalMs: cfg.partialIntervalMs, maxSegmentMs: cfg.maxSegmentMs },
        {
          send: (msg: ServerMessage) => {
            if (data.closed) return;
            const payload = encodeServerMessage(msg, data.format);
            ws.send(payload, typeof payload !== 'string');
          },
          end: (code, reason) => {
            if (data.closed) return;
            data.closed = true;
            ws.end(code, reason);
          },
        },
      );
      data.session = session;
      sessions.add(session);
    },
    message: (ws, message, isBinary) => {
      const data = ws.getUserData();
      const session = data.session;
      if (!session) return;
      try {
        // uWS reuses the message buffer after this callback returns: copy it.
        const bytes = new Uint8Array(message.slice(0));
        const msg = decodeClientMessage(bytes, isBinary, data.format);
        const override = msg.type === 'config' ? resolveSessionConfig({ ...data.config, ...msg.config }, DEFAULT_SESSION_CONFIG) : undefined;
        session.handle(msg, override);
      } catch (err) {
        const code = err instanceof ProtocolError ? err.code : 'bad_config';
        const text = err instanceof Error ? err.message : String(err);
        metrics.errors.inc({ code });
        const payload = encodeServerMessage({ type: 'error', code, message: text, fatal: false }, data.format);
        ws.send(payload, typeof payload !== 'string');
      }
    },
    close: (ws) => {
      const data = ws.getUserData();
      data.closed = true;
      metrics.liveSessions.dec();
      if (data.session) {
        data.session.abort();
        sessions.delete(data.session);
      }
    },
  });

  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json').end(JSON.stringify({ code: 'not_found', message: 'no such route' }));
  });

  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(cfg.host, cfg.port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${cfg.host}:${cfg.port}`))));
  });
  const port = uWS.us_socket_local_port(listenSocket);

  return {
    port,
    metrics,
    modelName: recognizer.name,
    async shutdown() {
      if (draining) return;
      draining = true;
      uWS.us_listen_socket_close(listenSocket);
      const grace = new Promise<void>((r) => setTimeout(r, cfg.shutdownGraceMs).unref());
      await Promise.race([Promise.all([...sessions].map((s) => s.close('server_shutdown', 1001))), grace]);
      await scheduler.drain();
      // close() exists in this uWS build (it drops idle keep-alive sockets) but its typings lack it.
      (app as uWS.TemplatedApp & { close(): void }).close();
      await recognizer.close();
      await vad.close();
    },
  };
}
