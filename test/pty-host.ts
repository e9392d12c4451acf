/**
 * The CLI host (cli-host.ts) in a pseudo-terminal: one process under util-linux `script`, its
 * stdin, stdout and stderr the terminal, runs many `kestra-fastly` invocations, each as the bin
 * dispatches it. What a command draws (bars, the cursor hidden and shown) goes to the terminal
 * between two markers (OSC sequences a terminal ignores), so each invocation's screen is known. A
 * process under `script` has no IPC channel: the invocations come over a Unix socket.
 *
 * A process shows it has ended by exiting: an invocation is answered once its command has returned
 * and the event loop has emptied ('beforeExit', the host's own socket unref'd meanwhile), where a
 * process of its own would have exited. What would keep a process alive (a redraw timer, a server
 * or socket left open, stdin read and not paused) keeps the answer from coming: the caller's
 * deadline names the command.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { invoke, setEnv } from './cli-host.js';

const HOST = fileURLToPath(import.meta.url);
const mark = (what: 'start' | 'end', id: number) => `\x1b]7772;kf-${what}-${id}\x07`;

interface Invocation {
  id: number;
  args: string[];
  env: Record<string, string>;
}

interface Result {
  id: number;
  code: number;
}

export interface PtyHostRun {
  code: number;
  /** What the terminal showed of this invocation (stdout and stderr, as the user saw them). */
  screen: string;
}

export interface PtyHost {
  /**
   * Runs `kestra-fastly ...args` with PATH, HOME, TERM=xterm and `env`; rejects if it has not ended,
   * with nothing left to keep a process alive, within the host's deadline.
   */
  run(args: string[], env: Record<string, string>): Promise<PtyHostRun>;
}

const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/**
 * Starts a host in a terminal of `size` (stty's words), stopped after test `t`, or after the file's
 * tests without one (call it at the top level then: `after` inside a test is that test's).
 */
export async function ptyHost(
  t: TestContext | undefined,
  size: string,
  deadlineMs: number,
): Promise<PtyHost> {
  const dir = await mkdtemp(join(tmpdir(), 'kf-pty-host-'));
  const path = join(dir, 'host.sock');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const child = spawn(
    'script',
    ['-qec', `stty ${size}; exec ${q(process.execPath)} ${q(HOST)} ${q(path)}`, '/dev/null'],
    {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let screen = '';
  /**
   * The screen since the invocation under way was sent (they run one at a time): searched for its
   * markers on every chunk, where searching the whole screen made each chunk cost all that came before.
   */
  let current = '';
  let exited: Error | undefined;
  const waiting = new Set<() => void>();
  const changed = () => {
    for (const w of waiting) w();
  };
  const shown = (d: Buffer) => {
    const text = d.toString();
    screen += text;
    current += text;
    changed();
  };
  child.stdout.on('data', shown);
  child.stderr.on('data', shown);
  child.on('close', (code, signal) => {
    exited = new Error(`the pty host exited (${signal ?? code}) before answering:\n${screen}`);
    changed();
  });
  const socket = await new Promise<Socket>((resolve, reject) => {
    server.once('connection', resolve);
    child.once('close', () => reject(exited ?? new Error('the pty host exited')));
  });
  const results = new Map<number, Result>();
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buffered += d;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const r = JSON.parse(buffered.slice(0, i)) as Result;
      buffered = buffered.slice(i + 1);
      results.set(r.id, r);
    }
    changed();
  });
  (t ? t.after.bind(t) : after)(async () => {
    socket.end();
    if (child.exitCode === null && child.signalCode === null)
      await new Promise((resolve) => child.once('close', resolve));
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  let next = 0;
  let queue = Promise.resolve();
  return {
    run(args, env) {
      const id = ++next;
      const result = queue.then(
        () =>
          new Promise<PtyHostRun>((resolve, reject) => {
            const check = () => {
              const r = results.get(id);
              const end = r ? current.indexOf(mark('end', id)) : -1;
              if (r && end >= 0) {
                done();
                const start = current.indexOf(mark('start', id)) + mark('start', id).length;
                resolve({ code: r.code, screen: current.slice(start, end) });
              } else if (exited) {
                done();
                reject(exited);
              }
            };
            const timer = setTimeout(() => {
              done();
              reject(
                new Error(
                  `hung: kestra-fastly ${args.join(' ')} did not end within ${deadlineMs} ms\n${screen}`,
                ),
              );
            }, deadlineMs);
            const done = () => {
              clearTimeout(timer);
              waiting.delete(check);
            };
            waiting.add(check);
            current = '';
            const invocation: Invocation = {
              id,
              args,
              env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm', ...env },
            };
            socket.write(`${JSON.stringify(invocation)}\n`);
          }),
      );
      queue = result.then(
        () => undefined,
        () => undefined,
      );
      return result;
    },
  };
}

/** The host's side, under `script`: each invocation from the socket, one at a time. */
function host(path: string): void {
  // Each command guards stdout again (an 'error' listener): not a leak here.
  process.stdout.setMaxListeners(0);
  process.stderr.setMaxListeners(0);
  const socket = createConnection(path);
  socket.setEncoding('utf8');
  socket.on('close', () => process.exit(0));
  let buffered = '';
  let queue = Promise.resolve();
  const cwd = process.cwd();
  const runOne = async ({ id, args, env }: Invocation) => {
    process.chdir(cwd);
    setEnv(env);
    socket.unref();
    process.stdout.write(mark('start', id));
    const { code } = await invoke(args, false);
    // Emitted once nothing is left to run: where the command's own process would have exited.
    await new Promise<void>((resolve) =>
      process.once('beforeExit', () => {
        socket.ref();
        resolve();
      }),
    );
    process.stdout.write(mark('end', id));
    socket.write(`${JSON.stringify({ id, code } satisfies Result)}\n`);
  };
  socket.on('data', (d: string) => {
    buffered += d;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const invocation = JSON.parse(buffered.slice(0, i)) as Invocation;
      buffered = buffered.slice(i + 1);
      queue = queue.then(() => runOne(invocation));
    }
  });
}

if (process.argv[1] === HOST) host(process.argv[2] as string);
