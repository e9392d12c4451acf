import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { StateDirLock } from '../src/runtime/state-lock.js';
import { cliHost } from './cli-host.js';
import { everySecond, HOOK_FLOW, runCli, sim } from './helpers.js';
import { REALISTIC_LATENCY, ServerProcess } from './server-process.js';

// The server's state folder (--state-dir) and its lock (src/runtime/state-lock.ts), as a user meets them.

/**
 * The refusals after the first (which runs the shipped bin, for its real exit status) in one CLI
 * host: each is a `kestra-fastly server` that ends before it starts, a process apart from the
 * lock's holder either way.
 */
const cli = cliHost();

const started = /schedule company\.ops\.\w+\.tick: slot \S+ started execution/g;

/** This process's start time as /proc shows it: what a server writes in its lock beside its pid. */
function ownStartTime(): string {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
}

test('a second server on the same --state-dir refuses (exit 1, one line naming the holder); after kill -9 a restart takes the stale lock', async (t) => {
  const s = await sim(t, { faults: REALISTIC_LATENCY });
  const dir = await mkdtemp(join(tmpdir(), 'kf-lock-'));
  await writeFile(join(dir, 'tick.yml'), everySecond('tick'));
  const state = join(dir, 'state');
  const env = { FASTLY_API_ENDPOINT: s.url };
  const args = [join(dir, 'tick.yml'), '--state-dir', state];

  const first = new ServerProcess(args, env);
  t.after(() => first.child.kill('SIGKILL'));
  await first.waitFor(/HTTP API on/);
  const second = await runCli(['server', ...args, '--listen', '127.0.0.1:0'], env);
  assert.equal(second.code, 1, second.stderr);
  assert.equal(
    second.stderr,
    `error: --state-dir: ${state} is in use by another server (pid ${first.child.pid}); expected a state folder no other server is using\n`,
  );
  assert.equal(second.stdout, '');
  // The first one keeps firing, alone.
  await first.waitForCount(started, 2);

  await first.stop('SIGKILL');
  assert.ok(existsSync(join(state, 'server.lock')), 'kill -9 leaves the lock behind');
  const third = new ServerProcess(args, env);
  t.after(() => third.child.kill('SIGKILL'));
  await third.waitForCount(started, 1);
  const fourth = await cli.run(['server', ...args, '--listen', '127.0.0.1:0'], env);
  assert.equal(fourth.code, 1, fourth.stderr);
  assert.match(fourth.stderr, new RegExp(`in use by another server \\(pid ${third.child.pid}\\)`));
  assert.equal(await third.stop(), 0, third.output);
  assert.ok(!existsSync(join(state, 'server.lock')), 'a stopped server removes its lock');
});

test('a lock whose pid now belongs to another process (pid reuse) is stale; one with the live holder’s start time is not', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-lock-reuse-'));
  await writeFile(join(dir, 'tick.yml'), everySecond('tick'));
  const state = join(dir, 'state');
  await mkdir(state);
  const args = [join(dir, 'tick.yml'), '--state-dir', state];
  // This test's own pid is alive; written with the wrong start time, it is a dead server's pid reused.
  await writeFile(join(state, 'server.lock'), JSON.stringify({ pid: process.pid, started: '1' }));
  const server = new ServerProcess(args, {});
  t.after(() => server.child.kill('SIGKILL'));
  await server.waitFor(/HTTP API on/);
  assert.equal(await server.stop(), 0, server.output);

  await writeFile(join(state, 'server.lock'), JSON.stringify({ pid: process.pid, started: ownStartTime() }));
  const refused = await cli.run(['server', ...args, '--listen', '127.0.0.1:0']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(
    refused.stderr,
    new RegExp(`^error: --state-dir: .* in use by another server \\(pid ${process.pid}\\)`),
  );
  // A lock cut short by a crash while it was written is stale too.
  await writeFile(join(state, 'server.lock'), '{"pid": 12');
  const again = new ServerProcess(args, {});
  t.after(() => again.child.kill('SIGKILL'));
  await again.waitFor(/HTTP API on/);
  assert.equal(await again.stop(), 0, again.output);
});

test('a --state-dir that is a file, under a file or not creatable is one line naming --state-dir and the reason (exit 2)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-statedir-'));
  await writeFile(join(dir, 'hook.yml'), HOOK_FLOW);
  const afile = join(dir, 'afile');
  await writeFile(afile, 'x');
  for (const [stateDir, reason] of [
    [afile, 'it is a file, not a folder'],
    [join(afile, 'sub'), 'a part of its path is a file, not a folder'],
    ['/sys/nope', 'EPERM: operation not permitted'],
  ] as const) {
    const r = await cli.run([
      'server',
      join(dir, 'hook.yml'),
      '--state-dir',
      stateDir,
      '--listen',
      '127.0.0.1:0',
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `error: --state-dir: ${stateDir} cannot be used (${reason}); expected a folder the server can create and write\n`,
    );
  }
});

test('a lock held by a killed server its parent has not reaped yet (a zombie) is stale', async (t) => {
  // `sh` starts a child and becomes `sleep`, which never reaps it: the child ends as a zombie.
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.after(() => parent.kill('SIGKILL'));
  const [line] = (await once(parent.stdout, 'data')) as [Buffer];
  const pid = Number(line.toString().trim());
  const stat = () => readFileSync(`/proc/${pid}/stat`, 'utf8');
  while (stat().slice(stat().lastIndexOf(')') + 2)[0] !== 'Z') await new Promise((r) => setImmediate(r));
  const started = stat()
    .slice(stat().lastIndexOf(')') + 2)
    .split(' ')[19];

  const state = await mkdtemp(join(tmpdir(), 'kf-lock-zombie-'));
  await writeFile(join(state, 'server.lock'), JSON.stringify({ pid, started }));
  const lock = StateDirLock.acquire(state);
  t.after(() => lock.release());
  const holder = JSON.parse(readFileSync(join(state, 'server.lock'), 'utf8')) as { pid: number };
  assert.equal(holder.pid, process.pid);
});
