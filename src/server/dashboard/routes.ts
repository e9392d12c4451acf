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
<title>kestra-fastly</title><link rel="icon" href="/favicon.ico"><link rel="stylesheet" href="/ui/app.css"></head>
<body><div id="app">Loading…</div><script type="module" src="/ui/app.js"></script></body></html>
`;

/**
 * The site icon, a 16×16 32-bit ICO drawn here (no binary file in the package): a blue disc, the
 * chart's value colour, with a white rising line, the dashboard's chart in small.
 */
export function favicon(): Buffer {
  const n = 16;
  const bmp = Buffer.alloc(40 + n * n * 4 + n * 4);
  bmp.writeUInt32LE(40, 0); // BITMAPINFOHEADER
  bmp.writeInt32LE(n, 4);
  bmp.writeInt32LE(n * 2, 8); // the colour rows and the (empty) AND mask rows
  bmp.writeUInt16LE(1, 12);
  bmp.writeUInt16LE(32, 14);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const dx = x - 7.5;
      const dy = y - 7.5;
      const inside = dx * dx + dy * dy <= 7.6 * 7.6;
      // A line rising left to right (y counts from the top here; the rows are stored bottom-up).
      const line = x >= 3 && x <= 12 && Math.abs(y - (12 - Math.round((x - 3) * 0.8))) <= 1;
      const at = 40 + ((n - 1 - y) * n + x) * 4;
      const [r, g, b] = line ? [255, 255, 255] : [0x1f, 0x6f, 0xd1];
      bmp.writeUInt8(b, at);
      bmp.writeUInt8(g, at + 1);
      bmp.writeUInt8(r, at + 2);
      bmp.writeUInt8(inside ? 255 : 0, at + 3);
    }
  }
  const head = Buffer.alloc(6 + 16);
  head.writeUInt16LE(1, 2); // type: icon
  head.writeUInt16LE(1, 4); // one image
  head.writeUInt8(n, 6);
  head.writeUInt8(n, 7);
  head.writeUInt16LE(1, 10); // planes
  head.writeUInt16LE(32, 12); // bits per pixel
  head.writeUInt32LE(bmp.length, 14);
  head.writeUInt32LE(head.length, 18);
  return Buffer.concat([head, bmp]);
}

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
  let icon: Buffer | undefined;
  app.get('/favicon.ico', (c) => {
    icon ??= favicon();
    c.header('content-type', 'image/x-icon');
    c.header('cache-control', 'public, max-age=86400');
    return c.body(new Uint8Array(icon));
  });
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

  app.get('/ui/api/state', async (c) => {
    c.header('content-type', 'application/json');
    c.header('cache-control', 'no-store');
    return c.body(await store.json());
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
            await stream.writeSSE({ event: 'state', data: await store.json() });
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
