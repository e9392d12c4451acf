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

const MASK = '******';

/**
 * One case-insensitive pattern of every value, longest first: a secret passed through a filter
 * (`| upper`, `| lower`, `| capitalize`) is hidden as well as the secret itself.
 */
function patternOf(values: Set<string>): RegExp | undefined {
  if (!values.size) return undefined;
  const alternatives = [...values]
    .sort((a, b) => b.length - a.length)
    .map((v) => v.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
  return new RegExp(alternatives.join('|'), 'gi');
}

function replaceAll(text: string, pattern: RegExp | undefined): string {
  return pattern ? text.replace(pattern, MASK) : text;
}

/**
 * Replaces secrets (and their base64 forms) with `******`, in any letter case. Log lines hide every
 * secret, as Kestra does; an execution's values (outputs, inputs, trigger) hide every secret too, but
 * object keys are kept, so that e.g. a service id read from a secret does not blank out the keys of
 * stats `data`.
 */
export class Masker {
  readonly #secrets = new Set<string>();
  readonly #credentials = new Set<string>();
  #secretsPattern: RegExp | undefined;
  #credentialsPattern: RegExp | undefined;

  add(secret: string | undefined): void {
    // Every secret, however short: a one-letter secret hides that letter everywhere in a line (README).
    if (!secret) return;
    if (this.#secrets.has(secret)) return;
    this.#secrets.add(secret);
    this.#secrets.add(Buffer.from(secret).toString('base64'));
    this.#secretsPattern = patternOf(this.#secrets);
  }

  addCredential(secret: string | undefined): void {
    this.add(secret);
    if (!secret || this.#credentials.has(secret)) return;
    this.#credentials.add(secret);
    this.#credentials.add(Buffer.from(secret).toString('base64'));
    this.#credentialsPattern = patternOf(this.#credentials);
  }

  /** For log lines and errors: every secret hidden. */
  mask(text: string): string {
    return replaceAll(text, this.#secretsPattern);
  }

  /**
   * `value` with every secret hidden inside its strings; object keys are left as they are. Only the
   * objects and arrays on the way to a changed string are copied, so megabytes of stats cost a walk.
   */
  maskValues<T>(value: T): T {
    const pattern = this.#secretsPattern;
    if (!pattern) return value;
    const done = new Map<object, unknown>();
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return replaceAll(v, pattern);
      if (!v || typeof v !== 'object') return v;
      if (done.has(v)) return done.get(v);
      let out: unknown = v;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const x = walk(v[i]);
          if (x === v[i]) continue;
          if (out === v) out = v.slice();
          (out as unknown[])[i] = x;
        }
      } else if (Object.getPrototypeOf(v) === Object.prototype) {
        const o = v as Record<string, unknown>;
        for (const k of Object.keys(o)) {
          const x = walk(o[k]);
          if (x === o[k]) continue;
          if (out === v) out = { ...o };
          (out as Record<string, unknown>)[k] = x;
        }
      }
      done.set(v, out);
      return out;
    };
    return walk(value) as T;
  }

  /** For printed text where keys must stay readable: credentials (API tokens) hidden. */
  maskCredentials(text: string): string {
    return replaceAll(text, this.#credentialsPattern);
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
