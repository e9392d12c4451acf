import { type LogEvent, logEvents } from './diagnostics.js';
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
