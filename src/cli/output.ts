import { once } from 'node:events';
import type { WriteStream } from 'node:fs';
// fs.promises, not node:fs/promises: touched only when a file is written, so a plain `purge` never loads it.
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { InvalidInputError, RunFailedError } from '../errors.js';
import { onInterrupt, runCleanups, stopSignal } from './interrupt.js';

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  EISDIR: 'it is a folder',
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'a part of the path is not a folder',
  EIO: 'input/output error',
  EFBIG: 'file too large',
};

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${code} (${REASONS[code] ?? 'write failed'})` : String((err as Error).message ?? err);
}

/** A path the user mistyped (exit 2) rather than a device that failed (exit 1). */
const INPUT_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/**
 * Standard output errors, for the whole process. A closed pipe (`| head -1`): by default the command
 * ends quietly with 0, as `head` users expect of a command whose work is its output; with
 * `finishOnClosedPipe` (purges, whose work is done before anything is printed) the rest of the
 * output is dropped and the command finishes, its exit code and files (--failed-keys) what they would
 * have been. Anything else (a full disk) is one line and exit 1.
 */
export function guardStdout(finishOnClosedPipe = false, when: StdoutSetup = 'now'): void {
  if (when === 'now') onStdoutError(finishOnClosedPipe);
  else
    stdoutGuarded = new Promise((resolve) => setImmediate(() => resolve(onStdoutError(finishOnClosedPipe))));
}

/**
 * When stdout is set up: `after-first-request` on the next turn of the event loop, once the command's
 * first request is on the wire (on a pipe that is ~2 ms of a cold purge, which then overlaps the API's
 * answer). Such a command writes to stdout only after `stdoutReady()`.
 */
export type StdoutSetup = 'now' | 'after-first-request';

let stdoutGuarded = Promise.resolve();

/** Resolves once stdout's error handling is in place (see guardStdout). */
export function stdoutReady(): Promise<void> {
  return stdoutGuarded;
}

function onStdoutError(finishOnClosedPipe: boolean): void {
  let closed = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || (closed && err.code === 'ERR_STREAM_DESTROYED')) {
      if (finishOnClosedPipe) {
        closed = true;
        return;
      }
      runCleanups();
      process.exit(0);
    }
    runCleanups();
    process.stderr.write(`error: cannot write to standard output: ${reason(err)}\n`);
    process.exit(1);
  });
}

/** Writes text, waiting for the stream to drain; rejects if the stream has failed. */
export async function write(out: Writable, data: string | Buffer): Promise<void> {
  if (out.errored) throw out.errored;
  if (!out.write(data)) await once(out, 'drain');
}

/** Checks, before any request, that `path`'s folder exists and `path` is not a folder (exit 2 if not). */
export async function checkOutputPath(path: string | undefined, flag = '--output'): Promise<void> {
  if (!path || path === '-') return;
  const dir = await fsp.stat(dirname(path)).catch(() => undefined);
  if (!dir?.isDirectory()) {
    throw new InvalidInputError(
      `${flag}: cannot write ${path}: the folder ${dirname(path)} does not exist`,
      flag,
    );
  }
  if ((await fsp.stat(path).catch(() => undefined))?.isDirectory()) {
    throw new InvalidInputError(`${flag}: cannot write ${path}: it is a folder; expected a file path`, flag);
  }
}

/**
 * Runs `fill` with a stream to `path` (or stdout when absent or `-`). A file is written to a temporary
 * file beside it and renamed over it only when `fill` and every write succeeded: on any failure the
 * previous file is left byte-identical, and the error says so. Devices and pipes (`/dev/full`,
 * `/dev/stdout`) are written in place. Errors name `flag`. With `keepPartialAs`, a `fill` that fails
 * (not a write, not an interruption) leaves what it wrote there instead, for a rerun to resume from,
 * and `partialRecord` (what produced it) beside it in `keepPartialAs.json`, for that rerun to check.
 */
export async function withOutput<T>(
  path: string | undefined,
  fill: (out: Writable) => Promise<T>,
  flag = '--output',
  keepPartialAs?: string,
  partialRecord?: string,
): Promise<T> {
  if (!path || path === '-') return fill(process.stdout);
  const existing = await fsp.stat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new InvalidInputError(`${flag}: cannot write ${path}: it is a folder; expected a file path`, flag);
  }
  const inPlace = existing !== undefined && !existing.isFile();
  const target = inPlace ? path : join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let stream: WriteStream;
  try {
    const handle = await fsp.open(target, inPlace ? 'w' : 'wx', existing?.mode ?? 0o644);
    // The stream owns the FileHandle and closes it. Not `{ fd: handle.fd }`: the handle would stay
    // open in JavaScript's eyes, and when collected close an fd number by then closed or reused
    // (Node 24 makes that an uncaught EBADF after the output was written).
    stream = handle.createWriteStream();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const message = `${flag}: cannot write ${path}: ${reason(err)}`;
    throw INPUT_CODES.has(code) ? new InvalidInputError(message, flag) : new RunFailedError(message);
  }
  stream.on('error', () => {}); // kept in stream.errored and reported below
  const removeTemp = () => {
    stream.destroy();
    if (!inPlace) fsp.unlink(target).catch(() => {});
  };
  const removeCleanup = onInterrupt(removeTemp);
  const unchanged = inPlace ? '' : existing ? `; ${path} was left unchanged` : `; ${path} was not created`;
  try {
    let result: T;
    try {
      result = await fill(stream);
    } catch (err) {
      // Worth keeping: something written, by a run that failed on the way (not on its input, not Ctrl-C).
      const keep =
        keepPartialAs &&
        !inPlace &&
        !stream.errored &&
        !stopSignal.aborted &&
        err instanceof Error &&
        !(err instanceof InvalidInputError);
      if (keep) {
        stream.end();
        await Promise.race([once(stream, 'close'), once(stream, 'error')]).catch(() => {});
        const kept =
          !stream.errored &&
          stream.bytesWritten > 0 &&
          (await fsp.rename(target, keepPartialAs).then(
            () => true,
            () => false,
          ));
        if (kept) {
          if (partialRecord !== undefined)
            await fsp.writeFile(`${keepPartialAs}.json`, partialRecord, { mode: 0o644 }).catch(() => {});
          err.message += `${unchanged}; what was fetched before the failure is kept in ${keepPartialAs}: run the same command with --resume to fetch only the rest`;
          throw err;
        }
      }
      if (err instanceof Error && unchanged && !stream.errored) err.message += unchanged;
      throw stream.errored ? writeFailed(flag, path, stream.errored, unchanged) : err;
    }
    stream.end();
    await Promise.race([once(stream, 'close'), once(stream, 'error')]).catch(() => {});
    if (stream.errored) throw writeFailed(flag, path, stream.errored, unchanged);
    if (!inPlace) {
      await fsp.rename(target, path).catch((err: unknown) => {
        throw writeFailed(flag, path, err, unchanged);
      });
    }
    return result;
  } catch (err) {
    removeTemp();
    throw err;
  } finally {
    removeCleanup();
  }
}

function writeFailed(flag: string, path: string, err: unknown, unchanged: string): RunFailedError {
  return new RunFailedError(`${flag}: cannot write ${path}: ${reason(err)}${unchanged}`);
}
