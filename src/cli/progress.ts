/** A progress bar on stderr, only when stderr is a terminal. */
export function startProgress(
  label: string,
): { update: (done: number, total: number) => void; stop: () => void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  let bar: import('cli-progress').SingleBar | undefined;
  let loading: Promise<void> | undefined;
  return {
    update(done, total) {
      if (!bar && !loading) {
        loading = import('cli-progress').then(({ default: cp }) => {
          bar = new cp.SingleBar(
            { format: `${label} [{bar}] {value}/{total}`, stream: process.stderr, hideCursor: true },
            cp.Presets.shades_classic,
          );
          bar.start(total, done);
        });
      }
      bar?.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
}
