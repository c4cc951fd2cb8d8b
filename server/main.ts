/**
 * Entry point: `npm start -- [flags]`. Loads the configuration, prints it,
 * picks the model to serve when none is configured (startup-model.ts: pulls
 * the default English model, or falls back to the demo model), starts the
 * server and drains it gracefully on SIGTERM / SIGINT.
 */
import { loadConfig, printableConfig, usage } from './config.js';
import { startServer } from './app.js';
import { chooseStartupModel } from './startup-model.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  const cfg = loadConfig(argv, process.env);
  console.log('config', JSON.stringify(printableConfig(cfg)));
  // Pull progress goes to stderr like `npm run models -- pull`; the outcome lines to stdout with the rest.
  const chosen = await chooseStartupModel(cfg.model, { offline: cfg.offline, mirror: cfg.modelMirror, log: (line) => console.log(line) });
  const server = await startServer({ ...cfg, model: chosen.model });
  console.log(`listening on ws://${cfg.host}:${server.port}/v1/listen (health: http://${cfg.host}:${server.port}/healthz)`);
  console.log(`replica ${server.replicaId}: resume tokens name it, for a load balancer to route resumes here`);
  console.log(`Deepgram clients: baseUrl ws://${cfg.host}:${server.port}/deepgram; OpenAI clients: baseURL http://${cfg.host}:${server.port}/v1`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining live sessions`);
    await server.shutdown();
    console.log('drained, bye');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
