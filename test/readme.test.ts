/**
 * The README is executable: every fenced `sh` block runs here, in order, as one shell session in a
 * scratch folder, against a simulator. What the harness changes is listed in README.md
 * ("Development") and in `substitute` below; nothing else is rewritten.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ServerMetrics } from '../src/server/metrics.js';
import { cliHost } from './cli-host.js';
import { CLI, sim } from './helpers.js';
import { installed, packed } from './support/package.js';
import { postgresForFile } from './support/postgres.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOKEN = 'readme-token';
const pgsql = postgresForFile();
/** A hang detector, far above any real run. */
const DEADLINE_MS = 600_000;

/** The fenced sh/bash/shell blocks of a Markdown text, each as its list of command lines. */
export function shellBlocks(markdown: string): string[][] {
  const blocks: string[][] = [];
  const fence = /^```(sh|bash|shell)\s*\n([\s\S]*?)^```/gm;
  for (const m of markdown.matchAll(fence)) {
    const lines: string[] = [];
    let pending = '';
    for (const raw of (m[2] ?? '').split('\n')) {
      const line = pending + raw;
      if (line.endsWith('\\')) {
        pending = `${line.slice(0, -1)} `;
        continue;
      }
      pending = '';
      if (line.trim() && !line.trim().startsWith('#')) lines.push(line.trim());
    }
    blocks.push(lines);
  }
  return blocks;
}

/**
 * The README's ports, the simulator's (8787) and the servers' (8080; 8081 and 8082 for the
 * replicas), each made a free port of its own.
 */
const README_PORTS = ['8787', '8080', '8081', '8082'] as const;
type Ports = Record<(typeof README_PORTS)[number], number>;
const README_PORT = new RegExp(`\\b(${README_PORTS.join('|')})\\b`, 'g');

/** The README's PostgreSQL, `127.0.0.1:5432`: the test's own cluster (port set once it runs). */
let postgresPort = 0;

/** The README's install, which the harness does not run: the suite has installed the package once. */
const INSTALL = /^npm install --global (\.\/kestra-plugin-fastly-\*\.tgz)$/;

/** The harness's only rewrites (README.md, "Development", says the same). */
function substitute(line: string, ports: Ports, tarball: string): string | undefined {
  let l = line.replaceAll('…', TOKEN).replaceAll('127.0.0.1:5432', `127.0.0.1:${postgresPort}`);
  // One pass: a free port put in for one README port is never read again as another.
  l = l.replace(README_PORT, (p) => String(ports[p as keyof Ports]));
  l = l.replace(/^npm ci && /, '').replace(/^npm run build && /, '');
  // The install from a clone (the scratch folder is not the clone): the suite's one `npm pack` of
  // this build is put where the README's `npm pack` writes it, and its one `npm install --global`
  // of that tarball (test/support/package.ts) stands for the README's, whose glob must name that
  // one file.
  l = l.replace(/^npm pack\b/, `cp '${tarball}' .`).replace(INSTALL, 'test -f $1');
  if (/^npm test\b/.test(l)) return undefined;
  return l.replace(/^npm run demo\b/, 'kestra-fastly demo');
}

/**
 * A command the harness runs in its CLI host (cli-host.ts: the command's code in one process, as
 * the bin dispatches it), not as a process: a plain `kestra-fastly` command. A process is kept for
 * what only one shows: a long-running command (it gets SIGINT), a pipe or redirection, and
 * `kestra-fastly --version`, the README's check that the installed bin runs.
 */
const inHost = (line: string) =>
  /^kestra-fastly\s/.test(line) &&
  !LONG_RUNNING.some(([cmd]) => cmd.test(line)) &&
  !/[|&;<>`]|\$\(/.test(line) &&
  !/^kestra-fastly --version\b/.test(line);

/** The words bash makes of `text` (quotes, `$VAR`, globs), in `cwd` with `env`. */
function words(text: string, cwd: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  if (!text.trim()) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['--norc', '--noprofile', '-c', `printf '%s\\0' ${text}`],
      { cwd, env },
      (err, stdout) =>
        err
          ? reject(new Error(`bash cannot read ${text}: ${err.message}`))
          : resolve(stdout.split('\0').slice(0, -1)),
    );
  });
}

/** A command that runs until interrupted, and the line it prints once ready. */
const LONG_RUNNING: [RegExp, RegExp][] = [
  [/^kestra-fastly simulator\b/, /listening on/],
  [/^kestra-fastly server\b/, /HTTP API on/],
];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Run {
  code: number | null;
  output: string;
}

function shell(
  line: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn('bash', ['--norc', '--noprofile', '-o', 'pipefail', '-c', line], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const done = new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`README command still running after ${DEADLINE_MS} ms: ${line}\n${output}`));
    }, DEADLINE_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
  done.catch(() => {});
  return { child, done };
}

/** Resolves once `pattern` appears in the child's output; rejects if the child ends first. */
function ready(child: ChildProcess, run: Promise<Run>, pattern: RegExp, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const check = (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) resolve();
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    run.then(
      (r) => reject(new Error(`${line}: ended (exit ${r.code}) before it was ready:\n${r.output}`)),
      reject,
    );
  });
}

/**
 * The ports a newcomer following the README binds: the simulator's (`--port`, default 8787, and
 * the `FASTLY_API_ENDPOINT` pointing at it) and the server's (`--listen`, default 8080), each with
 * the README lines using it. The harness gives every block free ports, so it cannot see two
 * sections that would collide on one machine; this can.
 */
export function portCollisions(markdown: string): string[] {
  const simulator = new Map<string, string>();
  const server = new Map<string, string>();
  for (const line of shellBlocks(markdown).flat()) {
    if (/^kestra-fastly simulator\b/.test(line))
      simulator.set(/--port[ =](\d+)/.exec(line)?.[1] ?? '8787', line);
    for (const m of line.matchAll(/FASTLY_API_ENDPOINT=https?:\/\/[^:/\s]+:(\d+)/g))
      simulator.set(m[1] as string, line);
    if (/^kestra-fastly server\b/.test(line))
      server.set(/--listen[ =]\S*:(\d+)/.exec(line)?.[1] ?? '8080', line);
  }
  return [...server]
    .filter(([port]) => simulator.has(port))
    .map(([port, line]) => `port ${port}: ${simulator.get(port)} / ${line}`);
}

test('the README never has the simulator and the server on one port (followed together: EADDRINUSE)', async () => {
  assert.deepEqual(portCollisions(await readFile(join(ROOT, 'README.md'), 'utf8')), []);
  // What it catches: the README as it once was.
  const collided = [
    '```sh\nkestra-fastly simulator --port 8787\nexport FASTLY_API_ENDPOINT=http://127.0.0.1:8787\n```',
    '```sh\nkestra-fastly server examples/ --listen 127.0.0.1:8787\n```',
    '```sh\nkestra-fastly server examples/\nkestra-fastly simulator --port 8080\n```',
  ].join('\n');
  assert.deepEqual(
    portCollisions(collided).map((c) => c.split(':')[0]),
    ['port 8787', 'port 8080'],
  );
});

test("the README's /metrics table is one table and names every family the server exports", async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const lines = readme.slice(readme.indexOf('`/metrics` (Prometheus text format')).split('\n').slice(1);
  const start = lines.findIndex((l) => l.startsWith('|'));
  const end = lines.findIndex((l, i) => i > start && !l.startsWith('|'));
  const table = lines.slice(start, end);
  // A blank line inside it would end the table: its last rows would print as text.
  assert.ok(
    !lines.slice(end, end + 3).some((l) => l.startsWith('| `kestra_fastly_')),
    'rows after the table',
  );
  const named = table.flatMap((row) => {
    const cell = row.split(' | ')[0] ?? '';
    const full = [...cell.matchAll(/`(kestra_fastly_\w+)`/g)].map((m) => m[1] as string);
    // `…_firings_total` after `kestra_fastly_trigger_evaluations_total`: the same prefix.
    const short = [...cell.matchAll(/`…_(\w+)`/g)].map((m) => m[1] as string);
    return [...full, ...short.map((x) => `${full[0] ?? ''}…_${x}`)];
  });
  const metrics = new ServerMetrics({ processMetrics: false });
  const exported = [...(await metrics.text()).matchAll(/^# TYPE (kestra_fastly_\w+)/gm)].map(
    (m) => m[1] as string,
  );
  metrics.close();
  const documents = (name: string) =>
    named.some((n) => {
      if (!n.includes('…_')) return n === name;
      const [head = '', tail = ''] = n.split('…_');
      return name.endsWith(`_${tail}`) && head.startsWith(name.slice(0, name.length - tail.length - 1));
    });
  assert.deepEqual(
    exported.filter((name) => !documents(name)),
    [],
    'exported but not in the README table',
  );
  assert.ok(exported.length >= 20, String(exported.length));
});

test('every fenced shell command in README.md runs against the simulator and exits 0', async (t) => {
  const blocks = shellBlocks(await readFile(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(blocks.flat().length >= 20, 'the README has its commands');
  // The README's database: role and database `kestra` (the cluster trusts loopback: any password).
  const admin = new pg.Client({ connectionString: pgsql.cluster().url() });
  await admin.connect();
  await admin.query(`CREATE ROLE kestra LOGIN PASSWORD '${TOKEN}'`);
  await admin.query('CREATE DATABASE kestra OWNER kestra');
  await admin.end();
  postgresPort = pgsql.cluster().port;
  const s = await sim(t);
  const cli = cliHost(t, DEADLINE_MS);
  const dir = await mkdtemp(join(tmpdir(), 'kf-readme-'));
  await symlink(join(ROOT, 'examples'), join(dir, 'examples'));
  const bin = join(dir, '.bin');
  await mkdir(bin);
  await writeFile(join(bin, 'kestra-fastly'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  await chmod(join(bin, 'kestra-fastly'), 0o755);
  const { tarball } = await packed();
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? dir,
    FASTLY_API_ENDPOINT: s.url,
  };
  let global: string | undefined;
  let ran = 0;
  let hosted = 0;
  for (const block of blocks) {
    const ports = {} as Ports;
    for (const p of README_PORTS) {
      do ports[p] = await freePort();
      while (Object.values(ports).filter((q) => q === ports[p]).length > 1);
    }
    const background: { child: ChildProcess; done: Promise<Run>; line: string }[] = [];
    const before = { ...env };
    try {
      for (const original of block) {
        const line = substitute(original, ports, tarball);
        if (line === undefined) continue;
        if (line.startsWith('export ')) {
          // `export A=x B=y  # comment`: plain values, as the README writes them.
          for (const [, name, value] of line.replace(/\s#.*$/, '').matchAll(/([A-Z_][A-Z0-9_]*)=(\S*)/g))
            env[name as string] = value;
          continue;
        }
        ran++;
        const long = LONG_RUNNING.find(([cmd]) => cmd.test(line));
        let r: Run;
        if (inHost(line)) {
          hosted++;
          const vars = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
          const args = await words(line.slice('kestra-fastly'.length), dir, env);
          const h = await cli.run(args, vars as Record<string, string>, '', dir);
          r = { code: h.code, output: `${h.stdout}${h.stderr}` };
        } else {
          const run = shell(line, dir, env);
          if (long) {
            await ready(run.child, run.done, long[1], line);
            background.push({ ...run, line });
            continue;
          }
          r = await run.done;
        }
        assert.equal(r.code, 0, `README command failed (exit ${r.code}): ${original}\n${r.output}`);
        assert.ok(!/^\s+at .*\(.*:\d+:\d+\)$/m.test(r.output), `no stack trace: ${original}\n${r.output}`);
        // Once the README has installed the package, the commands after it run the installed
        // kestra-fastly (its bin first on PATH); those in the host run this build's code.
        if (INSTALL.test(original)) {
          global = (await installed()).bin;
          env.PATH = `${global}:${env.PATH ?? ''}`;
        }
      }
    } finally {
      for (const b of background) b.child.kill('SIGINT');
    }
    // What a block exported for the server or simulator it started goes with them.
    if (background.length) for (const k of Object.keys(env)) env[k] = before[k];
    for (const b of background) {
      const r = await b.done;
      assert.equal(
        r.code,
        0,
        `README command did not stop cleanly on SIGINT (exit ${r.code}): ${b.line}\n${r.output}`,
      );
    }
  }
  assert.ok(ran >= 20, `ran ${ran} README commands`);
  assert.ok(hosted >= 20 && hosted < ran, `${hosted} of ${ran} README commands in the CLI host`);
  // The files the README's commands write are there and whole.
  assert.match(await readFile(join(dir, 'backfill.csv'), 'utf8'), /^service_id,start_time,time,/);
  assert.equal(await readFile(join(dir, 'retry.txt'), 'utf8'), '');
  JSON.parse(await readFile(join(dir, 'kestra-fastly.schema.json'), 'utf8'));
  // The README's install steps installed the packed package.
  assert.ok(global, 'the README installs the package');
  await access(join(global, 'kestra-fastly'));
});
