import { type ChildProcess, spawn } from 'node:child_process';
import { CLI } from './helpers.js';

/** A `kestra-fastly server` child process with its output captured; unhandled rejections are fatal in it. */
export class ServerProcess {
  readonly child: ChildProcess;
  #out = '';
  readonly #waiters = new Set<() => void>();

  constructor(args: string[], env: Record<string, string>) {
    // A free port: servers of parallel tests must not compete for the default 127.0.0.1:8080.
    const listen = args.includes('--listen') ? [] : ['--listen', '127.0.0.1:0'];
    this.child = spawn(
      process.execPath,
      ['--unhandled-rejections=strict', CLI, 'server', ...args, ...listen],
      {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const take = (d: Buffer) => {
      this.#out += d.toString();
      for (const w of this.#waiters) w();
    };
    this.child.stdout?.on('data', take);
    this.child.stderr?.on('data', take);
    this.child.on('exit', () => {
      for (const w of this.#waiters) w();
    });
  }

  get output(): string {
    return this.#out;
  }

  /** Resolves when the output satisfies `test` (checked at each chunk); rejects at the deadline or if the server exits. */
  until(test: (output: string) => boolean, what: string, deadlineMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (test(this.#out)) done();
        else if (this.child.exitCode !== null || this.child.signalCode !== null)
          done(
            new Error(
              `server exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}:\n${this.#out}`,
            ),
          );
      };
      const timer = setTimeout(
        () => done(new Error(`no ${what} within ${deadlineMs} ms; output:\n${this.#out}`)),
        deadlineMs,
      );
      this.#waiters.add(check);
      check();
    });
  }

  waitFor(pattern: RegExp, deadlineMs?: number): Promise<void> {
    return this.until((out) => pattern.test(out), String(pattern), deadlineMs);
  }

  /** Waits until `pattern` (global) has matched `count` times. */
  waitForCount(pattern: RegExp, count: number, deadlineMs?: number): Promise<void> {
    return this.until(
      (out) => (out.match(pattern) ?? []).length >= count,
      `${count}× ${pattern}`,
      deadlineMs,
    );
  }

  exited(): Promise<number | null> {
    const c = this.child;
    return new Promise((resolve) =>
      c.exitCode !== null || c.signalCode !== null
        ? resolve(c.exitCode)
        : c.once('exit', (code) => resolve(code)),
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited();
  }
}

/** Realistic API latency for server tests: 100–300 ms. */
export const REALISTIC_LATENCY = { latencyMs: 100, latencyJitterMs: 200 };

export function triggerFlow(
  id: string,
  service: string,
  fireOn: string,
  extra = '',
  interval = 'PT1S',
): string {
  return `id: ${id}
namespace: soak
triggers:
  - id: t
    type: io.kestra.plugin.fastly.stats.StatsTrigger
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${service}
    field: status_5xx
    threshold: 50
    window: PT1H
    interval: ${interval}
    fireOn: ${fireOn}
${extra}tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ flow.id }}: {{ trigger.value }}"
`;
}
