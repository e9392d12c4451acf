import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
  appendFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Execution } from './executor.js';

/** What the server remembers of one trigger between evaluations and across restarts. */
export interface TriggerState {
  key: string;
  lastEvaluation?: string;
  lastValue?: number | null;
  lastMatched?: boolean;
  /** CROSSING: false once fired, until the condition is false again. */
  armed: boolean;
  fired: number;
  /** Epoch ms of the next evaluation. */
  nextDue?: number;
  failures: number;
  lastError?: string;
  /** Disabled by `stopAfter`. */
  stopped?: boolean;
  /** A firing recorded before its execution finished; replayed after a crash unless already in history. */
  pending?: { executionId: string; trigger: Record<string, unknown>; firedAt: string };
}

export interface ExecutionRecord {
  id: string;
  namespace: string;
  flowId: string;
  triggerId?: string;
  state: string;
  trigger?: Record<string, unknown>;
  outputs: Record<string, unknown>;
  startDate: string;
  endDate: string;
  durationMs: number;
  error?: string;
}

/** Writes a file so that a crash at any point leaves either the old or the new content. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

const safeName = (key: string) => key.replace(/[^A-Za-z0-9._-]/g, '_');

/** Trigger states (one JSON file each) and the execution history (one JSON line each) in a folder. */
export class StateStore {
  readonly dir: string;
  readonly #warn: (message: string) => void;

  constructor(dir: string, warn: (message: string) => void = () => {}) {
    this.dir = dir;
    this.#warn = warn;
    mkdirSync(join(dir, 'triggers'), { recursive: true });
  }

  get historyFile(): string {
    return join(this.dir, 'executions.jsonl');
  }

  load(key: string): TriggerState {
    const file = join(this.dir, 'triggers', `${safeName(key)}.json`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return { key, armed: true, fired: 0, failures: 0 };
    }
    try {
      const state = JSON.parse(text) as TriggerState;
      if (state.key !== key || typeof state.armed !== 'boolean' || typeof state.fired !== 'number')
        throw new Error('bad shape');
      return state;
    } catch {
      this.#warn(`state file ${file} is damaged; rebuilding it (the trigger starts armed)`);
      return { key, armed: true, fired: 0, failures: 0 };
    }
  }

  save(state: TriggerState): void {
    writeAtomic(
      join(this.dir, 'triggers', `${safeName(state.key)}.json`),
      `${JSON.stringify(state, null, 2)}\n`,
    );
  }

  record(ex: Execution, triggerId?: string): void {
    const run = ex.taskRuns.find((r) => r.error);
    const rec: ExecutionRecord = {
      id: ex.id,
      namespace: ex.namespace,
      flowId: ex.flowId,
      ...(triggerId ? { triggerId } : {}),
      state: ex.state,
      ...(ex.trigger ? { trigger: ex.trigger } : {}),
      outputs: ex.outputs,
      startDate: ex.startDate,
      endDate: ex.endDate,
      durationMs: Date.parse(ex.endDate) - Date.parse(ex.startDate),
      ...(run?.error ? { error: run.error } : {}),
    };
    const fd = openSync(this.historyFile, 'a');
    try {
      writeSync(fd, `${JSON.stringify(rec)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Finished executions, oldest first; a torn last line (crash mid-append) is skipped. */
  history(): ExecutionRecord[] {
    let text = '';
    try {
      text = readFileSync(this.historyFile, 'utf8');
    } catch {
      return [];
    }
    const out: ExecutionRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as ExecutionRecord);
      } catch {
        this.#warn(`skipping a damaged line in ${this.historyFile}`);
      }
    }
    return out;
  }

  /** Repairs a history file whose last line was cut by a crash, so the next append starts on a new line. */
  repairHistory(): void {
    let text: string;
    try {
      text = readFileSync(this.historyFile, 'utf8');
    } catch {
      return;
    }
    if (text.length && !text.endsWith('\n')) appendFileSync(this.historyFile, '\n');
  }
}
