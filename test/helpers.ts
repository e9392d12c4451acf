import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../src/clock.js';
import { PurgeCoordinator } from '../src/fastly/coordinator.js';
import { Simulator, type SimulatorOptions } from '../src/simulator/index.js';

/** The CLI as shipped: the bundle that package.json's bin points at. */
export const CLI = fileURLToPath(new URL('../bundle/main.cjs', import.meta.url));
export const SERVICE = 'SU1Z0isxPaozGVKXdv0eY';
export const SERVICE2 = '7i6HN3TK9wS159v2gPAZ8A';

export async function sim(t: TestContext, options: SimulatorOptions = {}): Promise<Simulator> {
  const s = await new Simulator(options).start();
  t.after(() => s.close());
  return s;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (or another of its bundles: `script`) to completion, in a child process with a clean environment plus `env`. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  input?: string,
  script = CLI,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** API requests in the simulator's log whose path starts with `prefix`. */
export function requests(s: Simulator, prefix: string) {
  return s.log.filter((e) => e.path.startsWith(prefix));
}

/**
 * Resolves once the simulator has logged `count` requests matching `match` (counting from now), or
 * rejects after `deadlineMs` (a hang detector, far above any real wait). An event, not a sleep.
 */
export function waitForRequests(
  s: Simulator,
  match: (path: string) => boolean,
  count: number,
  deadlineMs = 60_000,
): Promise<void> {
  const state = s.state;
  const original = state.record.bind(state);
  let seen = 0;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      state.record = original;
      reject(new Error(`the simulator saw ${seen} of ${count} awaited requests within ${deadlineMs} ms`));
    }, deadlineMs);
    state.record = (entry) => {
      original(entry);
      if (match(entry.path) && ++seen >= count) {
        clearTimeout(timer);
        state.record = original;
        resolve();
      }
    };
  });
}

/**
 * A clock on which every wait ends at once and the time jumps by the wait: the system time plus
 * every wait skipped so far. A client on it keeps its retry policy (budgets, `Retry-After`, resets)
 * without sitting out the waits.
 */
export function skippingClock(): Clock {
  let skipped = 0;
  const now = () => Date.now() + skipped;
  return {
    now,
    at(atMs, fn) {
      let live = true;
      skipped += Math.max(0, atMs - now());
      queueMicrotask(() => {
        if (live) fn();
      });
      return () => {
        live = false;
      };
    },
  };
}

/**
 * A `skippingClock` and a purge coordinator on it, to spread into a `FastlyClient`'s options: the
 * client keeps its retry policy and its account's purge budget (what a 429 taught it) without
 * sitting out a wait, and shares no budget with the other clients of the process.
 */
export function skipping(): { clock: Clock; purges: PurgeCoordinator } {
  const clock = skippingClock();
  return { clock, purges: new PurgeCoordinator({ clock }) };
}

/**
 * Each task's outputs in an execution as Kestra shows it: in its task runs (the execution's own
 * `outputs` are the flow's). By task id; inside a ForEach, by task id then iteration value.
 */
export function taskOutputs(ex: {
  taskRunList?: { taskId: string; value?: string; outputs?: unknown }[];
}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of ex.taskRunList ?? []) {
    if (r.outputs === undefined) continue;
    if (r.value === undefined) out[r.taskId] = r.outputs;
    else ((out[r.taskId] ??= {}) as Record<string, unknown>)[r.value] = r.outputs;
  }
  return out;
}

/** A flow with a Webhook (key `hook-key-123`) and an ARRAY input `keys`, which it logs. */
/** A flow `company.ops.ID` whose Schedule ticks every second and logs its slot. */
export const everySecond = (id: string) => `id: ${id}
namespace: company.ops
triggers:
  - id: tick
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "tick {{ trigger.date }}"
`;

export const HOOK_FLOW = `id: hook
namespace: company.cms
inputs:
  - id: keys
    type: ARRAY
    itemType: STRING
triggers:
  - id: on_publish
    type: io.kestra.plugin.core.trigger.Webhook
    key: hook-key-123
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.keys }}"
`;
