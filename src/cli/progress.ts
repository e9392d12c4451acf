import { onInterrupt } from './interrupt.js';

export interface Progress {
  update: (done: number, total: number) => void;
  stop: () => void;
}

/**
 * A progress bar on stderr, only when stderr is a terminal. It is created, started and stopped
 * synchronously (cli-progress is required, not imported), so `stop()` always finds the bar and no
 * redraw timer outlives the command; a signal or exit stops it too, restoring the cursor.
 */
export function startProgress(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): Progress | undefined {
  if (!stream.isTTY) return undefined;
  // node:module only here: loaded at start-up it would bring Node 20's ESM loader into every purge.
  const { createRequire } = process.getBuiltinModule('node:module');
  const cp = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const bar = new cp.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total}`,
      stream,
      hideCursor: true,
      clearOnComplete: true,
      // A bar is for humans watching a long operation; short ones end before it is drawn.
      fps: 10,
    },
    cp.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    removeCleanup();
    if (started) bar.stop();
  };
  const removeCleanup = onInterrupt(stop);
  return {
    update(done, total) {
      if (stopped) return;
      if (!started) {
        started = true;
        bar.start(total, done);
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    },
    stop,
  };
}
