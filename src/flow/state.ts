import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
  appendFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from '../files.js';
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
  /** The execution it started last (a polled trigger waits for it, across a restart too). */
  executionId?: string;
  /** Written by servers before the runtime's store: a firing not yet in the history (imported once). */
  pending?: { executionId: string; trigger: Record<string, unknown>; firedAt: string };
}

export interface ExecutionRecord {
  id: string;
  namespace: string;
  flowId: string;
  triggerId?: string;
  state: string;
  trigger?: Record<string, unknown>;
  /** Each task's outputs; absent when the outputs are kept in their own file (`outputsFile`). */
  outputs?: Record<string, unknown>;
  /** The flow's outputs (Kestra's execution `outputs`), when it declares some. */
  flowOutputs?: Record<string, unknown>;
  /** Outputs above OUTPUTS_INLINE_BYTES: their file, relative to the state folder, and their size. */
  outputsFile?: string;
  outputsBytes?: number;
  startDate: string;
  endDate: string;
  durationMs: number;
  error?: string;
}

/** Outputs serialized above this size go to `outputs/<execution-id>.json`; the history line keeps a reference. */
export const OUTPUTS_INLINE_BYTES = 256 * 1024;
/**
 * History lines above this size (written before outputs had their own file) are not parsed whole:
 * their small fields are read from the line's start and end, the outputs on demand.
 */
const LINE_PARSED_BYTES = 4 * 1024 * 1024;
const LINE_TAIL_BYTES = 64 * 1024;
const CHUNK_BYTES = 1024 * 1024;

/** Where a history record's outputs are when the record does not hold them. */
const LINE_AT = Symbol('line');
type LineAt = { offset: number; length: number };

const safeName = (key: string) => key.replace(/[^A-Za-z0-9._-]/g, '_');

/** The small fields of a history line too big to parse: from its start (up to `"outputs":`) and end. */
function recordFromEnds(head: string, tail: string): ExecutionRecord | undefined {
  let start: Record<string, unknown> | undefined;
  for (let i = head.indexOf(',"outputs":'); i >= 0 && !start; i = head.indexOf(',"outputs":', i + 1)) {
    try {
      start = JSON.parse(`${head.slice(0, i)}}`) as Record<string, unknown>;
    } catch {
      // a nested "outputs" key: try the next one
    }
  }
  let end: Record<string, unknown> | undefined;
  for (
    let i = tail.lastIndexOf(',"startDate":');
    i >= 0 && !end;
    i = tail.lastIndexOf(',"startDate":', i - 1)
  ) {
    try {
      end = JSON.parse(`{${tail.slice(i + 1)}`) as Record<string, unknown>;
    } catch {
      if (i === 0) break;
    }
  }
  if (!start || !end || typeof start.id !== 'string') return undefined;
  return { ...start, ...end } as unknown as ExecutionRecord;
}

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

  /** Appends a finished execution to the history; returns the line written. */
  record(ex: Execution, triggerId?: string): ExecutionRecord {
    const run = ex.taskRuns.find((r) => r.error);
    const rec: ExecutionRecord = {
      id: ex.id,
      namespace: ex.namespace,
      flowId: ex.flowId,
      ...(triggerId ? { triggerId } : {}),
      state: ex.state,
      ...(ex.trigger ? { trigger: ex.trigger } : {}),
      startDate: ex.startDate,
      endDate: ex.endDate,
      durationMs: Date.parse(ex.endDate) - Date.parse(ex.startDate),
      ...(run?.error ? { error: run.error } : {}),
    };
    const outputs = JSON.stringify(ex.outputs);
    const outputsBytes = Buffer.byteLength(outputs);
    if (outputsBytes <= OUTPUTS_INLINE_BYTES) rec.outputs = ex.outputs;
    else {
      // Written (temp + rename) before the line that points at it.
      rec.outputsFile = this.#outputsFile(ex.id);
      rec.outputsBytes = outputsBytes;
      mkdirSync(join(this.dir, 'outputs'), { recursive: true });
      writeAtomic(join(this.dir, rec.outputsFile), outputs);
    }
    const fd = openSync(this.historyFile, 'a');
    try {
      writeSync(fd, `${JSON.stringify(rec)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return rec;
  }

  #outputsFile(id: string): string {
    return join('outputs', `${safeName(id)}.json`);
  }

  /**
   * Finished executions, oldest first; a torn last line (crash mid-append) is skipped. Outputs kept
   * in their own file are not loaded (see `outputs()`), and a line too big to parse whole (an old
   * history's) is read by its ends only.
   */
  history(): ExecutionRecord[] {
    let fd: number;
    try {
      fd = openSync(this.historyFile, 'r');
    } catch {
      return [];
    }
    const out: ExecutionRecord[] = [];
    const damaged = () => this.#warn(`skipping a damaged line in ${this.historyFile}`);
    try {
      const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      let parts: Buffer[] = []; // the current line while it is small enough to parse
      let partsBytes = 0;
      let head: Buffer | undefined; // a huge line's start…
      let tail = Buffer.alloc(0); // …and its last bytes
      let lineStart = 0;
      let pos = 0;
      const endLine = (lineEnd: number) => {
        if (head) {
          const rec = recordFromEnds(head.toString('utf8'), tail.toString('utf8'));
          if (rec) {
            Object.defineProperty(rec, LINE_AT, {
              value: { offset: lineStart, length: lineEnd - lineStart },
            });
            out.push(rec);
          } else damaged();
        } else if (partsBytes) {
          const line = Buffer.concat(parts, partsBytes).toString('utf8');
          if (line.trim()) {
            try {
              out.push(JSON.parse(line) as ExecutionRecord);
            } catch {
              damaged();
            }
          }
        }
        parts = [];
        partsBytes = 0;
        head = undefined;
        tail = Buffer.alloc(0);
      };
      const add = (piece: Buffer) => {
        if (!piece.length) return;
        if (!head && partsBytes + piece.length <= LINE_PARSED_BYTES) {
          parts.push(Buffer.from(piece));
          partsBytes += piece.length;
          return;
        }
        if (!head) {
          head = Buffer.concat([...parts, piece]).subarray(0, LINE_PARSED_BYTES);
          parts = [];
          partsBytes = 0;
        }
        tail = Buffer.concat([tail, piece]);
        if (tail.length > LINE_TAIL_BYTES) tail = Buffer.from(tail.subarray(tail.length - LINE_TAIL_BYTES));
      };
      for (;;) {
        const n = readSync(fd, chunk, 0, CHUNK_BYTES, pos);
        if (n <= 0) break;
        let from = 0;
        for (let nl = chunk.indexOf(10, 0); nl >= 0 && nl < n; nl = chunk.indexOf(10, from)) {
          add(chunk.subarray(from, nl));
          endLine(pos + nl);
          from = nl + 1;
          lineStart = pos + from;
        }
        add(chunk.subarray(from, n));
        pos += n;
      }
      endLine(pos);
    } finally {
      closeSync(fd);
    }
    return out;
  }

  /** A record's outputs, read on demand when the history line does not hold them. */
  outputs(rec: ExecutionRecord): Record<string, unknown> | undefined {
    if (rec.outputs) return rec.outputs;
    try {
      if (rec.outputsFile)
        return JSON.parse(readFileSync(join(this.dir, rec.outputsFile), 'utf8')) as Record<string, unknown>;
      const at = (rec as { [LINE_AT]?: LineAt })[LINE_AT];
      if (!at) return undefined;
      const fd = openSync(this.historyFile, 'r');
      try {
        const buf = Buffer.allocUnsafe(at.length);
        readSync(fd, buf, 0, at.length, at.offset);
        return (JSON.parse(buf.toString('utf8')) as ExecutionRecord).outputs;
      } finally {
        closeSync(fd);
      }
    } catch {
      this.#warn(`the outputs of execution ${rec.id} cannot be read`);
      return undefined;
    }
  }

  /** Repairs a history file whose last line was cut by a crash, so the next append starts on a new line. */
  repairHistory(): void {
    let fd: number;
    try {
      fd = openSync(this.historyFile, 'r');
    } catch {
      return;
    }
    const last = Buffer.alloc(1);
    try {
      const size = fstatSync(fd).size;
      if (!size) return;
      readSync(fd, last, 0, 1, size - 1);
    } finally {
      closeSync(fd);
    }
    if (last[0] !== 10) appendFileSync(this.historyFile, '\n');
  }
}
