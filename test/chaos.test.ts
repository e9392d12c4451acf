/**
 * Replicas on one PostgreSQL under `kill -9` (issue #21, "How to test it"): three `kestra-fastly
 * server` processes (each its own --state-dir and port; the same flows and database; `--lease 3s`)
 * against the simulator at 100 ms (one per replica, so its log says which replica sent a purge),
 * running a Schedule every second (`withSeconds`), a CROSSING StatsTrigger at PT1S whose threshold
 * a traffic scenario crosses once, and a Webhook flow that purges the key it is sent. Webhooks go
 * round-robin, retried on the next replica when refused or cut off, while a random replica is
 * killed -9 every few seconds (after a seeded number of acknowledged webhooks) and restarted; once,
 * a replica is frozen (SIGSTOP) past its lease instead, then woken: what it was running has been
 * taken over, and its stale writes must be refused.
 * After a drain (every replica up, a deadline), the properties, each reported with its ids:
 *
 * - webhooks: every acknowledged webhook has exactly one execution (each attempt carries its own
 *   key, so a retry is never a duplicate), with the acknowledged id; a refused attempt has none, one
 *   cut off at most one; the simulators saw each acknowledged key purged, and twice only as the
 *   documented at-least-once: the replica that sent the first purge was killed (or frozen) before
 *   the second was sent, and the task run counted the attempt (`attempts` 2);
 * - runs: every execution ran its one task once (one task run, one Log line per attempt);
 * - schedule: every second between the start and the end of the chaos ticked exactly once, and no
 *   second ticked twice (by the executions' `trigger.date`);
 * - alert: the crossing fired once;
 * - states: every execution ended SUCCESS.
 *
 * Seeded (`CHAOS_SEED=N` repeats a run's choices: victims and when they die); the seed is printed.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { RequestLogEntry, Simulator } from '../src/simulator/index.js';
import { seededRandom } from '../src/simulator/random.js';
import { SERVICE, sim } from './helpers.js';
import { ServerProcess } from './server-process.js';
import { postgresForFile } from './support/postgres.js';

const pgsql = postgresForFile();

const SEED = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
const REPLICAS = 3;
/**
 * Chaos events: kills -9 (and restarts), one of them a freeze. Three kills and the freeze between
 * them: each event more is another replica start and ~30 more webhooks (~3 s of CPU), proving the
 * same properties again.
 */
const EVENTS = 4;
/** Webhook senders; each sends its next webhook once the simulator saw its last one's purge. */
const LANES = 3;
const LEASE = '3s';
const LEASE_MS = 3000;
/** Which chaos event freezes its victim (SIGSTOP) past its lease instead of killing it. */
const FREEZE_AT = 2;
const HOOK_KEY = 'chaos-webhook-key-0123';
const TERMINAL = new Set(['SUCCESS', 'WARNING', 'FAILED', 'KILLED']);
/** A hang detector for each wait on the replicas, far above a takeover (one lease). */
const DEADLINE_MS = 30_000;

const FLOWS: Record<string, string> = {
  'tick.yml': `id: tick
namespace: chaos
triggers:
  - id: every_second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
    timezone: UTC
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "tick {{ trigger.date }}"
`,
  'alert.yml': `id: alert
namespace: chaos
triggers:
  - id: errors
    type: io.kestra.plugin.fastly.stats.StatsTrigger
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    field: status_5xx
    threshold: 50
    window: PT1H
    interval: PT1S
    fireOn: CROSSING
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "5xx crossed: {{ trigger.value }}"
`,
  'hook.yml': `id: hook
namespace: chaos
inputs:
  - id: key
    type: STRING
triggers:
  - id: cms
    type: io.kestra.plugin.core.trigger.Webhook
    key: ${HOOK_KEY}
    inputs:
      key: "{{ trigger.body.key }}"
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Key
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    surrogateKey: "{{ inputs.key }}"
`,
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves true once `test()` holds (checked at each `changed()`), false at the deadline. */
class Condition {
  readonly #waiters = new Set<() => void>();
  changed(): void {
    for (const w of this.#waiters) w();
  }
  until(test: () => boolean, deadlineMs = DEADLINE_MS): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (test()) done(true);
      };
      const timer = setTimeout(() => done(false), deadlineMs);
      this.#waiters.add(check);
      check();
    });
  }
}

/** One replica: a server process on its own port and state folder, started again after each kill. */
class Replica {
  process: ServerProcess | undefined;
  readonly outputs: string[] = [];
  /** When each kill -9 or freeze was sent (epoch ms): its executions may be run again after it. */
  readonly stoppedAt: number[] = [];
  /** When each freeze ended. */
  readonly wokeAt: number[] = [];
  constructor(
    readonly index: number,
    readonly port: number,
    readonly args: string[],
    readonly env: Record<string, string>,
  ) {}

  get up(): boolean {
    return this.process !== undefined;
  }

  async start(): Promise<void> {
    const p = new ServerProcess([...this.args, '--listen', `127.0.0.1:${this.port}`], this.env);
    try {
      await p.waitFor(/HTTP API on http:\/\/\S+/, DEADLINE_MS);
    } catch (err) {
      p.child.kill('SIGKILL');
      this.outputs.push(p.output);
      throw err;
    }
    this.process = p;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.process;
    if (!p) return;
    this.process = undefined;
    if (signal === 'SIGKILL') this.stoppedAt.push(Date.now());
    await p.stop(signal);
    this.outputs.push(p.output);
  }

  /** SIGSTOP: the process stays, frozen (its sockets accept, nothing answers), until thaw(). */
  freeze(): void {
    this.stoppedAt.push(Date.now());
    this.process?.child.kill('SIGSTOP');
  }

  thaw(): void {
    this.process?.child.kill('SIGCONT');
    this.wokeAt.push(Date.now());
  }

  /** Every incarnation's output, for a failure's report. */
  log(): string {
    return [...this.outputs, this.process?.output ?? ''].join('\n--- restarted ---\n');
  }
}

type Outcome = 'ack' | 'refused' | 'reset' | 'timeout' | `status ${number}`;

interface Attempt {
  key: string;
  replica: number;
  outcome: Outcome;
  id?: string;
}

/** POSTs one webhook (no connection reuse: a killed replica's socket must not be tried again). */
function postWebhook(port: number, key: string): Promise<{ outcome: Outcome; id?: string }> {
  const body = JSON.stringify({ key });
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/v1/main/executions/webhook/chaos/hook/${HOOK_KEY}`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        agent: false,
        timeout: DEADLINE_MS,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('error', () => resolve({ outcome: 'reset' }));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve({ outcome: `status ${res.statusCode ?? 0}` });
          try {
            resolve({ outcome: 'ack', id: (JSON.parse(text) as { id: string }).id });
          } catch {
            resolve({ outcome: 'reset' });
          }
        });
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve({ outcome: 'timeout' });
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ outcome: err.code === 'ECONNREFUSED' ? 'refused' : 'reset' }),
    );
    req.end(body);
  });
}

/** The surrogate keys one purge request of the simulator's log named. */
function purgedKeys(e: RequestLogEntry): string[] {
  if (!e.path.startsWith(`/service/${SERVICE}/purge`)) return [];
  return e.surrogateKeys ?? /\/purge\/([^/]+)$/.exec(e.path)?.slice(1) ?? [];
}

interface Row {
  id: string;
  flow_id: string;
  state: string;
  inputs: string;
  trigger_vars: string | null;
}

/** A time of day, UTC: `08:51:13` (`08:51:13.898` with `millis`). */
const iso = (ms: number, millis = false) => new Date(ms).toISOString().slice(11, millis ? 23 : 19);

/** "a, b, c … and 12 more": offending ids, not a wall of them. */
function some(items: string[], n = 15): string {
  return items.length <= n
    ? items.join(', ')
    : `${items.slice(0, n).join(', ')} … and ${items.length - n} more`;
}

test(
  `${REPLICAS} replicas on one PostgreSQL, one killed -9 every few seconds: every acknowledged webhook runs once, every second ticks once, the alert fires once, every execution ends SUCCESS`,
  {
    timeout: 240_000,
  },
  async (t) => {
    const rand = seededRandom(SEED);
    const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    t.diagnostic(`seed ${SEED} (CHAOS_SEED=${SEED} repeats the run's choices)`);
    console.log(`chaos: seed ${SEED}`);

    // A simulator per replica (one Fastly, as far as the flows can tell): its log says which
    // replica sent each purge, so a purge sent twice is told apart from a takeover's retry.
    const sims = await Promise.all(
      Array.from({ length: REPLICAS }, () => sim(t, { faults: { latencyMs: 100 } })),
    );
    const purges = new Map<string, { replica: number; at: number }[]>();
    const purgeSeen = new Condition();
    sims.forEach((s, replica) => {
      const record = s.state.record.bind(s.state);
      s.state.record = (entry) => {
        record(entry);
        const e = s.state.log.at(-1);
        if (!e) return;
        for (const k of purgedKeys(e))
          purges.set(k, [...(purges.get(k) ?? []), { replica, at: e.receivedAt ?? e.time }]);
        purgeSeen.changed();
      };
    });

    const dir = await mkdtemp(join(tmpdir(), 'kf-chaos-'));
    const flows = join(dir, 'flows');
    await mkdir(flows);
    for (const [name, text] of Object.entries(FLOWS)) await writeFile(join(flows, name), text);
    const databaseUrl = await pgsql.freshDatabase('chaos');
    const replicas: Replica[] = [];
    for (let i = 0; i < REPLICAS; i++)
      replicas.push(
        new Replica(
          i,
          await freePort(),
          [flows, '--state-dir', join(dir, `state-${i}`), '--database-url', databaseUrl, '--lease', LEASE],
          {
            SECRET_FASTLY_API_TOKEN: Buffer.from('chaos-token').toString('base64'),
            FASTLY_API_ENDPOINT: (sims[i] as Simulator).url,
          },
        ),
      );
    const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    t.after(async () => {
      for (const r of replicas) await r.kill();
      await db.end();
    });

    await Promise.all(replicas.map((r) => r.start()));
    const startMs = Date.now();

    const rows = async () =>
      (await db.query<Row>('SELECT id, flow_id, state, inputs, trigger_vars FROM executions')).rows;
    const tickOf = (r: Row) =>
      Date.parse(String((JSON.parse(r.trigger_vars ?? '{}') as { date?: string }).date));
    const keyOf = (r: Row) => (JSON.parse(r.inputs) as { key?: string }).key;
    /** Polls the database until `test` holds (true), or the deadline (false). */
    const until = async (test: (all: Row[]) => boolean, deadlineMs = DEADLINE_MS) => {
      const deadline = Date.now() + deadlineMs;
      for (;;) {
        if (test(await rows())) return true;
        if (Date.now() > deadline) return false;
        await sleep(250);
      }
    };

    // Webhook lanes: round-robin over the replicas, the next one tried when refused or cut off.
    const attempts: Attempt[] = [];
    const progress = new Condition();
    let acked = 0;
    let stopping = false;
    let rr = 0;
    const lane = async (l: number) => {
      for (let n = 0; !stopping; n++) {
        for (let a = 0; a < 2 * REPLICAS && !stopping; a++) {
          const key = `c${SEED}-l${l}-w${n}-a${a}`;
          const replica = rr++ % REPLICAS;
          const result = await postWebhook((replicas[replica] as Replica).port, key);
          attempts.push({ key, replica, ...result });
          if (result.outcome !== 'ack') continue;
          acked++;
          progress.changed();
          // Paced by the work itself: the lane's next webhook once this one's purge was seen.
          await purgeSeen.until(() => stopping || purges.has(key), DEADLINE_MS);
          break;
        }
      }
    };
    const lanes = Array.from({ length: LANES }, (_, l) => lane(l));
    const acks = (more: number) => {
      const target = acked + more;
      return progress.until(() => acked >= target);
    };

    // The chaos: a seeded victim dies after a seeded number of acknowledged webhooks, and is started
    // again after some more (the next victim is chosen once it is back: one down at a time); the
    // traffic scenario that crosses the alert's threshold starts mid-way.
    const events: string[] = [];
    let stalled = '';
    let restarting = Promise.resolve();
    let frozenLocks = { waiting: 0, idle: 0, query: '' };
    for (let k = 0; k < EVENTS; k++) {
      const [enough] = await Promise.all([acks(between(10, 25)), restarting]);
      if (!enough) stalled ||= `no webhook acknowledged for ${DEADLINE_MS} ms`;
      const victim = replicas[between(0, REPLICAS - 1)] as Replica;
      if (k === FREEZE_AT) {
        const frozenAt = Date.now();
        victim.freeze();
        events.push(`froze replica ${victim.index} at ${iso(frozenAt, true)} (${acked} acknowledged)`);
        // Woken once the Schedule (the others, on the database's clock) has ticked a lease and a
        // second past the freeze: by then what it held has been taken over.
        const past = frozenAt + LEASE_MS + 1000;
        // Meanwhile, what the others wait for: a frozen replica's open transaction holds its locks.
        const watch = setInterval(() => {
          db.query<{ waiting: string; idle: string; query: string | null }>(
            `SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting,
                    count(*) FILTER (WHERE state = 'idle in transaction') AS idle,
                    min(left(query, 70)) FILTER (WHERE wait_event_type = 'Lock') AS query
               FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
          ).then(
            ({ rows: [r] }) => {
              if (r && Number(r.waiting) > frozenLocks.waiting)
                frozenLocks = { waiting: Number(r.waiting), idle: Number(r.idle), query: r.query ?? '' };
            },
            () => {},
          );
        }, 250);
        const ticked = await until((all) =>
          all.some((r) => r.flow_id === 'tick' && TERMINAL.has(r.state) && tickOf(r) >= past),
        );
        clearInterval(watch);
        if (!ticked) stalled ||= `no tick ran for ${DEADLINE_MS} ms while replica ${victim.index} was frozen`;
        victim.thaw();
        events.push(`woke it at ${iso(Date.now(), true)}`);
        continue;
      }
      await victim.kill();
      events.push(`killed replica ${victim.index} at ${iso(Date.now(), true)} (${acked} acknowledged)`);
      if (k === 1) {
        const now = Math.floor(Date.now() / 1000);
        for (const s of sims)
          s.addScenario({
            serviceId: SERVICE,
            field: 'status_5xx',
            from: now - 1800,
            to: now - 1200,
            perMinute: 30,
          });
      }
      if (!(await acks(between(5, 15)))) stalled ||= `no webhook acknowledged for ${DEADLINE_MS} ms`;
      restarting = victim.start().then(() => {
        events.push(`replica ${victim.index} back at ${iso(Date.now(), true)}`);
      });
    }
    await restarting;
    const endMs = Date.now();
    stopping = true;
    purgeSeen.changed();
    await Promise.all(lanes);

    // The drain: every replica is up; wait until every acknowledged webhook's execution, every
    // second's tick and the alert are there and nothing is left running.
    const firstTick = Math.ceil(startMs / 1000) * 1000;
    const lastTick = Math.floor(endMs / 1000) * 1000;
    const ackedKeys = attempts.filter((a) => a.outcome === 'ack').map((a) => a.key);
    const drained = await until((all) => {
      const keys = new Set(all.filter((r) => r.flow_id === 'hook').map(keyOf));
      const ticks = new Set(all.filter((r) => r.flow_id === 'tick').map(tickOf));
      return (
        all.every((r) => TERMINAL.has(r.state)) &&
        ackedKeys.every((k) => keys.has(k)) &&
        all.some((r) => r.flow_id === 'alert') &&
        Array.from({ length: (lastTick - firstTick) / 1000 + 1 }, (_, i) => firstTick + i * 1000).every(
          (ms) => ticks.has(ms),
        )
      );
    });
    for (const r of replicas) await r.kill('SIGTERM');
    const all = await rows();

    // The properties, each with its offending ids.
    const broken: string[] = [];
    const hooks = all.filter((r) => r.flow_id === 'hook');
    const byKey = new Map<string, Row[]>();
    for (const r of hooks) byKey.set(keyOf(r) ?? '', [...(byKey.get(keyOf(r) ?? '') ?? []), r]);
    const sent = new Map(attempts.map((a) => [a.key, a]));
    const notOnce = attempts
      .filter((a) => a.outcome === 'ack')
      .filter((a) => (byKey.get(a.key) ?? []).length !== 1 || byKey.get(a.key)?.[0]?.id !== a.id)
      .map(
        (a) =>
          `${a.key} (acknowledged ${a.id} by replica ${a.replica}): ${(byKey.get(a.key) ?? []).length} execution(s) [${(byKey.get(a.key) ?? []).map((r) => r.id).join(' ')}]`,
      );
    if (notOnce.length)
      broken.push(
        `webhooks: ${notOnce.length} acknowledged webhook(s) did not run exactly once: ${some(notOnce, 10)}`,
      );
    const refusedRan = attempts
      .filter((a) => a.outcome === 'refused' && byKey.has(a.key))
      .map(
        (a) =>
          `${a.key}: ${byKey
            .get(a.key)
            ?.map((r) => r.id)
            .join(' ')}`,
      );
    if (refusedRan.length) broken.push(`webhooks: refused attempt(s) ran: ${some(refusedRan)}`);
    const cutTwice = attempts
      .filter((a) => a.outcome !== 'ack' && a.outcome !== 'refused' && (byKey.get(a.key) ?? []).length > 1)
      .map(
        (a) =>
          `${a.key} (${a.outcome}): ${byKey
            .get(a.key)
            ?.map((r) => r.id)
            .join(' ')}`,
      );
    if (cutTwice.length)
      broken.push(`webhooks: unacknowledged attempt(s) ran more than once: ${some(cutTwice)}`);
    const unknown = [...byKey.keys()].filter((k) => !sent.has(k));
    if (unknown.length) broken.push(`webhooks: executions for keys never sent: ${some(unknown)}`);
    // Runs: each execution ran its one task once (one task run; its Log line written once per
    // attempt at most). Replicas that each run an execution they did not claim show here even
    // when its row is one (a Schedule slot's id is the slot's).
    const runs = new Map<string, { id: string; taskId?: string; attempts?: number }[]>();
    for (const r of (
      await db.query<{ execution_id: string; body: string }>('SELECT execution_id, body FROM task_runs')
    ).rows)
      runs.set(r.execution_id, [...(runs.get(r.execution_id) ?? []), JSON.parse(r.body) as { id: string }]);
    const lines = new Map<string, number>();
    for (const r of (
      await db.query<{ execution_id: string; n: string }>(
        `SELECT execution_id, COUNT(*) AS n FROM logs
          WHERE body::json->>'message' LIKE 'tick %' OR body::json->>'message' LIKE '5xx crossed:%' GROUP BY 1`,
      )
    ).rows)
      lines.set(r.execution_id, Number(r.n));
    const attemptsOf = (id: string) => Math.max(0, ...(runs.get(id) ?? []).map((r) => r.attempts ?? 0));
    const ranTwice = all
      .filter((r) => {
        const n = (runs.get(r.id) ?? []).length;
        const logged = lines.get(r.id) ?? 0;
        return n > 1 || (r.flow_id !== 'hook' && logged > Math.max(1, attemptsOf(r.id)));
      })
      .map(
        (r) =>
          `${r.id} (${r.flow_id}${r.flow_id === 'tick' ? ` ${iso(tickOf(r))}` : ''}): ${(runs.get(r.id) ?? []).length} task run(s), ${lines.get(r.id) ?? 0} Log line(s), attempts ${attemptsOf(r.id)}`,
      );
    if (ranTwice.length)
      broken.push(
        `runs: ${ranTwice.length} execution(s) ran their task more than once: ${some(ranTwice, 10)}`,
      );
    // Purges: each acknowledged key at least once. Twice only as the documented at-least-once: the
    // replica that sent the first was killed before the second was sent (by whoever took over), and
    // the task run counted that attempt.
    const unpurged = ackedKeys.filter((k) => !purges.has(k));
    if (unpurged.length) broken.push(`webhooks: acknowledged key(s) never purged: ${some(unpurged)}`);
    const repeated: string[] = [];
    const retriedRepeats: string[] = [];
    for (const [key, sends] of purges) {
      if (sends.length < 2) continue;
      sends.sort((a, b) => a.at - b.at);
      // Each send after the first is explained by the one before it: its sender was killed or frozen
      // with the call under way (the takeover sends it again), or this one is a frozen replica's
      // call under way going out as it woke, after the takeover's.
      const explained = sends.slice(1).every((next, j) => {
        const prev = sends[j] as { replica: number; at: number };
        const died = (replicas[prev.replica] as Replica).stoppedAt.some(
          (k) => k >= prev.at - 1000 && k <= next.at,
        );
        const woke = (replicas[next.replica] as Replica).wokeAt.some(
          (w) => next.at >= w - 1000 && next.at <= w + 2000 && prev.at >= w - LEASE_MS - 5000,
        );
        return died || woke;
      });
      const execs = byKey.get(key) ?? [];
      const retried = execs.some((r) => attemptsOf(r.id) >= sends.length);
      const what = `${key} purged ${sends.length}× by replicas ${sends.map((p) => `${p.replica} at ${iso(p.at, true)}`).join(', ')} [${execs.map((r) => `${r.id} attempts ${attemptsOf(r.id)}`).join(', ')}]`;
      (explained && retried ? retriedRepeats : repeated).push(what);
    }
    if (repeated.length)
      broken.push(
        `webhooks: ${repeated.length} key(s) purged twice with neither a kill or freeze of the first sender in between nor a frozen sender waking, or without the attempt counted: ${some(repeated, 10)}`,
      );
    // Schedule: each second from the start to the end once; no second twice.
    const ticks = new Map<number, string[]>();
    for (const r of all.filter((x) => x.flow_id === 'tick'))
      ticks.set(tickOf(r), [...(ticks.get(tickOf(r)) ?? []), r.id]);
    const missed: string[] = [];
    for (let ms = firstTick; ms <= lastTick; ms += 1000) if (!ticks.has(ms)) missed.push(iso(ms));
    if (missed.length)
      broken.push(
        `schedule: ${missed.length} second(s) of ${iso(firstTick)}–${iso(lastTick)} never ticked: ${some(missed)}`,
      );
    const twice = [...ticks]
      .filter(([, ids]) => ids.length > 1)
      .map(([ms, ids]) => `${iso(ms)} [${ids.join(' ')}]`);
    if (twice.length)
      broken.push(`schedule: ${twice.length} second(s) ticked more than once: ${some(twice, 10)}`);
    // Alert: one crossing, one execution.
    const alerts = all.filter((r) => r.flow_id === 'alert').map((r) => r.id);
    if (alerts.length !== 1)
      broken.push(`alert: fired ${alerts.length} time(s), expected once: [${alerts.join(' ')}]`);
    // States.
    const notSuccess = all
      .filter((r) => r.state !== 'SUCCESS')
      .map((r) => `${r.id} (${r.flow_id}) ${r.state}`);
    if (notSuccess.length)
      broken.push(`states: ${notSuccess.length} execution(s) did not end SUCCESS: ${some(notSuccess)}`);

    const count = (o: string) => attempts.filter((a) => a.outcome === o).length;
    const summary = [
      `seed ${SEED}; ${events.join('; ')}`,
      `webhooks: ${attempts.length} attempts, ${acked} acknowledged, ${count('refused')} refused, ${count('reset')} cut off, ${attempts.length - acked - count('refused') - count('reset')} other`,
      `executions: ${all.length} (${hooks.length} webhook, ${ticks.size} ticked seconds, ${alerts.length} alert); ${iso(firstTick)}–${iso(lastTick)} UTC`,
      `purges repeated by a takeover's retry (at-least-once): ${retriedRepeats.length ? some(retriedRepeats) : 'none'}`,
      ...(drained ? [] : [`the drain did not settle within ${DEADLINE_MS} ms`]),
      ...(stalled ? [`stalled: ${stalled}`] : []),
      `while frozen: at most ${frozenLocks.waiting} session(s) waited on a lock${frozenLocks.waiting ? ` (${frozenLocks.idle} idle in transaction; ${frozenLocks.query.replace(/\s+/g, ' ')})` : ''}`,
    ];
    for (const line of summary) t.diagnostic(line);
    if (broken.length) {
      // What the replicas said about the first offending executions, and their warnings.
      const ids = [...new Set(broken.join(' ').match(/\b[A-Za-z0-9_-]{22}\b/g) ?? [])].slice(0, 6);
      const errors = replicas
        .map((r) => {
          const lines = r.log().split('\n');
          const warnings = lines.filter((l) => /\b(ERROR|WARN|error|Error)\b/.test(l));
          const about = lines.filter((l) => ids.some((id) => l.includes(id)));
          return [
            `replica ${r.index}: ${warnings.length} warning/error line(s)`,
            ...warnings.slice(-8),
            ...(about.length ? [`about ${ids.join(' ')}:`, ...about.slice(-12)] : []),
          ].join('\n  ');
        })
        .join('\n');
      assert.fail(
        `chaos broke ${broken.length} propert${broken.length === 1 ? 'y' : 'ies'} (seed ${SEED}):\n- ${broken.join('\n- ')}\n${summary.join('\n')}\n${errors}`,
      );
    }
  },
);
