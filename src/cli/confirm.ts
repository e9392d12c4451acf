// Asking a person at a terminal before something that cannot be undone (`purge all`). Loaded only
// when there is a terminal to ask: a deploy script's purge never loads readline.
import { RunFailedError } from '../errors.js';
import { stopSignal } from './interrupt.js';

/** The person at the terminal said no (or ended the input): nothing was done. */
export class NotConfirmedError extends RunFailedError {
  override readonly name = 'NotConfirmedError';
  override readonly code = 'NOT_CONFIRMED';
}

/** Whether a person can be asked: stdin and stderr (where the question goes) are both a terminal. */
export const canAsk = (): boolean => process.stdin.isTTY === true && process.stderr.isTTY === true;

/**
 * Asks `question` on stderr and reads one line from stdin: true for `y` or `yes` (any case), false
 * for anything else, an empty line or Ctrl-D. Ctrl-C rejects with the interruption (exit 130). The
 * terminal stays in its ordinary line mode, so Ctrl-C is the signal, as everywhere else in the CLI.
 */
export async function askYesNo(question: string): Promise<boolean> {
  if (stopSignal.aborted) throw stopSignal.reason;
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  process.stderr.write(question);
  try {
    const answer = await new Promise<string | undefined>((resolve, reject) => {
      // Ctrl-C leaves the cursor after the question too: the error starts a line of its own.
      const onAbort = () => {
        process.stderr.write('\n');
        reject(stopSignal.reason as Error);
      };
      stopSignal.addEventListener('abort', onAbort, { once: true });
      const settle = (line: string | undefined) => {
        stopSignal.removeEventListener('abort', onAbort);
        resolve(line);
      };
      rl.once('line', settle);
      rl.once('close', () => settle(undefined));
    });
    // Ctrl-D leaves the cursor after the question: end its line.
    if (answer === undefined) process.stderr.write('\n');
    return answer !== undefined && /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
    process.stdin.destroy();
  }
}
