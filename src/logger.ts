import { type LogEvent, logEvents } from './diagnostics.js';
import type { Clock } from './clock.js';
import { InvalidInputError } from './errors.js';
import { type Level, LEVELS } from './levels.js';
import { Masker } from './masker.js';

/** What tasks and the scheduler log through; any object with these four methods will do. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Reads a --log-level flag (case-insensitive). */
export function parseLevel(value: string, flag = '--log-level'): Level {
  const up = value.toUpperCase();
  if (!(LEVELS as readonly string[]).includes(up)) {
    throw new InvalidInputError(`${flag}: "${value}" is not a level; expected ${LEVELS.join(', ')}`, flag);
  }
  return up as Level;
}

export interface LoggerOptions {
  level?: Level;
  json?: boolean;
  masker?: Masker;
  write?: (line: string) => void;
  /** Fields added to every JSON line (flow id, task id...). */
  fields?: Record<string, string>;
  /** Also given every line written, masked (an execution's log kept by the server). */
  onLine?: (level: Level, message: string, time: string) => void;
}

export interface LogLine {
  level: Level;
  message: string;
}

/** A logger that masks secrets in every line and writes text or JSON lines (stderr by default). */
export function createLogger(
  options: LoggerOptions = {},
): Logger & { log(level: Level, message: string): void } {
  const min = LEVELS.indexOf(options.level ?? 'INFO');
  const masker = options.masker ?? new Masker();
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (level: Level, message: string) => {
    if (LEVELS.indexOf(level) < min) return;
    const text = masker.mask(message);
    options.onLine?.(level, text, new Date().toISOString());
    if (logEvents.hasSubscribers) {
      const event: LogEvent = {
        time: new Date().toISOString(),
        level,
        message: text,
        fields: options.fields ?? {},
      };
      logEvents.publish(event);
    }
    if (options.json) {
      write(JSON.stringify({ time: new Date().toISOString(), level, ...options.fields, message: text }));
    } else {
      const prefix = options.fields?.task ? `[${options.fields.task}] ` : '';
      write(`${new Date().toISOString()} ${level.padEnd(5)} ${prefix}${text}`);
    }
  };
  return {
    log,
    debug: (m) => log('DEBUG', m),
    info: (m) => log('INFO', m),
    warn: (m) => log('WARN', m),
    error: (m) => log('ERROR', m),
  };
}

/** What an OutageLog says, in its owner's words. */
export interface OutageLines {
  /** The first failure. */
  first(error: string): string;
  /** Failures go on `forMs` after the first (`failures` in all so far). */
  still(error: string, forMs: number, failures: number): string;
  /** It worked again, `forMs` after the first failure. */
  back(forMs: number, failures: number): string;
}

/**
 * One WARN line per outage rather than one per failed attempt (a loop a few times a second against
 * a database that is down): the first failure, then at most one line every `everyMs` while failures
 * go on, and one INFO line when an attempt works again.
 */
export class OutageLog {
  readonly #logger: Logger;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #lines: OutageLines;
  readonly #everyMs: number;
  #since: number | undefined;
  #lastLine = 0;
  #failures = 0;

  constructor(logger: Logger, clock: Pick<Clock, 'now'>, lines: OutageLines, everyMs = 30_000) {
    this.#logger = logger;
    this.#clock = clock;
    this.#lines = lines;
    this.#everyMs = everyMs;
  }

  /** Whether the last attempt failed. */
  get failing(): boolean {
    return this.#since !== undefined;
  }

  failed(error: string): void {
    const now = this.#clock.now();
    this.#failures++;
    if (this.#since === undefined) {
      this.#since = now;
      this.#lastLine = now;
      this.#logger.warn(this.#lines.first(error));
    } else if (now - this.#lastLine >= this.#everyMs) {
      this.#lastLine = now;
      this.#logger.warn(this.#lines.still(error, now - this.#since, this.#failures));
    }
  }

  worked(): void {
    if (this.#since === undefined) return;
    this.#logger.info(this.#lines.back(this.#clock.now() - this.#since, this.#failures));
    this.#since = undefined;
    this.#failures = 0;
  }
}
