// How a CLI command starts and ends, without commander (the purge fast path shares it): stdout and
// signal handling, and the mapping of what went wrong to one stderr line and an exit code.
import { InvalidInputError, KestraFastlyError } from '../errors.js';
import { countCommand } from './command-count.js';
import { installSignalHandlers, InterruptedError, interruption } from './interrupt.js';
import { guardStdout, type StdoutSetup } from './output.js';

/** Long-running commands that treat SIGINT/SIGTERM as their normal way to stop (exit 0). */
const OWN_SIGNALS = new Set(['server', 'simulator', 'demo']);

/**
 * Before a command runs: EPIPE-safe stdout (set up now, or once the first request is on the wire: see
 * StdoutSetup), and Ctrl-C/SIGTERM handling unless the command owns them.
 */
export function startCommand(name: string | undefined, stdout: StdoutSetup = 'now'): void {
  countCommand();
  if (!name || !OWN_SIGNALS.has(name)) installSignalHandlers();
  // A purge has done its work when it prints: a closed pipe must not hide a failure or its files.
  guardStdout(name === 'purge', stdout);
}

let echo: ((line: string) => void) | undefined;

/**
 * Also hands every failure line (its text after `error: `) to `fn`, besides stderr: `kestra-fastly
 * task` sends it to Kestra as an ERROR log line too, since Kestra shows stderr only as plain text.
 */
export function echoFailures(fn: (line: string) => void): void {
  echo = fn;
}

let format: ((text: string) => string) | undefined;

/**
 * Writes failure lines as `fn` makes them instead of `error: …`: `server --json`'s are JSON log
 * lines like the others it writes, for a collector that parses every line. Undefined: the plain line.
 */
export function formatFailures(fn: ((text: string) => string) | undefined): void {
  format = fn;
}

/** A log line of `component`'s in the logger's JSON shape, level ERROR, for formatFailures. */
export function jsonFailureLine(component: string): (message: string) => string {
  return (message) => JSON.stringify({ time: new Date().toISOString(), level: 'ERROR', component, message });
}

/** The line a failure is written as: `error: …`, or as formatFailures was told. */
export function failureLine(text: string): string {
  return format ? format(text) : `error: ${text}`;
}

/** Writes one failure line on stderr (and to the echo, if any). */
export function reportFailure(text: string): void {
  process.stderr.write(`${failureLine(text)}\n`);
  try {
    echo?.(text);
  } catch {
    // stdout closed: stderr has said it.
  }
}

/** The CLI's contract: 2 for input the user must fix, 1 for everything that failed at run time. */
function exitCodeOf(err: KestraFastlyError): 1 | 2 {
  return err instanceof InvalidInputError ? 2 : 1;
}

/**
 * Reports a command's failure on stderr (one line) and returns its exit code: 1 run-time failure,
 * 2 invalid input, 129/130/143 interrupted by SIGHUP/SIGINT/SIGTERM.
 */
export async function failureExitCode(err: unknown, name: string | undefined): Promise<number> {
  const stopped = interruption();
  if (stopped) {
    // Whatever the cut-short work threw, the cause is the signal; an account (a bulk purge's) says more.
    const text = err instanceof Error ? err.message : '';
    const account = err instanceof KestraFastlyError && 'outputs' in err;
    const note = /; \S+ was (left unchanged|not created)$/.exec(text)?.[0] ?? '';
    // Built from the signal: withOutput appends its note to the error it caught, which may be this very reason.
    reportFailure(account ? text : `interrupted by ${stopped.signal}${note}`);
    return stopped.exitCode;
  }
  if (err instanceof InterruptedError) {
    reportFailure(err.message);
    return err.exitCode;
  }
  if (err instanceof KestraFastlyError) {
    let e = err;
    if (e instanceof InvalidInputError && (name === 'purge' || name === 'stats'))
      e = (await import('./context.js')).asFlagError(e);
    reportFailure(e.message);
    return exitCodeOf(err);
  }
  const e = err as Error;
  reportFailure(`unexpected failure: ${e?.message ?? String(err)}`);
  if (process.env.KESTRA_FASTLY_DEBUG) process.stderr.write(`${e?.stack}\n`);
  return 1;
}

/** Sets the process's exit code from a command's result (a command may have set a failing one itself). */
export function exitWith(code: Promise<number>): void {
  code.then(
    (c) => {
      process.exitCode = c === 0 ? (process.exitCode ?? 0) : c;
    },
    (err: unknown) => {
      process.stderr.write(`error: unexpected failure: ${(err as Error)?.message}\n`);
      process.exitCode = 1;
    },
  );
}
