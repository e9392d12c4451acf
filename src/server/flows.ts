import { statSync } from 'node:fs';
import { InvalidInputError } from '../errors.js';
import { checkDuplicateIds, type Flow, loadFlowFile } from '../flow/load.js';
import { flowFiles } from '../flow/scheduler.js';
import type { Logger } from '../logger.js';

/**
 * The flows the server serves, by namespace and id, re-read when their files change (at most
 * once a second, on demand). An invalid edit is logged and the previous version kept.
 */
export class FlowRegistry {
  readonly #paths: string[];
  readonly #logger: Logger;
  readonly #now: () => number;
  #byFile = new Map<string, { mtime: number; flow: Flow }>();
  #lastScan = Number.NEGATIVE_INFINITY;
  /** Called with every flow (re)loaded: lets triggers re-read their properties. */
  onLoad: ((flow: Flow) => void) | undefined;

  constructor(paths: string[], logger: Logger, now: () => number = Date.now) {
    this.#paths = paths;
    this.#logger = logger;
    this.#now = now;
  }

  /** Reads changed files. At start-up (`initial`) every problem is thrown at once. */
  load(initial = false): void {
    this.#lastScan = this.#now();
    const files = flowFiles(this.#paths);
    const problems: string[] = [];
    for (const file of files) {
      let mtime: number;
      try {
        mtime = statSync(file).mtimeMs;
      } catch {
        continue;
      }
      if (this.#byFile.get(file)?.mtime === mtime) continue;
      try {
        const flow = loadFlowFile(file);
        this.onLoad?.(flow);
        this.#byFile.set(file, { mtime, flow });
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        if (initial) problems.push(err.message);
        else {
          // Remember the mtime so one bad edit is reported once.
          const old = this.#byFile.get(file);
          if (old) old.mtime = mtime;
          this.#logger.error(`${file} changed but is invalid; keeping the previous version: ${err.message}`);
        }
      }
    }
    for (const file of this.#byFile.keys()) if (!files.includes(file)) this.#byFile.delete(file);
    try {
      checkDuplicateIds(this.all());
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      if (initial) problems.push(err.message);
      else this.#logger.error(err.message);
    }
    if (problems.length) throw new InvalidInputError(problems.join('\n'));
  }

  /** Re-reads changed files if the last scan is over a second old. */
  refresh(): void {
    if (this.#now() - this.#lastScan < 1000) return;
    try {
      this.load();
    } catch (err) {
      this.#logger.error((err as Error).message);
    }
  }

  all(): Flow[] {
    return [...this.#byFile.values()].map((e) => e.flow);
  }

  find(namespace: string, id: string): Flow | undefined {
    this.refresh();
    return this.all().find((f) => f.namespace === namespace && f.id === id && !f.disabled);
  }
}
