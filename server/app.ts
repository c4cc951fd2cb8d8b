/**
 * The server, composed: the models it serves, one engine each, shared by
 * every session (models.ts, engine/), the metrics, authentication, the
 * admission limits every front door shares (admission.ts) and the transcript
 * store, and the routes — `/v1/listen` (routes/listen.ts), the
 * Deepgram-compatible `/deepgram/v1/listen` (deepgram/route.ts), the
 * OpenAI-compatible `POST /v1/audio/transcriptions` (openai/route.ts),
 * `GET /v1/models`, `/healthz` `/readyz` `/metrics` (routes/health.ts),
 * `/v1/tokens`, `/v1/transcripts`, the live page — on one uWebSockets.js
 * app. Transcripts and API keys live in the data folder (SQLite, a file),
 * or in PostgreSQL with `--database-url`, shared by replicas
 * (store/pg-store.ts, store/pg-keys.ts); resume tokens
 * name this replica (replica.ts) so a load balancer can route a resume here.
 * Graceful shutdown: `/readyz` answers 503 and new sessions are refused at
 * once (a load balancer stops routing here), every live session and file
 * gets its results, then the listener closes and the models and the store
 * are released.
 */
import uWS from 'uWebSockets.js';
import { Admission } from './admission.js';
import { bearerCredential, createAuthenticator, metricsGuard } from './auth.js';
import type { ServerConfig } from './config.js';
import { secureDataDir } from './data-dir.js';
import { registerDeepgramRoute } from './deepgram/route.js';
import { demoModelNames } from './demo-models.js';
import { Metrics } from './metrics.js';
import { ServedModels } from './models.js';
import { registerTranscriptionRoute } from './openai/route.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerListenRoute } from './routes/listen.js';
import { registerModelsRoute } from './routes/models.js';
import { registerTokenRoute } from './routes/tokens.js';
import { registerTranscriptRoutes } from './routes/transcripts.js';
import { replicaIdFrom } from './replica.js';
import { pullCommand } from './startup-model.js';
import { registerStaticRoutes } from './static.js';
import { LazyTranscriptStore } from './store/lazy-store.js';
import { PgKeyRing } from './store/pg-keys.js';
import { PgDatabase, PgTranscriptStore } from './store/pg-store.js';
import { SqliteTranscriptStore } from './store/sqlite-store.js';
import type { TranscriptStore } from './store/transcript-store.js';

export interface RunningServer {
  port: number;
  metrics: Metrics;
  /** The default model's name. */
  modelName: string;
  /** The name resume tokens give this replica. */
  replicaId: string;
  /** Stop accepting, finalize and flush every live session, then close. */
  shutdown(): Promise<void>;
}

export async function startServer(cfg: ServerConfig, log: (line: string) => void = console.log): Promise<RunningServer> {
  secureDataDir(cfg.dataDir, log);
  const replicaId = replicaIdFrom(cfg.replicaId);
  // PostgreSQL first: its migrations run (or it fails) before anything else is loaded.
  const db = cfg.databaseUrl ? await PgDatabase.open(cfg.databaseUrl, { log }) : null;
  const sharedKeys = db ? await PgKeyRing.open(db, log) : undefined;
  const store: TranscriptStore = db
    ? new PgTranscriptStore(db)
    : // Opened on the first transcript request, so a server that only streams writes no file.
      new LazyTranscriptStore(() => new SqliteTranscriptStore(cfg.dataDir));
  const metrics = new Metrics();
  const models = await ServedModels.load(
    cfg,
    (name) => ({
      log,
      vadStats: metrics.vadStats,
      schedulerStats: metrics.schedulerStatsFor(name),
      onDiarizationStep: (windows) => metrics.diarizationBatchSize.observe(windows),
    }),
    log,
  );
  const auth = createAuthenticator(cfg, log, sharedKeys);
  if (auth.enabled && cfg.metricsToken === '') log('/metrics answers 401: auth is on and METRICS_TOKEN is not set');

  const app = uWS.App();
  // Dropped sessions are /v1/listen's (resumable); the gauge is read only on a scrape, after listen exists.
  const admission = new Admission(cfg, metrics, auth, () => listen.droppedSessions);
  const listen = registerListenRoute(app, cfg, models, metrics, admission, auth.resumeTokens(replicaId));
  const deepgram = registerDeepgramRoute(app, cfg, models, admission, metrics);
  const transcriptions = registerTranscriptionRoute(app, cfg, models, admission, metrics);
  const demoModels = demoModelNames(cfg.model);
  if (demoModels.has(models.default.name)) {
    log(`the default model ${models.default.name} is a demo model (synthetic voices only): ready says demo: true and the live page shows a notice; for real speech: ${pullCommand()}`);
  }
  registerModelsRoute(app, models, auth, demoModels);
  registerHealthRoutes(app, metrics, () => listen.draining, metricsGuard(cfg.metricsToken, auth.enabled), demoModels.has(models.default.name));
  registerTokenRoute(app, auth);
  const transcriptOwner = (req: uWS.HttpRequest) => {
    const who = auth.check(bearerCredential(req.getHeader('authorization')), 'transcripts');
    return who.ok ? who.owner : null;
  };
  registerTranscriptRoutes(app, store, transcriptOwner, { log });
  registerStaticRoutes(app, log);
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json').end(JSON.stringify({ code: 'not_found', message: 'no such route' }));
  });

  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(cfg.host, cfg.port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${cfg.host}:${cfg.port}`))));
  });

  let stopping: Promise<void> | null = null;
  return {
    port: uWS.us_socket_local_port(listenSocket),
    metrics,
    modelName: models.default.name,
    replicaId,
    shutdown() {
      stopping ??= (async () => {
        // Still listening while draining: /readyz answers 503 and new sessions are refused with 503, so a load balancer sees why.
        const drained = Promise.all([listen.drain(), deepgram.drain(), transcriptions.drain()]);
        admission.close();
        await drained;
        uWS.us_listen_socket_close(listenSocket);
        await models.close();
        // close() exists in this uWS build (it drops idle keep-alive sockets) but its typings lack it.
        (app as uWS.TemplatedApp & { close(): void }).close();
        await store.close();
        sharedKeys?.close();
        await db?.close();
      })();
      return stopping;
    },
  };
}
