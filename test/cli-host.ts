/**
 * Many CLI invocations in one Node process: each goes through what the shipped bin runs (the purge
 * fast path, else commander with the command's module, the exit-code mapping), with its own
 * arguments, environment and stdin, its stdout and stderr captured. A test pays one process start
 * instead of one per invocation (~0.3 s each on a busy 2-core machine; the bad-input catalogue made
 * 150 of them). The host is a child process of the test, so the CLI's signal handlers, stdout guard
 * and environment never touch the test runner's; `runCli` (helpers.ts) stays the judge of what only
 * a process shows (its real exit status, a stack trace printed by Node itself).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { Readable } from 'node:stream';
import { after, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CliResult } from './helpers.js';

const HOST = fileURLToPath(import.meta.url);

interface Invocation {
  args: string[];
  env: Record<string, string>;
  stdin: string;
  cwd: string;
}

export interface HostResult extends CliResult {
  /** The purge fast path (purge-fast.ts) ran the command, not commander. */
  fastPath: boolean;
}

export interface CliHost {
  /**
   * Runs `kestra-fastly ...args` with a clean environment plus `env`, and `input` on stdin, as runCli
   * does; in folder `cwd` (default: the test's).
   */
  run(args: string[], env?: Record<string, string>, input?: string, cwd?: string): Promise<HostResult>;
}

export interface HostOptions {
  /**
   * Every command through commander with the whole command table, as the full bundle (cli.cjs) runs
   * it: no purge fast path. The bin takes the fast path for a plain purge.
   */
  commanderOnly?: boolean;
  /**
   * The host process's own environment, added to the test's: for what Node reads once at start-up
   * (NODE_EXTRA_CA_CERTS), which an invocation's `env` cannot change.
   */
  env?: Record<string, string>;
}

/**
 * Starts a host, stopped after test `t`, or after the file's tests without one. `deadlineMs` bounds
 * each invocation: one that has not ended by then (a command that never returns) fails the test,
 * naming it, instead of hanging the suite. A hang detector, far above any real run: the 35-day
 * minute report took 60 s in a suite run with coverage on a machine at a load average of 20.
 */
export function cliHost(t?: TestContext, deadlineMs = 600_000, options: HostOptions = {}): CliHost {
  interface Process {
    child: ChildProcess;
    exited?: Error;
    pending?: (r: HostResult | Error) => void;
  }
  const start = (): Process => {
    const child = fork(HOST, options.commanderOnly ? ['--commander-only'] : [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...options.env },
      // Outputs of megabytes: structured clone, not JSON inside JSON.
      serialization: 'advanced',
    });
    const p: Process = { child };
    child.on('exit', (code, signal) => {
      p.exited = new Error(`the CLI host exited (${signal ?? code}) before answering`);
      p.pending?.(p.exited);
    });
    child.on('message', (m) => p.pending?.(m as HostResult));
    return p;
  };
  const current = start();
  const stop = () => {
    if (current.child.connected) current.child.disconnect();
  };
  if (t) t.after(stop);
  else after(stop);
  let queue = Promise.resolve();
  return {
    run(args, env = {}, input = '', cwd = process.cwd()) {
      const invocation: Invocation = {
        args,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
        stdin: input,
        cwd,
      };
      const result = queue.then(
        () =>
          new Promise<HostResult>((resolve, reject) => {
            const p = current;
            if (p.exited) return reject(p.exited);
            const timer = setTimeout(() => {
              p.child.kill('SIGKILL');
              reject(new Error(`kestra-fastly ${args.join(' ')} did not end within ${deadlineMs} ms`));
            }, deadlineMs);
            p.pending = (r) => {
              clearTimeout(timer);
              p.pending = undefined;
              if (r instanceof Error) reject(r);
              else resolve(r);
            };
            p.child.send(invocation);
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

/**
 * Runs `kestra-fastly ...args` in this process as the bin dispatches it, with the process's
 * environment, stdin and cwd as they are; its exit status, and whether the purge fast path ran it.
 */
export async function invoke(
  args: string[],
  commanderOnly: boolean,
): Promise<{ code: number; fastPath: boolean }> {
  const { COMMANDS } = await import('../src/cli/command-table.js');
  const { main } = await import('../src/cli/program.js');
  const { purgeFast } = await import('../src/cli/purge-fast.js');
  const { echoFailures, formatFailures } = await import('../src/cli/exit.js');
  const { sharedTransport } = await import('../src/http/transport.js');
  // What a previous command left behind: a failure echo (the task command's), an exit code.
  echoFailures(() => {});
  formatFailures(undefined);
  process.exitCode = undefined;
  // As bin.ts picks its bundle: purge.cjs (fast path, else commander with only purge) or cli.cjs.
  const argv = [process.execPath, 'kestra-fastly', ...args];
  const name = args.find((a) => !a.startsWith('-'));
  const fast = name === 'purge' && !commanderOnly ? purgeFast(argv) : undefined;
  const code = await (fast ??
    (name === 'purge' && !commanderOnly
      ? main(argv, { purge: COMMANDS.purge as NonNullable<typeof COMMANDS.purge> })
      : main(argv, COMMANDS)));
  await new Promise((resolve) => setImmediate(resolve));
  // As exitWith does: a command may have set a failing exit code itself.
  const status = code === 0 ? Number(process.exitCode ?? 0) : code;
  // A process's keep-alive pool (and its proxy tunnels) ends with it: the next invocation opens its own.
  sharedTransport().close();
  process.exitCode = undefined;
  return { code: status, fastPath: fast !== undefined };
}

/** Makes `env` the whole of process.env. */
export function setEnv(env: Record<string, string>): void {
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, env);
}

/** The host's side: runs each invocation it is sent, one at a time, and sends back its result. */
function host(commanderOnly: boolean): void {
  let captured: { stdout: string; stderr: string } | undefined;
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = process[name];
    // Each command guards stdout again (an 'error' listener): not a leak here.
    stream.setMaxListeners(0);
    const write = stream.write.bind(stream);
    stream.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (!captured) return write(chunk, ...(rest as []));
      captured[name] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      if (done) process.nextTick(done);
      return true;
    };
  }
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m) => {
    const { args, env, stdin, cwd } = m as Invocation;
    process.chdir(cwd);
    setEnv(env);
    Object.defineProperty(process, 'stdin', {
      value: Readable.from(stdin ? [Buffer.from(stdin)] : []),
      configurable: true,
      writable: true,
    });
    captured = { stdout: '', stderr: '' };
    void invoke(args, commanderOnly).then(({ code, fastPath }) => {
      const out = captured ?? { stdout: '', stderr: '' };
      captured = undefined;
      process.send?.({ code, ...out, fastPath });
    });
  });
}

if (process.argv[1] === HOST) host(process.argv.includes('--commander-only'));
