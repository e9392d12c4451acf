import { closeSync, fsyncSync, openSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';

/**
 * Writes a file so that a crash at any point leaves either the old or the new content: a temporary
 * file beside it, flushed, then renamed over it. Synchronous, so that it also serves at a hard exit.
 */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * writeAtomic for a path the user named: a device or pipe (`/dev/full`, `/dev/stdout`) is written in
 * place, never replaced by a renamed file (which root could do).
 */
export function writeUserFile(path: string, text: string): void {
  if (statSync(path, { throwIfNoEntry: false })?.isFile() === false) writeFileSync(path, text);
  else writeAtomic(path, text);
}
