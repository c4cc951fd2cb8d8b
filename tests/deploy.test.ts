/**
 * The deployment files under deploy/, without Docker or a cluster:
 * haproxy.cfg passes HAProxy's own check (`haproxy -c`, no warning) with the
 * addresses the compose file and the scale-out test give it; the compose
 * file, the Prometheus config and the Kubernetes manifests parse as YAML and
 * have the shape the README promises: the services and their wiring, every
 * server setting one the server reads, replica ids that are HAProxy's server
 * names, a shared token secret, drain windows longer than the server's
 * shutdown grace, readiness on /readyz, selectors that match. The scale-out
 * test runs haproxy.cfg itself.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig, OPTIONS } from '../server/config.js';
import { HAPROXY_CONFIG } from '../testkit/haproxy.js';
import { PROJECT_ROOT } from '../testkit/paths.js';

const deploy = (file: string) => readFileSync(path.join(PROJECT_ROOT, 'deploy', file), 'utf8');
const SERVER_ENV = new Set(OPTIONS.map((o) => o.env));
/** Settings the server reads that are not config options (the Dockerfile's). */
const OTHER_ENV = new Set(['NODE_ENV', 'MODELS_DIR']);

type Dict = Record<string, unknown>;
const compose = parse(deploy('docker-compose.yml'), { merge: true }) as { services: Record<string, Dict> };
const haproxyCfg = readFileSync(HAPROXY_CONFIG, 'utf8');
/** HAProxy's server names in the replicas backend, which must be the replicas' ids. */
const haproxyServers = [...haproxyCfg.matchAll(/^\s*server\s+(\S+)/gm)].map((m) => m[1]);

function haproxyCheck(env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('haproxy', ['-c', '-f', HAPROXY_CONFIG], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

describe('haproxy.cfg', () => {
  it('is valid for HAProxy, without a warning, with loopback replicas', async () => {
    const { code, output } = await haproxyCheck({ LT_BIND: '127.0.0.1:18080', LT_STATS_BIND: '127.0.0.1:18404', REPLICA1: '127.0.0.1:1', REPLICA2: '127.0.0.1:2' });
    expect(output).not.toMatch(/WARNING|ALERT/);
    expect(code).toBe(0);
  });

  it('refuses a broken variant (the check can fail)', async () => {
    const { code } = await haproxyCheck({ LT_BIND: 'not an address' });
    expect(code).not.toBe(0);
  });

  it('routes a resume token to each server it names, and checks /readyz', () => {
    expect(haproxyServers).toEqual(['replica1', 'replica2']);
    for (const name of haproxyServers) {
      expect(haproxyCfg).toMatch(new RegExp(`acl token_${name} url_param\\(resume_token\\),field\\(1,\\.\\) -m str ${name}\\n`));
      expect(haproxyCfg).toMatch(new RegExp(`use-server ${name} if token_${name}\\n`));
    }
    expect(haproxyCfg).toMatch(/balance leastconn/);
    expect(haproxyCfg).toMatch(/uri \/readyz ver HTTP\/1\.1/);
    expect(haproxyCfg).toMatch(/timeout tunnel/);
  });
});

describe('docker-compose.yml', () => {
  const replicas = Object.entries(compose.services).filter(([name]) => name.startsWith('replica'));

  it('runs two replicas, HAProxy with this haproxy.cfg, PostgreSQL and Prometheus with this prometheus.yml', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['haproxy', 'postgres', 'prometheus', 'replica1', 'replica2']);
    expect(compose.services.haproxy.volumes).toContain('./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    expect(compose.services.prometheus.volumes).toContain('./prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(String(compose.services.postgres.image)).toMatch(/^postgres:/);
  });

  it("gives each replica settings the server reads: its HAProxy server name as replica id, the shared database and token secret, a stop window past the drain", () => {
    const secrets = new Set<string>();
    for (const [name, service] of replicas) {
      const env = service.environment as Record<string, string>;
      for (const key of Object.keys(env)) expect(SERVER_ENV.has(key) || OTHER_ENV.has(key), `${name}: ${key}`).toBe(true);
      expect(env.REPLICA_ID).toBe(name);
      expect(service.hostname).toBe(name);
      expect(env.DATABASE_URL).toMatch(/^postgres:\/\/transcribe:\$\{POSTGRES_PASSWORD:\?[^}]*\}@postgres:5432\/transcribe$/);
      secrets.add(env.TOKEN_SECRET);
      const cfg = loadConfig([], { SHUTDOWN_GRACE_MS: env.SHUTDOWN_GRACE_MS });
      expect(Number(/^(\d+)s$/.exec(String(service.stop_grace_period))?.[1]) * 1000).toBeGreaterThan(cfg.shutdownGraceMs);
      expect((service.depends_on as Dict).postgres).toEqual({ condition: 'service_healthy' });
      expect(JSON.stringify((service.healthcheck as Dict).test)).toContain('/readyz');
    }
    expect(replicas.map(([name]) => name)).toEqual(haproxyServers);
    expect(secrets.size).toBe(1);
    expect([...secrets][0]).toMatch(/^\$\{TOKEN_SECRET:\?/);
  });
});

describe('prometheus.yml', () => {
  it('scrapes every replica directly and HAProxy', () => {
    const prom = parse(deploy('prometheus.yml')) as { scrape_configs: Array<{ job_name: string; metrics_path: string; static_configs: Array<{ targets: string[] }> }> };
    const targets = Object.fromEntries(prom.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets)]));
    expect(targets).toEqual({ 'live-transcribe': haproxyServers.map((s) => `${s}:8080`), haproxy: ['haproxy:8404'] });
  });
});

describe('kubernetes/live-transcribe.yaml', () => {
  const docs = parseAllDocuments(deploy('kubernetes/live-transcribe.yaml')).map((d) => d.toJS() as Dict & { kind: string; metadata: { name: string }; spec: Dict });
  const byKind = Object.fromEntries(docs.map((d) => [d.kind, d]));

  it('has a Deployment, a Service, a PodDisruptionBudget and an HPA, all of one app', () => {
    expect(docs.map((d) => d.kind)).toEqual(['Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']);
    for (const d of docs) expect(d.metadata.name).toBe('live-transcribe');
  });

  it('probes readiness on /readyz, drains within the termination grace, sets only settings the server reads', () => {
    const deployment = byKind.Deployment.spec as { selector: { matchLabels: Dict }; template: { metadata: { labels: Dict }; spec: Dict & { containers: Dict[] } } };
    expect(deployment.template.metadata.labels).toMatchObject(deployment.selector.matchLabels);
    const pod = deployment.template.spec;
    const [container] = pod.containers as Array<{ env: Array<{ name: string; value?: string }>; readinessProbe: { httpGet: { path: string; port: string } }; ports: Array<{ name: string; containerPort: number }> }>;
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.ports.map((p) => p.name)).toContain(container.readinessProbe.httpGet.port);
    for (const e of container.env) expect(SERVER_ENV.has(e.name), e.name).toBe(true);
    expect(container.env.map((e) => e.name)).toEqual(expect.arrayContaining(['TOKEN_SECRET', 'DATABASE_URL']));
    const grace = container.env.find((e) => e.name === 'SHUTDOWN_GRACE_MS')!.value!;
    expect(Number(pod.terminationGracePeriodSeconds) * 1000).toBeGreaterThan(loadConfig([], { SHUTDOWN_GRACE_MS: grace }).shutdownGraceMs);
  });

  it('selects the Deployment\'s pods from the Service and the PDB, and scales the Deployment on live sessions per pod', () => {
    const labels = (byKind.Deployment.spec as { template: { metadata: { labels: Dict } } }).template.metadata.labels;
    expect(labels).toMatchObject(byKind.Service.spec.selector as Dict);
    expect(labels).toMatchObject((byKind.PodDisruptionBudget.spec.selector as { matchLabels: Dict }).matchLabels);
    const hpa = byKind.HorizontalPodAutoscaler.spec as { scaleTargetRef: Dict; minReplicas: number; metrics: Array<{ type: string; pods: { metric: { name: string } } }> };
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'live-transcribe' });
    expect(hpa.metrics[0]).toMatchObject({ type: 'Pods', pods: { metric: { name: 'lt_live_sessions' } } });
    // More pods than the budget keeps: a node drain can always evict one.
    expect(hpa.minReplicas).toBeGreaterThan(Number((byKind.PodDisruptionBudget.spec as { minAvailable: number }).minAvailable));
  });
});
