import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI } from './helpers.js';

/** A `kestra-fastly server` child process with its output captured. */
export class ServerProcess {
  readonly child: ChildProcess;
  #out = '';

  constructor(args: string[], env: Record<string, string>) {
    // A free port: servers of parallel tests must not compete for the default 127.0.0.1:8080.
    const listen = args.includes('--listen') ? [] : ['--listen', '127.0.0.1:0'];
    this.child = spawn(process.execPath, [CLI, 'server', ...args, ...listen], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d) => (this.#out += d));
    this.child.stderr?.on('data', (d) => (this.#out += d));
  }

  get output(): string {
    return this.#out;
  }

  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const start = Date.now();
    while (!pattern.test(this.#out)) {
      if (Date.now() - start > timeoutMs)
        throw new Error(`timed out waiting for ${pattern}; output:\n${this.#out}`);
      if (this.child.exitCode !== null)
        throw new Error(`server exited ${this.child.exitCode}:\n${this.#out}`);
      await sleep(25);
    }
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

export function triggerFlow(id: string, service: string, fireOn: string, extra = ''): string {
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
    interval: PT1S
    fireOn: ${fireOn}
${extra}tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ flow.id }}: {{ trigger.value }}"
`;
}
