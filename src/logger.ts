import { InvalidInputError } from './errors.js';
import { type LogEvent, logEvents } from './flow/events.js';

/** Log levels, least severe first (Kestra's). */
export const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type Level = (typeof LEVELS)[number];

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

function replaceAll(text: string, values: Set<string>): string {
  let out = text;
  for (const s of [...values].sort((a, b) => b.length - a.length)) out = out.split(s).join('******');
  return out;
}

/**
 * Replaces secrets (and their base64 forms) with `******`. Log lines hide every secret, as Kestra
 * does; an execution's values (outputs, inputs, trigger) hide every secret too, but object keys are
 * kept, so that e.g. a service id read from a secret does not blank out the keys of stats `data`.
 */
export class Masker {
  readonly #secrets = new Set<string>();
  readonly #credentials = new Set<string>();

  add(secret: string | undefined): void {
    // Values shorter than 3 characters would mask ordinary text.
    if (!secret || secret.length < 3) return;
    this.#secrets.add(secret);
    this.#secrets.add(Buffer.from(secret).toString('base64'));
  }

  addCredential(secret: string | undefined): void {
    this.add(secret);
    if (!secret || secret.length < 3) return;
    this.#credentials.add(secret);
    this.#credentials.add(Buffer.from(secret).toString('base64'));
  }

  /** For log lines and errors: every secret hidden. */
  mask(text: string): string {
    return replaceAll(text, this.#secrets);
  }

  /** A copy of `value` with every secret hidden inside its strings; object keys are left as they are. */
  maskValues<T>(value: T): T {
    if (this.#secrets.size === 0) return value;
    const secrets = [...this.#secrets].sort((a, b) => b.length - a.length);
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') {
        let out = v;
        for (const s of secrets) if (out.includes(s)) out = out.split(s).join('******');
        return out;
      }
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      }
      return v;
    };
    return walk(value) as T;
  }

  /** For printed text where keys must stay readable: credentials (API tokens) hidden. */
  maskCredentials(text: string): string {
    return replaceAll(text, this.#credentials);
  }
}

export interface LoggerOptions {
  level?: Level;
  json?: boolean;
  masker?: Masker;
  write?: (line: string) => void;
  /** Fields added to every JSON line (flow id, task id...). */
  fields?: Record<string, string>;
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
