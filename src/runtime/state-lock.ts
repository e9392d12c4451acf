import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, RunFailedError } from '../errors.js';

/** What the lock file holds: the server's pid and when that process started (against pid reuse). */
interface Holder {
  pid: number;
  /** The process's start time from /proc (clock ticks since boot); null where /proc is missing. */
  started: string | null;
}

/**
 * A process's state (field 3: `Z` for a zombie) and start time (field 22) from /proc/<pid>/stat, or
 * undefined where it cannot be read.
 */
function procStat(pid: number): { state: string; started: string | null } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', started: fields[19] ?? null };
  } catch {
    return undefined;
  }
}

/** A process's start time from /proc/<pid>/stat, or null where it cannot be read. */
function startTime(pid: number): string | null {
  return procStat(pid)?.started ?? null;
}

/** Lock files this process holds. */
const held = new Set<string>();

function alive(holder: Holder, file: string): boolean {
  // Our own pid but not our lock: a previous process that had the pid (a container's pid 1) is gone.
  if (holder.pid === process.pid) return held.has(file);
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // ESRCH: no such process
  }
  const now = procStat(holder.pid);
  // Killed (kill -9) but not yet reaped by its parent (a container's init can take seconds): a
  // zombie holds no state folder.
  if (now?.state === 'Z' || now?.state === 'X') return false;
  // The pid is in use: by the holder, unless the holder died and the pid was given to another process.
  return holder.started === null || (now?.started ?? null) === holder.started;
}

function readHolder(file: string): { text: string; holder: Holder | undefined } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const h = JSON.parse(text) as Holder;
    return { text, holder: Number.isSafeInteger(h.pid) && h.pid > 0 ? h : undefined };
  } catch {
    return { text, holder: undefined }; // a lock file cut short by a crash while it was written
  }
}

const problem = (dir: string, err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  const reason =
    e.code === 'EEXIST' || e.code === 'ENOTFOLDER'
      ? 'it is a file, not a folder'
      : e.code === 'ENOTDIR'
        ? 'a part of its path is a file, not a folder'
        : `${e.code ?? 'error'}: ${e.message.replace(/^\w+: /, '').replace(/, \w+ '.*$/, '')}`;
  return new InvalidInputError(
    `--state-dir: ${dir} cannot be used (${reason}); expected a folder the server can create and write`,
    '--state-dir',
    { cause: err },
  );
};

/**
 * The state folder, held by one server at a time: `server.lock` in it is created exclusively and holds
 * the server's pid and start time. A lock whose process is gone (kill -9, a crash) or whose pid now
 * belongs to another process is stale and taken over.
 */
export class StateDirLock {
  readonly file: string;
  readonly #text: string;

  private constructor(file: string, text: string) {
    this.file = file;
    this.#text = text;
  }

  /** Creates the folder if needed and locks it; throws InvalidInputError or RunFailedError (in use). */
  static acquire(dir: string): StateDirLock {
    try {
      mkdirSync(dir, { recursive: true });
      if (!statSync(dir).isDirectory())
        throw Object.assign(new Error('not a folder'), { code: 'ENOTFOLDER' });
    } catch (err) {
      throw problem(dir, err);
    }
    const file = join(dir, 'server.lock');
    const text = `${JSON.stringify({ pid: process.pid, started: startTime(process.pid) } satisfies Holder)}\n`;
    // Written whole beside it, then hard-linked into place: the link fails if a lock exists, and a
    // lock is never seen half-written.
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o644);
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw problem(dir, err);
    }
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          linkSync(tmp, file);
          held.add(file);
          return new StateDirLock(file, text);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw problem(dir, err);
        }
        const found = readHolder(file);
        if (!found) continue; // released meanwhile
        if (found.holder && alive(found.holder, file)) {
          throw new RunFailedError(
            `--state-dir: ${dir} is in use by another server (pid ${found.holder.pid}); expected a state folder no other server is using`,
          );
        }
        // Stale: removed only if it is still the one read (another starting server may have taken it over).
        if (readHolder(file)?.text === found.text) {
          try {
            unlinkSync(file);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw problem(dir, e);
          }
        }
      }
    } finally {
      rmSync(tmp, { force: true });
    }
    throw new RunFailedError(
      `--state-dir: ${dir}: could not take its lock (${file} kept changing); expected a state folder no other server is using`,
    );
  }

  /** Removes the lock file, if it is still this server's. */
  release(): void {
    held.delete(this.file);
    try {
      if (readFileSync(this.file, 'utf8') === this.#text) unlinkSync(this.file);
    } catch {
      // already gone
    }
  }
}
