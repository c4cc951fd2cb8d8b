/**
 * The browser side, served by the server itself: the live page at `/` (with
 * `/app.js` and `/style.css`), the client library (client/index.ts) as one
 * ES module at `/client.js` for people building their own page, and the
 * minimal page that shows how (client/examples/browser.html) at
 * `/examples/browser.html`.
 *
 * The TypeScript is bundled with esbuild in memory (`write: false`) on the
 * first request and kept; nothing is written to disk. A bundling failure
 * answers 500 (logged) and is retried on the next request.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { PROJECT_ROOT } from '../engine/project-root.js';

const CLIENT_DIR = path.join(PROJECT_ROOT, 'client');
const PAGE_DIR = path.join(CLIENT_DIR, 'page');
const EXAMPLE_PAGE = '/examples/browser.html';


interface Asset {
  contentType: string;
  body: string;
}

/**
 * The pages only talk to their own origin (fetch and WebSocket); `blob:` scripts
 * are the capture worklet (client/capture.ts); downloads are `blob:` links.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self' blob:",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  legalComments: 'none',
  logLevel: 'silent',
  absWorkingDir: PROJECT_ROOT,
};

async function bundle(options: BuildOptions): Promise<string> {
  const result = await build({ ...BUNDLE_OPTIONS, ...options });
  return result.outputFiles![0].text;
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const [html, css, app, client, example] = await Promise.all([
    readFile(path.join(PAGE_DIR, 'index.html'), 'utf8'),
    readFile(path.join(PAGE_DIR, 'style.css'), 'utf8'),
    bundle({ entryPoints: [path.join(PAGE_DIR, 'app.ts')], minify: true }),
    bundle({ entryPoints: [path.join(CLIENT_DIR, 'index.ts')] }),
    readFile(path.join(CLIENT_DIR, 'examples', 'browser.html'), 'utf8'),
  ]);
  return new Map([
    ['/', { contentType: 'text/html; charset=utf-8', body: html }],
    [EXAMPLE_PAGE, { contentType: 'text/html; charset=utf-8', body: example }],
    ['/style.css', { contentType: 'text/css; charset=utf-8', body: css }],
    ['/app.js', { contentType: 'text/javascript; charset=utf-8', body: app }],
    ['/client.js', { contentType: 'text/javascript; charset=utf-8', body: client }],
  ]);
}

export function registerStaticRoutes(app: TemplatedApp, log: (line: string) => void): void {
  let assets: Promise<Map<string, Asset>> | null = null;

  const serve = (url: string) => (res: HttpResponse) => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    assets ??= loadAssets();
    assets.then(
      (all) => {
        const asset = all.get(url)!;
        if (aborted) return;
        res.cork(() => {
          res.writeHeader('content-type', asset.contentType);
          // Revalidate on every load, so a restarted server's new page is picked up at once.
          res.writeHeader('cache-control', 'no-cache');
          res.writeHeader('x-content-type-options', 'nosniff');
          res.writeHeader('referrer-policy', 'no-referrer');
          if (url === '/') res.writeHeader('content-security-policy', PAGE_CSP);
          // The example keeps its script inline, so it is one file to copy.
          if (url === EXAMPLE_PAGE) res.writeHeader('content-security-policy', PAGE_CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'"));
          res.end(asset.body);
        });
      },
      (err: unknown) => {
        assets = null;
        log(`cannot build the web page: ${err instanceof Error ? err.message : String(err)}`);
        if (aborted) return;
        res.cork(() => {
          res.writeStatus('500 Internal Server Error').writeHeader('content-type', 'application/json');
          res.end(JSON.stringify({ code: 'internal', message: 'the web page could not be built; see the server log' }));
        });
      },
    );
  };

  for (const url of ['/', '/style.css', '/app.js', '/client.js', EXAMPLE_PAGE]) app.get(url, serve(url));
}
