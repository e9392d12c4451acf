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

/** A file's version that was refused: invalid, or a `namespace.id` that `first` already served. */
interface Rejected {
  mtime: number;
  duplicate?: { flow: Flow; first: string };
}

/**
 * The flows the server serves, by namespace and id, re-read when their files change (at most
 * once a second, on demand). An invalid edit, or a file repeating another's namespace and id, is
 * reported once and the previous version kept (a new file: not loaded).
 */
export class FlowRegistry {
  readonly #paths: string[];
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #logChanges: boolean;
  readonly #env: NodeJS.ProcessEnv | undefined;
  #byFile = new Map<string, { mtime: number; flow: Flow }>();
  /** The version (mtime) of each file last refused (invalid, or a duplicate): reported once, not at every scan. */
  #rejected = new Map<string, Rejected>();
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

  /**
   * Reads changed files. At start-up (`initial`) every problem is thrown at once. Running, a file
   * whose `namespace.id` another file already serves is refused as at start-up: not loaded (or,
   * edited, its previous version kept), one ERROR naming both files; the first keeps running.
   */
  load(initial = false): void {
    this.#lastScan = this.#now();
    const files = flowFiles(this.#paths);
    const problems: string[] = [];
    let changed = false;
    // Removed files first: a copy made as its original is deleted is the flow's one file now.
    for (const file of this.#byFile.keys()) {
      if (files.includes(file)) continue;
      this.#byFile.delete(file);
      changed = true;
      if (this.#logChanges) this.#logger.info(`removed ${file}: its triggers are stopped`);
    }
    for (const file of this.#rejected.keys()) if (!files.includes(file)) this.#rejected.delete(file);
    for (const file of files) {
      let mtime: number;
      try {
        mtime = statSync(file).mtimeMs;
      } catch {
        continue;
      }
      const old = this.#byFile.get(file);
      const rejected = this.#rejected.get(file);
      // A duplicate is tried again once the file it repeated no longer serves that flow.
      if (old?.mtime === mtime || (rejected?.mtime === mtime && !this.#moved(rejected, file))) continue;
      try {
        const flow = loadFlowFile(file, this.#env ? { env: this.#env } : {});
        const first = initial ? undefined : this.#servedBy(flow, file);
        if (first !== undefined) {
          this.#rejected.set(file, { mtime, duplicate: { flow, first } });
          if (this.#logChanges)
            this.#logger.error(
              flowFileChange.duplicate(file, old !== undefined, `${flow.namespace}.${flow.id}`, first),
            );
          continue;
        }
        this.onLoad?.(flow);
        this.#byFile.set(file, { mtime, flow });
        changed = true;
        this.#rejected.delete(file);
        if (!initial && this.#logChanges) this.#logger.info(flowFileChange.loaded(file, old !== undefined));
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        if (initial) problems.push(err.message);
        else {
          this.#rejected.set(file, { mtime });
          if (this.#logChanges)
            this.#logger.error(flowFileChange.invalid(file, old !== undefined, err.message));
        }
      }
    }
    if (initial) {
      try {
        checkDuplicateIds(this.all());
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        problems.push(err.message);
      }
    }
    if (problems.length) throw new InvalidInputError(problems.join('\n'));
    if (changed && !initial) this.onChange?.(this.all());
  }

  /** The other file that serves `flow`'s namespace and id, if one does. */
  #servedBy(flow: Flow, file: string): string | undefined {
    for (const [other, { flow: f }] of this.#byFile)
      if (other !== file && f.namespace === flow.namespace && f.id === flow.id) return other;
    return undefined;
  }

  /** Whether the flow a refused duplicate repeated is no longer served by the file it named. */
  #moved(rejected: Rejected, file: string): boolean {
    const d = rejected.duplicate;
    return d !== undefined && this.#servedBy(d.flow, file) !== d.first;
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
