/**
 * The client library as a package of its own (client/package.json): it
 * builds on its own (`npm run build` in client/), its bundle holds only
 * client/ and protocol/ code (protobufjs its one dependency), the built
 * module works in Node against a real server, its README documents every
 * option and event the source declares, and the bundle size the README
 * states is still the measured one (within 10%; measured sizes printed).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../server/app.js';
import { PROJECT_ROOT } from '../testkit/paths.js';
import { startTestServer } from '../testkit/server.js';
import { concat, silence, synthesize, toS16le } from '../testkit/speech.js';

const CLIENT_DIR = path.join(PROJECT_ROOT, 'client');
const DIST = path.join(CLIENT_DIR, 'dist');
const pkg = JSON.parse(readFileSync(path.join(CLIENT_DIR, 'package.json'), 'utf8')) as {
  name: string;
  type: string;
  exports: { '.': { types: string; import: string } };
  dependencies: Record<string, string>;
};
const readme = readFileSync(path.join(CLIENT_DIR, 'README.md'), 'utf8');

let server: RunningServer;

beforeAll(async () => {
  rmSync(DIST, { recursive: true, force: true });
  await promisify(execFile)('npm', ['run', 'build'], { cwd: CLIENT_DIR, timeout: 120_000 });
  server = await startTestServer();
});
afterAll(async () => {
  await server?.shutdown();
});

/** Member names of `interface name { ... }` in a client source file. */
function interfaceKeys(file: string, name: string): string[] {
  const source = readFileSync(path.join(CLIENT_DIR, file), 'utf8');
  const body = new RegExp(`export interface ${name} \\{([\\s\\S]*?)\\n\\}`).exec(source)?.[1];
  if (!body) throw new Error(`no interface ${name} in ${file}`);
  return [...body.matchAll(/^ {2}(?:readonly )?(\w+)\??[:(]/gm)].map((m) => m[1]);
}

describe('the client package', () => {
  it('is ESM with types, built on its own, with protobufjs its one dependency', () => {
    expect(pkg.name).toBe('@live-transcribe/client');
    expect(pkg.type).toBe('module');
    expect(Object.keys(pkg.dependencies)).toEqual(['protobufjs']);
    expect(existsSync(path.join(CLIENT_DIR, pkg.exports['.'].import))).toBe(true);
    const types = readFileSync(path.join(CLIENT_DIR, pkg.exports['.'].types), 'utf8');
    expect(types).toContain("export * from './listen-client.js';");
    expect(readFileSync(path.join(DIST, 'types/client/listen-client.d.ts'), 'utf8')).toContain('export declare class ListenClient');
  });

  it('bundles only client/ and protocol/ code, and its size is the README figure', async () => {
    const sizes: Record<string, { minified: number; gzipped: number }> = {};
    for (const [label, external] of [
      ['without protobufjs', ['protobufjs']],
      ['with protobufjs', []],
    ] as const) {
      const result = await build({ entryPoints: [path.join(CLIENT_DIR, 'index.ts')], bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, metafile: true, legalComments: 'none', external: [...external], absWorkingDir: PROJECT_ROOT, logLevel: 'silent' });
      const inputs = Object.keys(result.metafile.inputs);
      // protobufjs brings `long`, and names `fs`, which browser bundles leave out.
      const allowed = ['client/', 'protocol/', 'node_modules/protobufjs/', 'node_modules/long/', '(disabled):fs'];
      const foreign = inputs.filter((f) => !allowed.some((prefix) => f.startsWith(prefix)));
      expect(foreign, `${label}: code from outside the client`).toEqual([]);
      const code = result.outputFiles[0].contents;
      sizes[label] = { minified: code.length, gzipped: gzipSync(code).length };
      console.log(`client bundle ${label}: ${(code.length / 1000).toFixed(1)} kB minified, ${(sizes[label].gzipped / 1000).toFixed(1)} kB gzipped`);
    }
    const [, without, withoutGz, withPb, withPbGz] = /([\d.]+) kB\s+\(([\d.]+) kB gzipped\) without protobufjs, ([\d.]+) kB \(([\d.]+) kB gzipped\) with it/.exec(readme.replace(/\s+/g, ' ')) ?? [];
    const near = (stated: string, measured: number) => expect(Math.abs(Number(stated) * 1000 - measured) / measured, `README says ${stated} kB, measured ${measured} bytes`).toBeLessThan(0.1);
    near(without, sizes['without protobufjs'].minified);
    near(withoutGz, sizes['without protobufjs'].gzipped);
    near(withPb, sizes['with protobufjs'].minified);
    near(withPbGz, sizes['with protobufjs'].gzipped);
  });

  it('documents every option and event in its README', () => {
    const documented = (key: string) => readme.includes(`\`${key}\``) || readme.includes(`\`${key}(`);
    const declared = {
      ListenClientOptions: interfaceKeys('listen-client.ts', 'ListenClientOptions'),
      ReconnectOptions: interfaceKeys('listen-client.ts', 'ReconnectOptions'),
      ListenEvents: interfaceKeys('listen-client.ts', 'ListenEvents'),
      MicrophoneOptions: interfaceKeys('capture.ts', 'MicrophoneOptions'),
      MicrophoneCapture: interfaceKeys('capture.ts', 'MicrophoneCapture'),
      PacedOptions: interfaceKeys('capture.ts', 'PacedOptions'),
    };
    expect(declared.ListenEvents.length).toBeGreaterThanOrEqual(10);
    for (const [name, keys] of Object.entries(declared)) {
      expect(keys.length, name).toBeGreaterThan(0);
      for (const key of keys) expect(documented(key), `${name}.${key} is not in client/README.md`).toBe(true);
    }
    for (const code of ['connection_lost', 'audio_dropped', 'aborted']) expect(documented(code), code).toBe(true);
  });

  it('works from its built module in Node against a real server', async () => {
    const { ListenClient } = (await import(path.join(DIST, 'index.js'))) as typeof import('../client/index.js');
    const client = new ListenClient({ url: `ws://127.0.0.1:${server.port}/v1/listen`, WebSocket, config: { encoding: 'pcm_s16le', sample_rate: 16_000 } });
    const finals: string[] = [];
    client.on('final', (f) => finals.push(f.text));
    const pcm = toS16le(concat(silence(300), synthesize('please call stella'), silence(600)));
    for (let pos = 0; pos < pcm.length; pos += 3200) client.sendAudio(pcm.subarray(pos, pos + 3200));
    const closed = await client.close();
    expect(closed.reason).toBe('client_close');
    expect(Math.abs(closed.audio_ms_received - pcm.length / 32)).toBeLessThanOrEqual(1);
    expect(finals.join(' ')).toMatch(/\w/);
  });
});
