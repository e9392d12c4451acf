import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { DashboardStore } from './store.js';

/** The page bundle (esbuild, at build time) lives in dist/dashboard, found from the tsc output or the CLI bundle. */
function assetsDir(): string | undefined {
  for (const rel of ['../../../dashboard/', '../dashboard/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}app.js`)) return dir;
  }
  return undefined;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>kestra-fastly</title><link rel="stylesheet" href="/ui/app.css"></head>
<body><div id="app">Loading…</div><script type="module" src="/ui/app.js"></script></body></html>
`;

// The page loads only its own files and talks only to this server.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The dashboard under /ui: the page, its assets, the state as JSON and live updates as server-sent
 * events ("run now" posts to the executions API). Mount it on the server's app, behind the same auth as the API.
 */
export function dashboardRoutes(store: DashboardStore): Hono {
  const app = new Hono();
  const dir = assetsDir();
  const assets = new Map<string, { body: string; type: string }>();
  const asset = (name: string, type: string) => {
    let a = assets.get(name);
    if (!a && dir) assets.set(name, (a = { body: readFileSync(`${dir}${name}`, 'utf8'), type }));
    return a;
  };

  app.use('/ui/*', async (c, next) => {
    await next();
    c.header('content-security-policy', CSP);
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
  });
  app.get('/ui', (c) => c.redirect('/ui/'));
  app.get('/ui/', (c) => {
    if (!dir) return c.text('the dashboard was not built: run npm run build\n', 500);
    return c.html(PAGE);
  });
  for (const [name, type] of [
    ['app.js', 'text/javascript; charset=utf-8'],
    ['app.css', 'text/css; charset=utf-8'],
  ] as const) {
    app.get(`/ui/${name}`, (c) => {
      const a = asset(name, type);
      if (!a) return c.notFound();
      c.header('content-type', a.type);
      c.header('cache-control', 'no-cache');
      return c.body(a.body);
    });
  }

  app.get('/ui/api/state', (c) => {
    c.header('content-type', 'application/json');
    c.header('cache-control', 'no-store');
    return c.body(store.json());
  });

  app.get('/ui/api/events', (c) => {
    const response = streamSSE(c, async (stream) => {
      let dirty = true;
      let wake: (() => void) | undefined;
      const off = store.onChange(() => {
        dirty = true;
        wake?.();
      });
      stream.onAbort(() => {
        off();
        wake?.();
      });
      try {
        while (!stream.aborted && !stream.closed && !store.closed) {
          if (dirty && !store.closed) {
            dirty = false;
            await stream.writeSSE({ event: 'state', data: store.json() });
          }
          // At most four updates a second; a heartbeat every 15 s keeps proxies from closing the stream.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, dirty ? 250 : 15_000);
            wake = () => {
              clearTimeout(timer);
              setTimeout(resolve, 250);
            };
          });
          wake = undefined;
          if (!dirty && !stream.aborted && !store.closed) await stream.writeSSE({ event: 'ping', data: '' });
        }
      } finally {
        off();
      }
    });
    // The socket closes with the stream: a stopping server must not wait for it to idle out.
    response.headers.set('connection', 'close');
    return response;
  });

  return app;
}
