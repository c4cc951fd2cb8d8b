/**
 * Probes for orchestrators and monitoring: `GET /healthz` (the process
 * answers), `GET /readyz` (it takes new sessions: 503 while draining; its
 * text says so when the default model is a shipped demo model) and
 * `GET /metrics` (Prometheus text), which answers only callers that
 * `metricsRefusal` lets through (auth.ts metricsGuard): 401 otherwise.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { Metrics } from '../metrics.js';

export function registerHealthRoutes(
  app: TemplatedApp,
  metrics: Metrics,
  isDraining: () => boolean,
  metricsRefusal: (authorization: string) => string | null,
  /** The default model is a shipped demo model (synthetic voices only). */
  demoDefault = false,
): void {
  const readyText = demoDefault ? 'ready (demo model: synthetic voices only)\n' : 'ready\n';
  app.get('/healthz', (res) => {
    res.writeHeader('content-type', 'text/plain').end('ok\n');
  });
  app.get('/readyz', (res) => {
    if (isDraining()) res.writeStatus('503 Service Unavailable').end('draining\n');
    else res.writeHeader('content-type', 'text/plain').end(readyText);
  });
  app.get('/metrics', (res, req) => {
    const refusal = metricsRefusal(req.getHeader('authorization'));
    if (refusal !== null) {
      res.writeStatus('401 Unauthorized').writeHeader('content-type', 'application/json').end(JSON.stringify({ code: 'unauthorized', message: refusal }));
      return;
    }
    let aborted = false;
    res.onAborted(() => (aborted = true));
    void metrics.registry.metrics().then((text) => {
      if (aborted) return;
      res.cork(() => res.writeHeader('content-type', metrics.registry.contentType).end(text));
    });
  });
}
