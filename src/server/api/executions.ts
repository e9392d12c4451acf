/**
 * Kestra's executions API beyond create, get and search: kill, restart, delete and `follow`, and
 * the execution logs (`logs/{executionId}` and its `follow`), on the runtime's queue and store.
 * Paths, statuses and shapes as Kestra's ExecutionController and LogController.
 */
import type { Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { show } from '../../errors.js';
import { type Level, LEVELS } from '../../levels.js';
import {
  type ExecutionChange,
  type ExecutionQueue,
  ExecutionStateError,
  type ExecutionView,
  type LogChange,
  NothingToRestartError,
} from '../../runtime/queue.js';
import { type LogEntry, type LogQuery, OPEN_STATES } from '../../runtime/store.js';
import { writeJson } from '../../pebble/java.js';
import { fail, json, type RouteModule } from '../app.js';
import { API_PREFIXES } from './paging.js';

/**
 * The open event streams (`follow`s of executions and logs). A stopping server ends them first:
 * they read the store, which closes once the executions have stopped, and an open stream would
 * also keep the listener from closing until its execution ends.
 */
export class EventStreams {
  readonly #open = new Set<() => void>();
  #closed = false;

  /** Ends every open stream (no `end` event: the execution has not ended) and any opened later. */
  close(): void {
    this.#closed = true;
    for (const close of [...this.#open]) close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Registers a stream's close; returns its removal. */
  add(close: () => void): () => void {
    this.#open.add(close);
    return () => this.#open.delete(close);
  }
}

export interface ExecutionControlDeps {
  queue: ExecutionQueue;
  /** Default: streams of their own, never closed from outside. */
  streams?: EventStreams | undefined;
}

const conflict = (c: Context, message: string) => c.json({ message }, 409);

const ended = (view: ExecutionView | undefined) =>
  !view || !(OPEN_STATES as readonly string[]).includes(view.state.current);

/** A boolean query parameter (`true`/`false`), its default when absent; a Response when malformed. */
function flag(c: Context, name: string, fallback: boolean): boolean | Response {
  const v = c.req.query(name);
  if (v === undefined) return fallback;
  if (v === 'true' || v === 'false') return v === 'true';
  return fail(c, 400, `${name}: ${show(v)} is not allowed; expected true or false`);
}

/** Kestra's log filters from the query: `minLevel`, `taskRunId`, `taskId`, `attempt`. */
function logQuery(c: Context): LogQuery | Response {
  const q = c.req.query();
  const out: LogQuery = {};
  if (q.minLevel !== undefined) {
    const level = q.minLevel.toUpperCase();
    if (!(LEVELS as readonly string[]).includes(level))
      return fail(
        c,
        400,
        `minLevel: ${show(q.minLevel)} is not allowed; expected one of ${LEVELS.join(', ')}`,
      );
    out.minLevel = level as Level;
  }
  if (q.taskRunId) out.taskRunId = q.taskRunId;
  if (q.taskId) out.taskId = q.taskId;
  if (q.attempt !== undefined) {
    const n = Number(q.attempt);
    if (!Number.isInteger(n) || n < 0)
      return fail(c, 400, `attempt: ${show(q.attempt)} is not allowed; expected a whole number ≥ 0`);
    out.attempt = n;
  }
  return out;
}

const matches = (e: LogEntry, q: LogQuery) =>
  (!q.minLevel || LEVELS.indexOf(e.level) >= LEVELS.indexOf(q.minLevel)) &&
  (!q.taskRunId || e.taskRunId === q.taskRunId) &&
  (!q.taskId || e.taskId === q.taskId) &&
  (q.attempt === undefined || e.attemptNumber === q.attempt);

/**
 * A server-sent event stream fed by `start`, which gets a `send` and returns a cleanup; it ends
 * when `start` calls `end`, when the client goes, or when `streams` close (the cleanup then runs at
 * once, so that nothing is read after). The socket closes with the stream, so that a stopping
 * server does not wait for it to idle out.
 */
function eventStream(
  c: Context,
  streams: EventStreams,
  start: (send: (data: unknown, id: string, text?: string) => void, end: () => void) => () => void,
): Response {
  const response = streamSSE(c, async (stream) => {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    let cleanup: (() => void) | undefined;
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      cleanup?.();
    };
    const unregister = streams.add(() => {
      stop();
      finish();
    });
    // Writes are chained so that events leave in order.
    let writing = Promise.resolve();
    /** `text`: `data` already serialized. */
    const send = (data: unknown, id: string, text?: string) => {
      if (stopped) return;
      const body = text ?? writeJson(data);
      writing = writing.then(() =>
        stream.aborted || stream.closed ? undefined : stream.writeSSE({ data: body, id }),
      );
    };
    stream.onAbort(() => finish());
    if (streams.closed) finish();
    else cleanup = start(send, () => finish());
    try {
      await done;
      await writing;
    } finally {
      stop();
      unregister();
    }
  });
  response.headers.set('connection', 'close');
  return response;
}

/** `DELETE …/executions/{id}/kill`, `POST …/{id}/restart`, `DELETE …/{id}`, `GET …/{id}/follow`, logs. */
export function executionControlRoutes(deps: ExecutionControlDeps): RouteModule {
  const { queue } = deps;
  const streams = deps.streams ?? new EventStreams();
  return (app: Hono) => {
    for (const prefix of API_PREFIXES) {
      // Kestra: 202 once the kill is asked for; 404 unknown; 409 for an ended one when
      // isOnKillCascade=false (with the default true, an ended execution is accepted and left as is).
      app.delete(`${prefix}/executions/:id/kill`, async (c) => {
        const cascade = flag(c, 'isOnKillCascade', true);
        if (cascade instanceof Response) return cascade;
        try {
          if (!(await queue.kill(c.req.param('id'), !cascade)))
            return fail(c, 404, `execution ${show(c.req.param('id'))} not found`);
        } catch (err) {
          if (err instanceof ExecutionStateError) return conflict(c, err.message);
          throw err;
        }
        return c.body(null, 202);
      });

      // Kestra: the execution (RESTARTED), 200; 404 unknown; 409 when it has not ended or was killed;
      // 422 "Illegal argument: No task found to restart execution from!" when no task run failed
      // (ExecutionService.restart's IllegalArgumentException, as ErrorController answers it).
      app.post(`${prefix}/executions/:id/restart`, async (c) => {
        if (c.req.query('revision') !== undefined)
          return fail(c, 422, 'revision: flows here have one revision; restart without it');
        try {
          const view = await queue.restart(c.req.param('id'));
          return view ? json(c, view) : fail(c, 404, `execution ${show(c.req.param('id'))} not found`);
        } catch (err) {
          if (err instanceof ExecutionStateError) return conflict(c, err.message);
          if (err instanceof NothingToRestartError) return fail(c, 422, `Illegal argument: ${err.message}`);
          throw err;
        }
      });

      // Kestra: 204, or 404. A running execution is answered 204 too (Kestra does not refuse it):
      // here it is killed and removed once it has ended.
      app.delete(`${prefix}/executions/:id`, async (c) => {
        const keep = flag(c, 'deleteLogs', true);
        if (keep instanceof Response) return keep;
        for (const name of ['deleteMetrics', 'deleteStorage']) {
          const f = flag(c, name, true);
          if (f instanceof Response) return f;
        }
        if (!(await queue.remove(c.req.param('id'), !keep)))
          return fail(c, 404, `execution ${show(c.req.param('id'))} not found`);
        return c.body(null, 204);
      });

      // Kestra: events `progress` with the execution at each change, then `end` with the last.
      app.get(`${prefix}/executions/:id/follow`, async (c) => {
        const id = c.req.param('id');
        if (!(await queue.get(id))) return fail(c, 404, `execution ${show(id)} not found`);
        return eventStream(c, streams, (send, end) => {
          let last = '';
          let lastView: ExecutionView | undefined;
          let stopped = false;
          const update = async (final: boolean) => {
            if (stopped) return;
            let view: ExecutionView | undefined;
            try {
              view = await queue.get(id);
            } catch {
              // The store closing under a read a stop began: the stream is being ended.
              return end();
            }
            if (stopped) return;
            // Deleted: its last state read is its end.
            if (!view) {
              if (lastView) send(lastView, 'end', last);
              return end();
            }
            const text = writeJson(view);
            if (text !== last) send(view, 'progress', text);
            last = text;
            lastView = view;
            if (ended(view)) {
              send(view, 'end', text);
              end();
            } else if (final) end(); // interrupted by a shutdown: it resumes at the next start
          };
          // Changes are read in order, one at a time; a burst of them is read once.
          let reading: Promise<void> = Promise.resolve();
          let queued = false;
          let finalSeen = false;
          const off = queue.watch(id, (change: ExecutionChange) => {
            if (change.kind === 'log') return;
            if (change.kind === 'ended') finalSeen = true;
            if (queued) return;
            queued = true;
            reading = reading.then(() => {
              queued = false;
              return update(finalSeen && !queue.isRunning(id));
            });
          });
          reading = reading.then(() => update(false));
          return () => {
            stopped = true;
            off();
          };
        });
      });

      app.get(`${prefix}/logs/:executionId`, async (c) => {
        const id = c.req.param('executionId');
        const q = logQuery(c);
        if (q instanceof Response) return q;
        // As Kestra's: the lines kept for that id, none for an id it does not know (a deleted
        // execution's too, unless deleted with deleteLogs=false); never 404.
        await queue.logsKept(id);
        return c.json(await queue.store.logs(id, q));
      });

      // Kestra streams the lines kept, then each new one (events `progress`); here the stream also
      // ends when the execution has ended, so that a CI job following a purge gets an end.
      app.get(`${prefix}/logs/:executionId/follow`, async (c) => {
        const id = c.req.param('executionId');
        const q = logQuery(c);
        if (q instanceof Response) return q;
        if (!(await queue.get(id))) return fail(c, 404, `execution ${show(id)} not found`);
        return eventStream(c, streams, (send, end) => {
          let live: LogChange[] | undefined = [];
          let stopped = false;
          /** The position of the execution's next line: how many were sent or passed over. */
          let next = 0;
          const deliver = (change: LogChange) => {
            // A line read back from the store (it runs on another replica) may have been read here.
            if (change.index !== undefined) {
              if (change.index < next) return;
              next = change.index;
            }
            next++;
            if (matches(change.entry, q)) send(change.entry, 'progress');
          };
          let endSeen = false;
          const off = queue.watch(id, (change) => {
            if (change.kind === 'log') {
              if (live) live.push(change);
              else deliver(change);
            } else if (change.kind === 'ended' && !queue.isRunning(id)) {
              endSeen = true;
              if (!live) end();
            }
          });
          void (async () => {
            // Every line written before the stream began is in the store once logsKept resolves;
            // the store then holds those lines and a first part of `live`.
            await queue.logsKept(id);
            if (stopped) return;
            let kept: LogEntry[];
            try {
              kept = await queue.store.logs(id);
            } catch {
              return end(); // the store closing under a read a stop began
            }
            if (stopped) return;
            const buffered = (live ?? []).filter((l) => l.index === undefined).map((l) => l.entry);
            let overlap = Math.min(buffered.length, kept.length);
            const same = (a: LogEntry, b: LogEntry) => JSON.stringify(a) === JSON.stringify(b);
            while (
              overlap > 0 &&
              !kept.slice(kept.length - overlap).every((e, i) => same(e, buffered[i] as LogEntry))
            )
              overlap--;
            for (const e of kept) if (matches(e, q)) send(e, 'progress');
            next = kept.length;
            let skip = overlap;
            for (const l of live ?? []) if (l.index !== undefined || skip-- <= 0) deliver(l);
            live = undefined;
            if (endSeen || ended(await queue.get(id).catch(() => undefined))) end();
          })();
          return () => {
            stopped = true;
            off();
          };
        });
      });
    }
  };
}
