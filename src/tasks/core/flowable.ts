import { z } from 'zod';
import { InvalidInputError } from '../../errors.js';
import type { NestedRun, RunState } from '../task.js';

/** Tasks nested in a flowable; each is loaded and validated as a task of its own by the flow loader. */
export const subtasks = z.array(z.record(z.string(), z.unknown())).min(1);

/** The worst of several states: KILLED, FAILED, then WARNING, else SUCCESS. */
function worst(states: RunState[]): RunState {
  if (states.includes('KILLED')) return 'KILLED';
  if (states.includes('FAILED')) return 'FAILED';
  return states.includes('WARNING') ? 'WARNING' : 'SUCCESS';
}

/** Runs `jobs` at most `limit` at a time (0: all at once); every job runs, even after a failure. */
export async function pool(jobs: (() => Promise<RunState>)[], limit: number): Promise<RunState> {
  const states: RunState[] = [];
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) states.push(await (jobs[next++] as () => Promise<RunState>)());
  };
  await Promise.all(Array.from({ length: limit > 0 ? Math.min(limit, jobs.length) : jobs.length }, lane));
  return worst(states);
}

/** A rendered count property (`concurrent`, `concurrencyLimit`): a whole number ≥ 0, `fallback` when absent. */
export function wholeNumber(nested: NestedRun, property: string, fallback: number): number {
  const raw = nested.render(property);
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < 0)
    throw new InvalidInputError(
      `${nested.where}.${property}: ${String(v)} is not allowed; expected a whole number ≥ 0`,
    );
  return v;
}
