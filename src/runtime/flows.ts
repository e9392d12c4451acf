import { statSync } from 'node:fs';
import { InvalidInputError } from '../errors.js';
import { checkDuplicateIds, type Flow, flowFileChange, flowFiles, loadFlowFile } from '../flow/load.js';
import type { Logger } from '../logger.js';

export interface FlowRegistryOptions {
  /** Log each change of a file (added, reloaded, invalid, removed); default true. */
  logChanges?: boolean;
  /** The environment triggers are polled with (a StatsTrigger below PT30S needs a loopback endpoint). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The flows the server serves, by namespace and id, re-read when their files change (at most
 * once a second, on demand). An invalid edit is reported once and the previous version kept.
 */
export class FlowRegistry {
  readonly #paths: string[];
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #logChanges: boolean;
  readonly #env: NodeJS.ProcessEnv | undefined;
  #byFile = new Map<string, { mtime: number; flow: Flow }>();
  /** The version (mtime) of each file last found invalid: reported once, not at every scan. */
  #rejected = new Map<string, number>();
  /** The duplicate-id problem last reported, so that it is reported once too. */
  #duplicates = '';
  #lastScan = Number.NEGATIVE_INFINITY;
  /** Called with every flow (re)loaded: lets triggers re-read their properties. */
  onLoad: ((flow: Flow) => void) | undefined;
  /** Called with all the flows after a scan that changed any (added, reloaded, removed). */
  onChange: ((flows: Flow[]) => void) | undefined;

  constructor(
    paths: string[],
    logger: Logger,
    now: () => number = Date.now,
    options: FlowRegistryOptions = {},
  ) {
    this.#paths = paths;
    this.#logger = logger;
    this.#now = now;
    this.#logChanges = options.logChanges ?? true;
    this.#env = options.env;
  }

  /** Reads changed files. At start-up (`initial`) every problem is thrown at once. */
  load(initial = false): void {
    this.#lastScan = this.#now();
    const files = flowFiles(this.#paths);
    const problems: string[] = [];
    let changed = false;
    for (const file of files) {
      let mtime: number;
      try {
        mtime = statSync(file).mtimeMs;
      } catch {
        continue;
      }
      const old = this.#byFile.get(file);
      if (old?.mtime === mtime || this.#rejected.get(file) === mtime) continue;
      try {
        const flow = loadFlowFile(file, this.#env ? { env: this.#env } : {});
        this.onLoad?.(flow);
        this.#byFile.set(file, { mtime, flow });
        changed = true;
        this.#rejected.delete(file);
        if (!initial && this.#logChanges) this.#logger.info(flowFileChange.loaded(file, old !== undefined));
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        if (initial) problems.push(err.message);
        else {
          this.#rejected.set(file, mtime);
          if (this.#logChanges)
            this.#logger.error(flowFileChange.invalid(file, old !== undefined, err.message));
        }
      }
    }
    for (const file of this.#byFile.keys()) {
      if (files.includes(file)) continue;
      this.#byFile.delete(file);
      changed = true;
      if (this.#logChanges) this.#logger.info(`removed ${file}: its triggers are stopped`);
    }
    for (const file of this.#rejected.keys()) if (!files.includes(file)) this.#rejected.delete(file);
    let duplicates = '';
    try {
      checkDuplicateIds(this.all());
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      duplicates = err.message;
      if (initial) problems.push(err.message);
      else if (duplicates !== this.#duplicates) this.#logger.error(err.message);
    }
    this.#duplicates = duplicates;
    if (problems.length) throw new InvalidInputError(problems.join('\n'));
    if (changed && !initial) this.onChange?.(this.all());
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
