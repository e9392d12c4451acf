import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A streamed backfill allocates little on the JS heap but moves ~175 MB of page bodies through
 * Buffers, whose memory is returned only when V8 collects them, which with so little JS allocation
 * it does only once ~64 MB have piled up. Heap limits can be set only when Node starts (which used to
 * mean re-launching the process), so instead: a collection every `everyBytes` of pages consumed, a
 * few milliseconds each with the small live heap of a stream. Without a callable collector (flag
 * refused) this does nothing.
 */
export function bufferPacer(everyBytes: number): (bytes: number) => void {
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
