import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Collects garbage every `everyBytes` of input consumed. A backfill turns ~175 MB of page text into
 * large, short-lived strings, which V8 leaves in its old generation until the heap has grown well past
 * 150 MB; heap limits can only be set when Node starts (which used to mean re-launching the process).
 * A full collection with a small live heap takes a few milliseconds, so a handful of them cap the
 * peak at little cost. Without a callable collector (refused flag) this does nothing.
 */
export function heapPacer(everyBytes: number): (bytes: number) => void {
  let gc: (() => void) | undefined;
  try {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  } catch {
    gc = undefined;
  }
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < everyBytes || !gc) return;
    since = 0;
    gc();
  };
}
