/**
 * Ctrl-C, SIGTERM and SIGHUP (a dropped ssh session) for one CLI command. This module owns the process's signal handlers and the
 * list of terminal clean-ups (a progress bar's hidden cursor, a half-written temp file).
 *
 * First signal: clean-ups run and `stopSignal` aborts: commands stop sending, let what is in flight
 * settle and report what they did (a bulk purge prints its account). Second signal: clean-ups run
 * and the process exits at once with 128 + the signal number.
 */
const EXIT_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
type Stoppable = keyof typeof EXIT_CODES;

/** The reason `stopSignal` carries: the command was interrupted by the user or the system. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  readonly code = 'EINTERRUPTED';
  constructor(readonly signal: Stoppable) {
    super(`interrupted by ${signal}`);
  }
  get exitCode(): number {
    return EXIT_CODES[this.signal];
  }
}

const controller = new AbortController();
/** Aborted by the first SIGINT/SIGTERM/SIGHUP, with an InterruptedError as its reason. */
export const stopSignal: AbortSignal = controller.signal;
const cleanups = new Set<() => void>();

/** Registers a clean-up to run on a signal or at exit; returns its removal. */
export function onInterrupt(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Runs each function; one that throws (stderr closed) does not keep the others from running. */
function runEach(fns: Iterable<() => void>): void {
  for (const fn of fns) {
    try {
      fn();
    } catch {
      // Carry on.
    }
  }
}

/** Runs (and forgets) every registered clean-up, the latest first (a progress bar before a notice); each runs at most once. */
export function runCleanups(): void {
  const due = [...cleanups].reverse();
  cleanups.clear();
  runEach(due);
}

const lastWords = new Set<() => void>();

/**
 * Registers what must happen even on a second signal, which exits at once (written synchronously:
 * nothing asynchronous runs after it); returns its removal.
 */
export function onHardExit(fn: () => void): () => void {
  lastWords.add(fn);
  return () => lastWords.delete(fn);
}

let installed = false;

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  const handle = (signal: Stoppable) => {
    runCleanups();
    if (controller.signal.aborted) {
      runEach(lastWords);
      process.exit(EXIT_CODES[signal]);
    }
    controller.abort(new InterruptedError(signal));
  };
  process.on('SIGINT', () => handle('SIGINT'));
  process.on('SIGTERM', () => handle('SIGTERM'));
  // A closed terminal: like SIGTERM, the command reports what it did (to a file, if not to the tty).
  process.on('SIGHUP', () => handle('SIGHUP'));
  process.on('exit', runCleanups);
}

/** The exit code of an interrupted command, or undefined when no signal came. */
export function interruptedExitCode(): number | undefined {
  return interruption()?.exitCode;
}

/** The signal that stopped the command (its InterruptedError), if one did. */
export function interruption(): InterruptedError | undefined {
  const reason: unknown = controller.signal.reason;
  return reason instanceof InterruptedError ? reason : undefined;
}
