/**
 * `GET /v1/models`: the models this server serves (models.ts), in the shape
 * of OpenAI's model list (`{object: "list", data: [{id, object: "model", ...}]}`,
 * so OpenAI clients can list them) with what a client needs to choose one:
 * its languages, whether it serves live sessions, whether it is a streaming
 * model and its chunk (`chunk_ms`; null: an offline model, whose partials
 * re-read the open segment), the sample rate it hears, and whether it is a
 * shipped demo model (`demo`: synthetic voices only; demo-models.ts), and
 * whether sessions on it may ask for speaker labels (`diarization`).
 * Credentials as for /v1/listen (scope `listen`).
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { bearerCredential, type Authenticator } from '../auth.js';
import type { ServedModels } from '../models.js';

export function registerModelsRoute(app: TemplatedApp, models: ServedModels, auth: Authenticator, demoModels: ReadonlySet<string> = new Set()): void {
  app.get('/v1/models', (res, req) => {
    const who = auth.check(bearerCredential(req.getHeader('authorization')), 'listen');
    // The status goes first: uWS sends 200 once a header is written without one.
    if (!who.ok) return void res.writeStatus('401 Unauthorized').writeHeader('content-type', 'application/json').end(JSON.stringify({ code: 'unauthorized', message: who.message }));
    const data = models.all.map((m, i) => ({
      id: m.name,
      object: 'model',
      created: 0,
      owned_by: 'live-transcribe',
      languages: m.languages,
      streaming: m.streaming,
      chunk_ms: m.engine.chunkMs,
      sample_rate: m.sampleRateHz,
      default: i === 0,
      demo: demoModels.has(m.name),
      diarization: m.engine.canDiarize,
    }));
    res.writeHeader('content-type', 'application/json').end(JSON.stringify({ object: 'list', data }));
  });
}
