// HTTP(S) proxies: HTTPS_PROXY / NO_PROXY as the Fastly CLI (Go) reads them, and a flow's
// `options.proxy`. The CLI's endpoint is https://api.fastly.test, a name that does not resolve: it is
// reached only through the loopback CONNECT proxy below, which tunnels every connection to a TLS
// front holding a certificate for that name (test/fixtures/tls/api.fastly.test-*.pem), which pipes it
// to the simulator.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { OneShotTransport } from '../src/http/http1.js';
import { envProxyPolicy, maskProxyUrl, noProxyMatcher, parseProxyUrl } from '../src/http/proxy.js';
import { HttpTransport, requestHeaders } from '../src/http/transport.js';
import { cliHost } from './cli-host.js';
import { CLI, requests, runCli, SERVICE, sim, taskOutputs } from './helpers.js';
import { receiver } from './receiver.js';
import type { Simulator } from '../src/simulator/index.js';

const TLS = new URL('../../test/fixtures/tls/', import.meta.url);
const API_CERT = fileURLToPath(new URL('api.fastly.test-cert.pem', TLS));
const ENDPOINT = 'https://api.fastly.test';
const TOKEN = 'Tok3nNeverShown';
const PASSWORD = 'pr0xyPassw0rd';
/**
 * The CLI runs of this file in one process (cli-host.ts), which trusts api.fastly.test's certificate
 * as NODE_EXTRA_CA_CERTS makes a process do; the first test and the https:// proxy's run the bin.
 */
const cli = cliHost(undefined, undefined, { env: { NODE_EXTRA_CA_CERTS: API_CERT } });

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
};

/** A TLS server for api.fastly.test (and www.fastly.test) that pipes each connection to the simulator. */
async function tlsFront(t: TestContext, s: Simulator) {
  const names: string[] = [];
  const simPort = Number(new URL(s.url).port);
  const server = createTlsServer(
    {
      key: await readFile(new URL('api.fastly.test-key.pem', TLS)),
      cert: await readFile(new URL('api.fastly.test-cert.pem', TLS)),
    },
    (socket: TLSSocket) => {
      names.push(String((socket as TLSSocket & { servername?: string | false }).servername));
      const upstream = netConnect(simPort, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    },
  );
  const port = await listen(server);
  t.after(() => server.close());
  return { port, names };
}

interface Connect {
  target: string;
  auth: string | undefined;
}

/**
 * A CONNECT proxy on 127.0.0.1 (over TLS when `tls` is given). Each CONNECT is recorded; `answer`
 * decides: 'tunnel' (200, then piped to `front`), 'hang' (never answers), or a status line to refuse with.
 */
async function connectProxy(
  t: TestContext,
  front: number,
  answer: (n: number) => string = () => 'tunnel',
  tls?: { key: Buffer; cert: Buffer },
) {
  const seen: Connect[] = [];
  const events = new EventEmitter();
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.removeListener('data', onData);
      const [request = '', ...fields] = head.slice(0, end).split('\r\n');
      const target = /^CONNECT (\S+) HTTP\/1\.1$/.exec(request)?.[1] ?? `not a CONNECT: ${request}`;
      const auth = fields.find((f) => /^proxy-authorization:/i.test(f))?.replace(/^[^:]*:\s*/, '');
      seen.push({ target, auth });
      events.emit('connect', target);
      const what = answer(seen.length);
      if (what === 'hang') return;
      if (what !== 'tunnel') {
        socket.end(`HTTP/1.1 ${what}\r\ncontent-length: 0\r\n\r\n`);
        return;
      }
      const upstream = netConnect(front, '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
        socket.pipe(upstream).pipe(socket);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
    };
    socket.on('data', onData);
  };
  const server = tls ? createTlsServer(tls, onConnection) : createNetServer(onConnection);
  const port = await listen(server);
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port, seen, events, url: `http://127.0.0.1:${port}` };
}

/** The simulator, a TLS front for api.fastly.test and a CONNECT proxy to it; env for the CLI. */
async function setup(t: TestContext, answer?: (n: number) => string) {
  const s = await sim(t);
  const front = await tlsFront(t, s);
  const proxy = await connectProxy(t, front.port, answer);
  const env = {
    FASTLY_API_TOKEN: TOKEN,
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_API_ENDPOINT: ENDPOINT,
    NODE_EXTRA_CA_CERTS: API_CERT,
  };
  return { s, front, proxy, env, withAuth: `http://kf:${PASSWORD}@127.0.0.1:${proxy.port}` };
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function assertNoSecrets(r: { stdout: string; stderr: string }, what: string) {
  for (const secret of [TOKEN, PASSWORD, basic('kf', PASSWORD).slice(6)]) {
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `${what}: a secret was printed`);
  }
}

test('purge key, keys, all and stats historical go through HTTPS_PROXY: CONNECT api.fastly.test:443 with Proxy-Authorization, TLS checked against the target', async (t) => {
  const { s, front, proxy, env, withAuth } = await setup(t);
  const via = { ...env, HTTPS_PROXY: withAuth };
  // The shipped bin once; the other commands in the CLI host (its NODE_EXTRA_CA_CERTS is the same).
  const key = await runCli(['purge', 'key', 'k1', '--debug'], via);
  assert.equal(key.code, 0, key.stderr);
  assert.match(key.stdout, /^✓ Purged key k1 \(id: \S+\)\n$/);
  assertNoSecrets(key, 'purge key --debug');
  const keys = await cli.run(['purge', 'keys', 'a', 'b', 'c'], via);
  assert.equal(keys.code, 0, keys.stderr);
  const all = await cli.run(['purge', 'all'], via);
  assert.equal(all.code, 0, all.stderr);
  const stats = await cli.run(['stats', 'historical', '--from', '2 hours ago', '--json'], via);
  assert.equal(stats.code, 0, stats.stderr);
  assert.ok(JSON.parse(stats.stdout));
  for (const r of [keys, all, stats]) assertNoSecrets(r, 'run');
  assert.ok(proxy.seen.length >= 4, `${proxy.seen.length} CONNECTs`);
  for (const c of proxy.seen)
    assert.deepEqual(c, { target: 'api.fastly.test:443', auth: basic('kf', PASSWORD) });
  // Server name indication names the target, not the proxy.
  assert.deepEqual([...new Set(front.names)], ['api.fastly.test']);
  assert.equal(requests(s, `/service/${SERVICE}/purge/k1`).length, 1);
  assert.equal(requests(s, `/service/${SERVICE}/purge_all`).length, 1);
  assert.equal(requests(s, '/stats').length > 0, true);
});

test('lower-case https_proxy is read; upper case wins; a value without a scheme means http://', async (t) => {
  const { proxy, env } = await setup(t);
  const lower = await cli.run(['purge', 'key', 'k1'], { ...env, https_proxy: `127.0.0.1:${proxy.port}` });
  assert.equal(lower.code, 0, lower.stderr);
  assert.equal(proxy.seen.length, 1);
  const both = await cli.run(['purge', 'key', 'k1'], {
    ...env,
    HTTPS_PROXY: proxy.url,
    https_proxy: 'socks5://127.0.0.1:1',
  });
  assert.equal(both.code, 0, both.stderr);
  assert.equal(proxy.seen.length, 2);
  assert.equal(proxy.seen[0]?.auth, undefined);
});

test('an https:// proxy: TLS to the proxy (its own certificate), then the tunnel with TLS to the target', async (t) => {
  const s = await sim(t);
  const front = await tlsFront(t, s);
  const key = await readFile(new URL('key.pem', TLS));
  const cert = await readFile(new URL('cert.pem', TLS));
  const proxy = await connectProxy(t, front.port, () => 'tunnel', { key, cert });
  const dir = await mkdtemp(join(tmpdir(), 'kf-proxy-'));
  const bundle = join(dir, 'ca.pem');
  await writeFile(bundle, `${cert.toString()}\n${await readFile(API_CERT, 'utf8')}`);
  const env = {
    FASTLY_API_TOKEN: TOKEN,
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_API_ENDPOINT: ENDPOINT,
    NODE_EXTRA_CA_CERTS: bundle,
    HTTPS_PROXY: `https://kf:${PASSWORD}@127.0.0.1:${proxy.port}`,
  };
  const one = await runCli(['purge', 'key', 'k1'], env);
  assert.equal(one.code, 0, one.stderr);
  const many = await runCli(['purge', 'keys', 'a', 'b'], env);
  assert.equal(many.code, 0, many.stderr);
  assert.deepEqual(
    proxy.seen.map((c) => c.target),
    ['api.fastly.test:443', 'api.fastly.test:443'],
  );
  assert.equal(proxy.seen[0]?.auth, basic('kf', PASSWORD));
});

test('purge url --verify fetches the edge through the proxy too, like curl', async (t) => {
  const { s, proxy, env } = await setup(t);
  s.seedObject('https://www.example.com/pricing', ['pricing']);
  const r = await cli.run(['purge', 'url', 'https://www.example.com/pricing', '--verify'], {
    ...env,
    HTTPS_PROXY: proxy.url,
    KESTRA_FASTLY_EDGE_ENDPOINT: 'https://www.fastly.test',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /X-Cache: MISS/);
  assert.deepEqual(
    proxy.seen.map((c) => c.target),
    ['api.fastly.test:443', 'www.fastly.test:443'],
  );
});

const FLOW = (options: string) => `id: proxied
namespace: company.ops
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Key
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    surrogateKey: k1
${options}`;

test('run: a flow goes through HTTPS_PROXY; options.proxy applies with no variable set, wins over one, and DIRECT ignores it', async (t) => {
  const { proxy, env } = await setup(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-proxy-flow-'));
  const b64 = (v: string) => Buffer.from(v).toString('base64');
  const flowEnv = {
    SECRET_FASTLY_API_TOKEN: b64(TOKEN),
    SECRET_PROXY_PASSWORD: b64(PASSWORD),
    FASTLY_API_ENDPOINT: ENDPOINT,
    NODE_EXTRA_CA_CERTS: env.NODE_EXTRA_CA_CERTS,
  };
  const write = async (name: string, options: string) => {
    const file = join(dir, name);
    await writeFile(file, FLOW(options));
    return file;
  };
  const plain = await write('plain.yml', '');
  const viaEnv = await cli.run(['run', plain, '--json'], { ...flowEnv, HTTPS_PROXY: proxy.url });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.equal(proxy.seen.length, 1);

  const withOptions = await write(
    'options.yml',
    `    options:
      proxy:
        type: HTTP
        address: 127.0.0.1
        port: ${proxy.port}
        username: kf
        password: "{{ secret('PROXY_PASSWORD') }}"
`,
  );
  const viaOptions = await cli.run(['run', withOptions, '--json'], flowEnv);
  assert.equal(viaOptions.code, 0, viaOptions.stderr);
  assert.doesNotMatch(viaOptions.stderr, /not applied/);
  assertNoSecrets(viaOptions, 'options.proxy');
  assert.deepEqual(proxy.seen[1], { target: 'api.fastly.test:443', auth: basic('kf', PASSWORD) });
  // options.proxy wins over a variable naming a proxy that is down.
  const wins = await cli.run(['run', withOptions, '--json'], {
    ...flowEnv,
    HTTPS_PROXY: 'http://127.0.0.1:1',
  });
  assert.equal(wins.code, 0, wins.stderr);
  assert.equal(proxy.seen.length, 3);

  // The older top-level names.
  const older = await write(
    'older.yml',
    `    options:
      proxyType: HTTP
      proxyAddress: 127.0.0.1
      proxyPort: ${proxy.port}
`,
  );
  const viaOlder = await cli.run(['run', older, '--json'], flowEnv);
  assert.equal(viaOlder.code, 0, viaOlder.stderr);
  assert.equal(proxy.seen.length, 4);

  // DIRECT: no proxy although HTTPS_PROXY names one; api.fastly.test is then looked up, and does not resolve.
  const direct = await write('direct.yml', '    options:\n      proxy:\n        type: DIRECT\n');
  const viaDirect = await cli.run(['run', direct], { ...flowEnv, HTTPS_PROXY: proxy.url });
  assert.equal(viaDirect.code, 1, viaDirect.stderr);
  assert.match(viaDirect.stderr, /api\.fastly\.test/);
  assert.equal(proxy.seen.length, 4);
});

test('options.proxy: SOCKS, a missing port or a bad address are refused at validation in one line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-proxy-bad-'));
  const cases: [string, RegExp][] = [
    [
      '      proxy:\n        type: SOCKS\n        address: 127.0.0.1\n        port: 1080\n',
      /^error: [^\n]*options\.proxy\.type: got "SOCKS"; SOCKS proxies are not supported; expected DIRECT or HTTP[^\n]*\n$/,
    ],
    [
      '      proxy:\n        address: proxy.example.com\n',
      /^error: [^\n]*options\.proxy\.port: [^\n]*an HTTP proxy needs its port[^\n]*\n$/,
    ],
    [
      '      proxyType: HTTP\n      proxyAddress: http://proxy.example.com\n      proxyPort: 3128\n',
      /^error: [^\n]*options\.proxyAddress: got "http:\/\/proxy\.example\.com"; expected a host name or IP address[^\n]*\n$/,
    ],
    [
      // A number would be its text, as in Kestra; a list is no password.
      `      proxy:\n        address: proxy.example.com\n        port: 3128\n        password: [12345]\n`,
      /^error: [^\n]*options\.proxy\.password: is invalid \(value hidden\); expected string\n$/,
    ],
  ];
  for (const [i, [options, message]] of cases.entries()) {
    const file = join(dir, `bad${i}.yml`);
    await writeFile(
      file,
      FLOW(`    options:\n${options}`).replace(`"{{ secret('FASTLY_API_TOKEN') }}"`, 'tok'),
    );
    const r = await cli.run(['validate', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /12345/);
  }
});

test('NO_PROXY: a matching entry sends the request direct (api.fastly.test then does not resolve); others still go through', async (t) => {
  const { proxy, env } = await setup(t);
  for (const noProxy of [
    'fastly.test',
    '.fastly.test',
    'api.fastly.test:443',
    '*',
    'example.com, API.Fastly.Test',
  ]) {
    const r = await cli.run(['purge', 'key', 'k1', '--max-attempts', '1'], {
      ...env,
      HTTPS_PROXY: proxy.url,
      NO_PROXY: noProxy,
    });
    assert.equal(r.code, 1, `${noProxy}: ${r.stderr}`);
    assert.match(r.stderr, /^error: purgeKey failed: [^\n]*api\.fastly\.test[^\n]*\n$/, noProxy);
  }
  assert.equal(proxy.seen.length, 0);
  for (const noProxy of ['example.com', 'api.fastly.test:8443', 'test.fastly.test', '10.0.0.0/8']) {
    const r = await cli.run(['purge', 'key', 'k1'], { ...env, HTTPS_PROXY: proxy.url, no_proxy: noProxy });
    assert.equal(r.code, 0, `${noProxy}: ${r.stderr}`);
  }
  assert.equal(proxy.seen.length, 4);
});

test('a loopback endpoint is never proxied, whatever HTTPS_PROXY, HTTP_PROXY and NO_PROXY say', async (t) => {
  const { s, proxy } = await setup(t);
  const port = new URL(s.url).port;
  for (const endpoint of [s.url, `http://localhost:${port}`]) {
    for (const args of [
      ['purge', 'key', 'k1'],
      ['purge', 'keys', 'a', 'b'],
      ['stats', 'regions'],
    ]) {
      const r = await cli.run(args, {
        FASTLY_API_TOKEN: TOKEN,
        FASTLY_SERVICE_ID: SERVICE,
        FASTLY_API_ENDPOINT: endpoint,
        HTTPS_PROXY: proxy.url,
        HTTP_PROXY: proxy.url,
        NO_PROXY: 'example.com',
      });
      assert.equal(r.code, 0, `${endpoint} ${args.join(' ')}: ${r.stderr}`);
    }
  }
  assert.equal(proxy.seen.length, 0);
});

test('a proxy that refuses the tunnel: 407 fails at once in one line (exit 1), 502 is retried like an API 5xx', async (t) => {
  const { s, proxy, env, withAuth } = await setup(t, (n) =>
    n === 1 ? '407 Proxy Authentication Required' : n === 2 ? '502 Bad Gateway' : 'tunnel',
  );
  for (const args of [['purge', 'key', 'k1']]) {
    const r = await cli.run(args, { ...env, HTTPS_PROXY: withAuth });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      `error: purgeKey failed: proxy 127.0.0.1:${proxy.port} refused the tunnel to api.fastly.test:443: HTTP 407 Proxy Authentication Required (PROXY_407)\n`,
    );
    assertNoSecrets(r, '407');
  }
  assert.equal(proxy.seen.length, 1, 'a 407 is not retried');
  const retried = await cli.run(['purge', 'keys', 'a', 'b', '--debug'], { ...env, HTTPS_PROXY: withAuth });
  assert.equal(retried.code, 0, retried.stderr);
  assert.match(
    retried.stderr,
    /retry purgeKeys #1 in \d+ ms: proxy 127\.0\.0\.1:\d+ refused the tunnel to api\.fastly\.test:443: HTTP 502 Bad Gateway/,
  );
  assertNoSecrets(retried, '502 --debug');
  assert.equal(proxy.seen.length, 3);
  assert.equal(requests(s, `/service/${SERVICE}/purge`).length, 1);
});

test('a refusal through the node:http pool (purge keys, a 403) is named the same way', async (t) => {
  const { proxy, env } = await setup(t, () => '403 Forbidden');
  const r = await cli.run(['purge', 'keys', 'a', 'b'], { ...env, HTTPS_PROXY: proxy.url });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^error: purge\\.Keys: 0 of 2 keys purged[^\\n]*proxy 127\\.0\\.0\\.1:${proxy.port} refused the tunnel to api\\.fastly\\.test:443: HTTP 403 Forbidden \\(PROXY_403\\)[^\\n]*\\n$`,
    ),
  );
  assert.equal(proxy.seen.length, 1);
});

test('a proxy that is down: one line naming it, exit 1, no password', async () => {
  const closed = createNetServer();
  const port = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const env = {
    FASTLY_API_TOKEN: TOKEN,
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_API_ENDPOINT: ENDPOINT,
    HTTPS_PROXY: `http://kf:${PASSWORD}@127.0.0.1:${port}`,
  };
  const key = await cli.run(['purge', 'key', 'k1', '--max-attempts', '1'], env);
  assert.equal(key.code, 1);
  assert.equal(
    key.stderr,
    `error: purgeKey failed: cannot connect to proxy 127.0.0.1:${port}: connection refused (ECONNREFUSED)\n`,
  );
  const stats = await cli.run(['stats', 'regions', '--max-attempts', '1', '--debug'], env);
  assert.equal(stats.code, 1);
  assert.match(
    stats.stderr,
    new RegExp(`cannot connect to proxy 127\\.0\\.0\\.1:${port}: connection refused \\(ECONNREFUSED\\)\\n$`),
  );
  for (const r of [key, stats]) assertNoSecrets(r, 'proxy down');
});

test('a bad proxy URL or a socks5:// one: one line naming the variable, password masked, exit 2, nothing sent', async (t) => {
  const s = await sim(t);
  const cases: [Record<string, string>, string][] = [
    [
      { HTTPS_PROXY: `socks5://kf:${PASSWORD}@127.0.0.1:1080` },
      'error: HTTPS_PROXY: "socks5://kf:***@127.0.0.1:1080": the socks5 scheme is not supported (only HTTP proxies are); expected http://[user:password@]host:port or https://…\n',
    ],
    [
      { https_proxy: `http://kf:${PASSWORD}@` },
      'error: https_proxy: "http://kf:***@": not a URL; expected http://[user:password@]host:port or https://…\n',
    ],
    [
      { HTTPS_PROXY: `http://kf:${PASSWORD}@proxy.example.com:3128/path` },
      'error: HTTPS_PROXY: "http://kf:***@proxy.example.com:3128/path": a proxy URL has no path or query; expected http://[user:password@]host:port or https://…\n',
    ],
    [
      { HTTPS_PROXY: 'http://proxy.example.com:99999' },
      'error: HTTPS_PROXY: "http://proxy.example.com:99999": not a URL; expected http://[user:password@]host:port or https://…\n',
    ],
  ];
  for (const [vars, stderr] of cases) {
    for (const args of [
      ['purge', 'key', 'k1'],
      ['purge', 'keys', 'a'],
      ['stats', 'regions'],
    ]) {
      const r = await cli.run(args, {
        FASTLY_API_TOKEN: TOKEN,
        FASTLY_SERVICE_ID: SERVICE,
        FASTLY_API_ENDPOINT: ENDPOINT,
        ...vars,
      });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, stderr, args.join(' '));
      assertNoSecrets(r, 'bad URL');
    }
  }
  assert.equal(s.log.length, 0);
});

test('Ctrl-C while the proxy sits on the CONNECT exits 130 at once (purge key: one-shot; stats regions: node:http)', async (t) => {
  const { proxy, env } = await setup(t, () => 'hang');
  for (const args of [
    ['purge', 'key', 'k1'],
    ['stats', 'regions'],
  ]) {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env, HTTPS_PROXY: proxy.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await once(proxy.events, 'connect');
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /interrupted by SIGINT/);
  }
});

test('--timeout covers a CONNECT the proxy never answers (both transports)', async (t) => {
  const { proxy, env } = await setup(t, () => 'hang');
  for (const [args, prefix] of [
    [['purge', 'key', 'k1'], 'error: purgeKey failed'],
    [['stats', 'regions'], 'error: statsRegions failed'],
  ] as const) {
    const r = await cli.run([...args, '--timeout', '300', '--max-attempts', '1'], {
      ...env,
      HTTPS_PROXY: proxy.url,
    });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `${prefix}: no complete answer within 300 ms (TIMEOUT)\n`);
  }
  assert.equal(proxy.seen.length, 2);
});

test('NO_PROXY matching follows Go (golang.org/x/net/http/httpproxy)', () => {
  const cases: [string, string, string, boolean][] = [
    // [NO_PROXY, host, port, bypassed]
    ['', 'api.fastly.com', '443', false],
    ['', 'localhost', '443', true],
    ['', '127.0.0.1', '443', true],
    ['', '127.1.2.3', '80', true],
    ['', '::1', '443', true],
    ['', '::ffff:127.0.0.1', '443', true],
    ['', '128.0.0.1', '443', false],
    ['*', 'api.fastly.com', '443', true],
    ['fastly.com', 'api.fastly.com', '443', true],
    ['fastly.com', 'fastly.com', '443', true],
    ['fastly.com', 'notfastly.com', '443', false],
    ['.fastly.com', 'api.fastly.com', '443', true],
    ['.fastly.com', 'fastly.com', '443', false],
    ['*.fastly.com', 'api.fastly.com', '443', true],
    ['*.fastly.com', 'fastly.com', '443', false],
    ['fastly.com:443', 'api.fastly.com', '443', true],
    ['fastly.com:80', 'api.fastly.com', '443', false],
    ['FASTLY.COM', 'api.fastly.com', '443', true],
    [' a.com , fastly.com ', 'api.fastly.com', '443', true],
    ['10.0.0.0/8', '10.1.2.3', '443', true],
    ['10.0.0.0/8', '11.1.2.3', '443', false],
    ['10.0.0.0/8:80', '10.1.2.3', '443', true],
    ['192.168.1.5', '192.168.1.5', '443', true],
    ['192.168.1.5:80', '192.168.1.5', '443', false],
    ['2001:db8::/32', '2001:db8::1', '443', true],
    ['2001:db8::/32', '2001:db9::1', '443', false],
    ['[2001:db8::1]:443', '2001:db8::1', '443', true],
    ['2001:db8::1', '[2001:db8::1]', '443', true],
    ['10.0.0.0/8', 'ten.example', '443', false],
  ];
  for (const [noProxy, host, port, bypassed] of cases) {
    assert.equal(noProxyMatcher(noProxy)(host, port), bypassed, `NO_PROXY=${noProxy} ${host}:${port}`);
  }
});

test('NO_PROXY properties: a domain entry matches it and every subdomain, a dotted one only subdomains, never a lookalike', () => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
  fc.assert(
    fc.property(
      fc.array(label, { minLength: 1, maxLength: 3 }),
      label,
      label,
      (domainLabels, sub, prefix) => {
        const domain = domainLabels.join('.');
        if (/^[\d.]+$/.test(domain)) return; // an IP address, not a domain
        const plain = noProxyMatcher(domain);
        const dotted = noProxyMatcher(`.${domain}`);
        assert.ok(plain(domain, '443') && plain(`${sub}.${domain}`, '443'));
        assert.ok(!dotted(domain, '443') && dotted(`${sub}.${domain}`, '443'));
        // "xfastly.com" is not under "fastly.com".
        assert.ok(!plain(`${prefix}${domain}`, '443') || domain === 'localhost');
        assert.ok(noProxyMatcher(`${domain}, *`)(`${prefix}.other`, '1'));
      },
    ),
  );
  // CIDR: an address is in a /n block exactly when its first n bits are the block's.
  fc.assert(
    fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), (net, ip, bits) => {
      const num = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
      const inBlock = Math.floor(num(ip) / 2 ** (32 - bits)) === Math.floor(num(net) / 2 ** (32 - bits));
      const loopback = ip.startsWith('127.');
      assert.equal(noProxyMatcher(`${net}/${bits}`)(ip, '443'), inBlock || loopback);
    }),
  );
});

test('proxy policies: HTTPS_PROXY for https, HTTP_PROXY for http (no fallback between them), the URL parsed with credentials kept out of its text', () => {
  const policy = envProxyPolicy({ HTTPS_PROXY: 'http://u:p%40ss@proxy:3128', http_proxy: 'other:8080' });
  const https = policy(new URL('https://api.fastly.com'));
  assert.equal(https?.label, 'proxy:3128');
  assert.equal(https?.authorization, basic('u', 'p@ss'));
  assert.equal(String(https), 'http://***@proxy:3128');
  assert.equal(JSON.stringify({ https }), '{"https":"http://***@proxy:3128"}');
  assert.equal(policy(new URL('http://www.example.com'))?.label, 'other:8080');
  assert.equal(envProxyPolicy({ HTTP_PROXY: 'proxy:1' })(new URL('https://api.fastly.com')), undefined);
  assert.equal(maskProxyUrl('http://u:p@ss/w@proxy:3128'), 'http://u:***@proxy:3128');
  assert.equal(maskProxyUrl('u:secret@proxy:3128'), 'u:***@proxy:3128');
  assert.equal(maskProxyUrl('http://proxy:3128'), 'http://proxy:3128');
  assert.throws(() => parseProxyUrl('http://u:%zz@proxy:3128', 'HTTPS_PROXY'), {
    name: 'InvalidInputError',
    message:
      'HTTPS_PROXY: "http://u:***@proxy:3128": its user name or password is not valid percent-encoding; expected http://[user:password@]host:port or https://…',
  });
  assert.equal(parseProxyUrl('https://[::1]:8443', 'X').label, '[::1]:8443');
  assert.equal(parseProxyUrl('proxy.example.com', 'X').port, 80);
});

test('an http target through a proxy is sent to it in absolute form (all three ways out), with Proxy-Authorization', async (t) => {
  const seen: string[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(`${req.method} ${req.url} host=${req.headers.host} auth=${req.headers['proxy-authorization']}`);
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  const port = await listen(server);
  t.after(() => server.close());
  const proxy = parseProxyUrl(`http://kf:${PASSWORD}@127.0.0.1:${port}`, 'HTTP_PROXY');
  const req = {
    origin: 'http://www.example.test',
    path: '/a?b=1',
    method: 'GET',
    headers: { accept: '*/*' },
    proxy,
  };
  const pooled = new HttpTransport();
  t.after(() => pooled.close());
  assert.equal((await pooled.request(req)).body.toString(), '{"ok":true}');
  assert.equal((await new OneShotTransport().request(req)).status, 200);
  assert.equal((await requestHeaders(req)).status, 200);
  const line = `GET http://www.example.test/a?b=1 host=www.example.test auth=${basic('kf', PASSWORD)}`;
  assert.deepEqual(seen, [line, line, line]);
  // A forwarding proxy that is down is named as the proxy.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const transport of [new HttpTransport(), new OneShotTransport()]) {
    await assert.rejects(transport.request(req), {
      code: 'ECONNREFUSED',
      proxy: `127.0.0.1:${port}`,
      message: `connection refused by proxy 127.0.0.1:${port}`,
    });
  }
});

// ── http.Request and the notification tasks (Slack, Teams, Discord) take the same way out ──

const SLACK_SECRET = 'T0AAA/B0BBB/sl4ckHookSecret';
const b64 = (v: string) => Buffer.from(v).toString('base64');

interface Received {
  host: string | undefined;
  method: string;
  path: string;
  auth: string | undefined;
  body: string;
}

/**
 * An https receiver for api.fastly.test and www.fastly.test (names that do not resolve: reached only
 * through the proxy's tunnel). `/redirect` answers 302, everything else 200 with two set-cookies.
 */
async function httpsReceiver(t: TestContext) {
  const received: Received[] = [];
  const server = createHttpsServer(
    {
      key: await readFile(new URL('api.fastly.test-key.pem', TLS)),
      cert: await readFile(new URL('api.fastly.test-cert.pem', TLS)),
    },
    (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        received.push({
          host: req.headers.host,
          method: req.method ?? '',
          path: req.url ?? '',
          auth: req.headers.authorization,
          body,
        });
        if (req.url === '/redirect') {
          res.writeHead(302, { location: 'https://api.fastly.test/elsewhere' });
          res.end();
          return;
        }
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      });
    },
  );
  const port = await listen(server);
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port, received };
}

const NOTIFY_FLOW = (requestOptions = '') => `id: notify
namespace: company.ops
tasks:
  - id: post
    type: io.kestra.plugin.core.http.Request
    uri: https://api.fastly.test/events
    method: POST
    headers:
      Authorization: "Bearer {{ secret('TRACKER_TOKEN') }}"
    body:
      event: purged
${requestOptions}  - id: moved
    type: io.kestra.plugin.core.http.Request
    uri: https://api.fastly.test/redirect
  - id: slack
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: "{{ secret('SLACK_WEBHOOK_URL') }}"
    payload: '{"text": "purged: {{ outputs.post.code }} {{ outputs.post.headers[''set-cookie''][1] }}"}'
`;

async function notifySetup(t: TestContext, answer?: (n: number) => string) {
  const front = await httpsReceiver(t);
  const proxy = await connectProxy(t, front.port, answer);
  const dir = await mkdtemp(join(tmpdir(), 'kf-proxy-notify-'));
  const file = async (text: string) => {
    const path = join(dir, `flow${Math.random().toString(36).slice(2)}.yml`);
    await writeFile(path, text);
    return path;
  };
  const env = {
    NODE_EXTRA_CA_CERTS: API_CERT,
    SECRET_TRACKER_TOKEN: b64(TOKEN),
    SECRET_PROXY_PASSWORD: b64(PASSWORD),
    SECRET_SLACK_WEBHOOK_URL: b64(`https://www.fastly.test/services/${SLACK_SECRET}`),
  };
  return { front, proxy, file, env, withAuth: `http://kf:${PASSWORD}@127.0.0.1:${proxy.port}` };
}

/** The run's `error:` line (log lines come before it): exactly one, and the last line. */
function errorLine(r: { stderr: string }): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.filter((l) => l.startsWith('error: ')).length, 1, r.stderr);
  return `${lines.at(-1) ?? ''}\n`;
}

function assertNothingSecret(r: { stdout: string; stderr: string }, what: string) {
  assertNoSecrets(r, what);
  for (const secret of ['sl4ckHookSecret', '/services/']) {
    assert.ok(
      !r.stdout.includes(secret) && !r.stderr.includes(secret),
      `${what}: the webhook URL was printed`,
    );
  }
}

test('run: http.Request and a Slack notification go through HTTPS_PROXY (CONNECT with Proxy-Authorization, TLS checked against the target); redirects not followed; header lists kept', async (t) => {
  const { front, proxy, file, env, withAuth } = await notifySetup(t);
  const flow = await file(NOTIFY_FLOW());
  const r = await cli.run(['run', flow, '--json'], { ...env, HTTPS_PROXY: withAuth });
  assert.equal(r.code, 0, r.stderr);
  assertNothingSecret(r, 'run --json');
  const outputs = taskOutputs(JSON.parse(r.stdout) as object) as {
    post: { code: number; headers: Record<string, string[]> };
    moved: { code: number };
  };
  assert.equal(outputs.post.code, 200);
  assert.deepEqual(outputs.post.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(outputs.moved.code, 302);
  assert.deepEqual(
    proxy.seen.map((c) => [c.target, c.auth]),
    [
      ['api.fastly.test:443', basic('kf', PASSWORD)],
      ['api.fastly.test:443', basic('kf', PASSWORD)],
      ['www.fastly.test:443', basic('kf', PASSWORD)],
    ],
  );
  assert.deepEqual(
    front.received.map((x) => [x.host, x.method, x.path]),
    [
      ['api.fastly.test', 'POST', '/events'],
      ['api.fastly.test', 'GET', '/redirect'],
      ['www.fastly.test', 'POST', `/services/${SLACK_SECRET}`],
    ],
  );
  assert.equal(front.received[0]?.auth, `Bearer ${TOKEN}`);
  assert.deepEqual(JSON.parse(front.received[0]?.body ?? ''), { event: 'purged' });
  assert.deepEqual(JSON.parse(front.received[2]?.body ?? ''), { text: 'purged: 200 b=2' });
});

test('run: http.Request options.proxy applies with no variable set and wins over one; NO_PROXY sends the Slack call direct', async (t) => {
  const { front, proxy, file, env } = await notifySetup(t);
  const flow = await file(
    NOTIFY_FLOW(`    options:
      proxy:
        address: 127.0.0.1
        port: ${proxy.port}
        username: kf
        password: "{{ secret('PROXY_PASSWORD') }}"
`),
  );
  // HTTPS_PROXY names a proxy that is down: options.proxy wins for `post`; `moved` and `slack` use it.
  const down = await cli.run(['run', flow], { ...env, HTTPS_PROXY: 'http://127.0.0.1:1' });
  assert.equal(down.code, 1, down.stderr);
  assert.match(
    errorLine(down),
    /^error: execution \S+ of company\.ops\.notify FAILED at task 'moved': GET https:\/\/api\.fastly\.test\/redirect: cannot connect to proxy 127\.0\.0\.1:1: connection refused \(ECONNREFUSED\)\n$/,
  );
  assert.deepEqual(proxy.seen, [{ target: 'api.fastly.test:443', auth: basic('kf', PASSWORD) }]);
  assert.equal(front.received.length, 1);
  // NO_PROXY names the webhook's host: Slack is called direct, and www.fastly.test does not resolve.
  const bypass = await cli.run(['run', flow, '--json'], {
    ...env,
    HTTPS_PROXY: proxy.url,
    NO_PROXY: 'www.fastly.test',
  });
  assert.equal(bypass.code, 1, bypass.stderr);
  assert.match(
    errorLine(bypass),
    /^error: execution \S+ of company\.ops\.notify FAILED at task 'slack': Slack webhook \(URL hidden\): request failed \((?:ENOTFOUND|EAI_AGAIN)\)\n$/,
  );
  assertNothingSecret(bypass, 'NO_PROXY');
  assert.deepEqual(
    proxy.seen.map((c) => c.target),
    ['api.fastly.test:443', 'api.fastly.test:443', 'api.fastly.test:443'],
  );
});

test('run: loopback receivers are never proxied, whatever HTTPS_PROXY, HTTP_PROXY, NO_PROXY or options.proxy say; notification options apply', async (t) => {
  const { proxy, file } = await notifySetup(t);
  const r = await receiver(t);
  const flow = await file(`id: local
namespace: company.ops
tasks:
  - id: get
    type: io.kestra.plugin.core.http.Request
    uri: ${r.url}/events
    options:
      proxy:
        address: 127.0.0.1
        port: ${proxy.port}
  - id: slack
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: "{{ secret('LOCAL_HOOK') }}"
    payload: '{"text": "x"}'
    options:
      connectTimeout: PT5S
      readTimeout: PT10S
      maxContentLength: 1000
      headers:
        X-Trace: abc
        Content-Type: text/plain
  - id: teams
    type: io.kestra.plugin.notifications.teams.TeamsIncomingWebhook
    url: "${r.url.replace('127.0.0.1', 'localhost')}/webhookb2/x"
    payload: '{"text": "x"}'
`);
  const run = await cli.run(['run', flow], {
    SECRET_LOCAL_HOOK: b64(`${r.url}/services/${SLACK_SECRET}`),
    HTTPS_PROXY: proxy.url,
    HTTP_PROXY: proxy.url,
    NO_PROXY: 'example.com',
  });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(
    r.received.map((x) => x.path),
    ['/events', `/services/${SLACK_SECRET}`, '/webhookb2/x'],
  );
  // Kestra's notification options: headers and timeouts applied, the rest reported as not applied.
  assert.equal(r.received[1]?.headers['x-trace'], 'abc');
  assert.equal(r.received[1]?.headers['content-type'], 'application/json');
  assert.match(run.stderr, /options\.maxContentLength: accepted for the Java plugin's flows but not applied/);
  assert.doesNotMatch(run.stderr, /options\.(connectTimeout|readTimeout|headers)/);
  assert.equal(proxy.seen.length, 0);
});

test('run: a proxy that refuses (407) or is down fails the task in one line naming the proxy and the task, exit 1; no webhook URL or password shown', async (t) => {
  const { front, proxy, file, env, withAuth } = await notifySetup(
    t,
    () => '407 Proxy Authentication Required',
  );
  const slackOnly = await file(`id: notify
namespace: company.ops
tasks:
  - id: slack
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: "{{ secret('SLACK_WEBHOOK_URL') }}"
    payload: '{"text": "x"}'
`);
  const refused = await cli.run(['run', slackOnly], { ...env, HTTPS_PROXY: withAuth });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(
    errorLine(refused),
    new RegExp(
      `^error: execution \\S+ of company\\.ops\\.notify FAILED at task 'slack': Slack webhook \\(URL hidden\\): proxy 127\\.0\\.0\\.1:${proxy.port} refused the tunnel: HTTP 407 Proxy Authentication Required \\(PROXY_407\\)\\n$`,
    ),
  );
  assert.doesNotMatch(refused.stderr, /fastly\.test/);
  assertNothingSecret(refused, '407');
  assert.deepEqual(proxy.seen, [{ target: 'www.fastly.test:443', auth: basic('kf', PASSWORD) }]);

  // An http:// target is sent to the proxy itself (absolute form): its 407 is named the same way.
  const plain = await file(`id: plain
namespace: company.ops
tasks:
  - id: get
    type: io.kestra.plugin.core.http.Request
    uri: http://tracker.fastly.test/events
`);
  const refusedHttp = await cli.run(['run', plain], { HTTP_PROXY: withAuth });
  assert.equal(refusedHttp.code, 1, refusedHttp.stderr);
  assert.match(
    errorLine(refusedHttp),
    new RegExp(
      `^error: execution \\S+ of company\\.ops\\.plain FAILED at task 'get': GET http://tracker\\.fastly\\.test/events: proxy 127\\.0\\.0\\.1:${proxy.port} refused the request: HTTP 407 Proxy Authentication Required\\n$`,
    ),
  );
  assertNothingSecret(refusedHttp, 'http 407');
  assert.deepEqual(proxy.seen[1], {
    target: 'not a CONNECT: GET http://tracker.fastly.test/events HTTP/1.1',
    auth: basic('kf', PASSWORD),
  });

  const closed = createNetServer();
  const port = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const down = await cli.run(['run', slackOnly, '--json'], {
    ...env,
    HTTPS_PROXY: `http://kf:${PASSWORD}@127.0.0.1:${port}`,
  });
  assert.equal(down.code, 1, down.stderr);
  assert.match(
    errorLine(down),
    new RegExp(
      `^error: execution \\S+ of \\S+ FAILED at task 'slack': Slack webhook \\(URL hidden\\): cannot connect to proxy 127\\.0\\.0\\.1:${port}: connection refused \\(ECONNREFUSED\\)\\n$`,
    ),
  );
  assertNothingSecret(down, 'proxy down');
  assert.equal(front.received.length, 0);
});

test('run: a CONNECT the proxy never answers is bounded by the Request options timeout', async (t) => {
  const { proxy, file, env } = await notifySetup(t, () => 'hang');
  const flow = await file(`id: slow
namespace: company.ops
tasks:
  - id: get
    type: io.kestra.plugin.core.http.Request
    uri: https://api.fastly.test/events
    options:
      timeout:
        connectTimeout: PT0.2S
        readIdleTimeout: PT0.2S
`);
  const r = await cli.run(['run', flow], { ...env, HTTPS_PROXY: proxy.url });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    errorLine(r),
    /^error: execution \S+ of \S+ FAILED at task 'get': GET https:\/\/api\.fastly\.test\/events: no answer within 400 ms\n$/,
  );
  assert.equal(proxy.seen.length, 1);
});
