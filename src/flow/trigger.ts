/**
 * Trigger kinds: what the scheduler needs to know about one trigger of one flow.
 *
 *   interface TriggerInstance {
 *     nextDue(afterMs): number                 // when to evaluate next (Infinity: never polled, e.g. a webhook)
 *     evaluate({ at, signal, armed }): Promise<Evaluation>   // one evaluation; honours `signal`
 *   }
 *   registerTriggerKind(type, (flow, node, env) => TriggerInstance)
 *
 * The scheduler owns timing and state; a kind only answers "when" and "does it fire now, with
 * which `{{ trigger.* }}` variables". A new kind (Schedule, Webhook...) registers a factory here.
 */
import { createHash } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import {
  nextSlot,
  notTooLate,
  recoverable,
  Schedule,
  slotsBetween,
  slotVariables,
} from '../tasks/core/Schedule.js';
import { Webhook, type WebhookProps } from '../tasks/core/Webhook.js';
import { resolveInputs } from './inputs.js';
import { resolveEndpoint } from '../fastly/client.js';
import type { StatsPoint } from '../fastly/types.js';
import {
  decide,
  evaluate,
  fetchPoints,
  intervalProblem,
  MIN_STATS_INTERVAL_S,
  type PointsFetcher,
  pollKey,
  seconds,
  StatsTrigger,
  type StatsTriggerProps,
} from '../tasks/stats/StatsTrigger.js';
import { parseProps, takesTextAt, type TaskContext } from '../tasks/task.js';
import type { Logger } from '../logger.js';
import { renderValue } from './expressions.js';
import { type Flow, locate, type TriggerNode } from './load.js';
import type { Masker } from '../masker.js';
import { emptyTokenError, SecretStore } from './secrets.js';

/** What one evaluation concluded. */
export interface Evaluation {
  fire: boolean;
  /** The id of the execution it starts (default a new one); a Schedule slot's is derived from the slot. */
  executionId?: string;
  /** When the execution is said to be created (default now); a Schedule slot's time. */
  createdAt?: string;
  /** The log line of a firing (default `trigger KEY fired (value V): execution ID`). */
  announce?: (key: string, executionId: string) => string;
  /** `{{ trigger.* }}` of the execution it starts. */
  vars: Record<string, unknown>;
  /** Edge-triggered kinds: whether the next match may fire (persisted across restarts). */
  armed: boolean;
  /** The watched value and whether it matched, for logs, snapshots and dashboards. */
  value?: number | null;
  matched?: boolean;
  /** One line for the debug log. */
  summary: string;
}

export interface EvaluationInput {
  /** The due time being evaluated (epoch ms); identical polls due together share one API call. */
  at: number;
  /** Aborted at shutdown; reaches every HTTP call of the evaluation. */
  signal: AbortSignal;
  armed: boolean;
}

export interface TriggerInstance {
  readonly type: string;
  /** Epoch ms of the evaluation that follows one due at `afterMs` (Infinity: never, e.g. a webhook). */
  nextDue(afterMs: number): number;
  /** The first due time of a trigger never evaluated (default: `nowMs`). */
  firstDue?(nowMs: number): number;
  /**
   * The due times to evaluate when woken at `nowMs` for `due` (a late timer, or the first wake
   * after a restart: `recovering`), oldest first. Default: `[due]`, the ones in between skipped.
   */
  catchUp?(due: number, nowMs: number, recovering: boolean): number[];
  /** Fires even while its previous execution runs (Schedule); default: that evaluation is skipped. */
  readonly overlapping?: boolean;
  /** Whether its evaluations are published (the metrics' and dashboard's points): the polled kinds. */
  readonly observed?: boolean;
  evaluate(input: EvaluationInput): Promise<Evaluation>;
  /** The inputs of an execution it starts, from its `trigger.*` variables (InvalidInputError when refused). */
  inputs?(vars: Record<string, unknown>): Record<string, unknown>;
  /** The trigger's settings as a dashboard shows them; never a secret. */
  settings(): Record<string, string | number>;
}

/** Shared by every trigger of one scheduler. */
export interface TriggerEnv {
  env: NodeJS.ProcessEnv;
  masker: Masker;
  secretsFile?: string | undefined;
  logger: Logger;
  client?: TaskContext['client'];
  /** Identical polls in flight at once share one call. */
  polls: PollCache;
}

export type TriggerFactory = (flow: Flow, node: TriggerNode, env: TriggerEnv) => TriggerInstance;

const KINDS = new Map<string, TriggerFactory>();

export function registerTriggerKind(type: string, factory: TriggerFactory): void {
  KINDS.set(type, factory);
}

export function isSchedulable(type: string): boolean {
  return KINDS.has(type);
}

/** Builds a trigger's instance; InvalidInputError if its properties or kind are not acceptable. */
export function createTrigger(flow: Flow, node: TriggerNode, env: TriggerEnv): TriggerInstance {
  const factory = KINDS.get(node.type);
  if (!factory)
    throw new InvalidInputError(`trigger '${node.id}': ${node.type} cannot be scheduled`, node.id);
  return factory(flow, node, env);
}

/** What rendering a trigger's values needs: the environment, the masker, the secrets file. */
export type RenderEnv = Pick<TriggerEnv, 'env' | 'masker' | 'secretsFile'>;

/** Renders a value of a trigger (its key, its inputs) with `secret()`, flow, vars and `extra` (e.g. `trigger`). */
export function renderForTrigger(
  flow: Flow,
  trigger: TriggerNode,
  value: unknown,
  what: string,
  re: RenderEnv,
  extra: Record<string, unknown> = {},
): unknown {
  const secrets = new SecretStore(re.env, re.masker, re.secretsFile);
  const context = {
    flow: { id: flow.id, namespace: flow.namespace },
    vars: flow.variables,
    labels: flow.labels,
    ...extra,
  };
  return renderValue(value, context, {
    where: `trigger '${trigger.id}', property '${what}'`,
    secret: (n) => secrets.get(n),
    masker: re.masker,
  });
}

/** Renders a trigger's properties (secrets, vars) and validates them. */
export function resolveTriggerProps(
  flow: Flow,
  trigger: TriggerNode,
  te: Pick<TriggerEnv, 'env' | 'masker' | 'secretsFile'>,
): StatsTriggerProps {
  const secrets = new SecretStore(te.env, te.masker, te.secretsFile);
  const context = {
    flow: { id: flow.id, namespace: flow.namespace },
    vars: flow.variables,
    labels: flow.labels,
  };
  const rendered = renderValue(
    trigger.props,
    context,
    {
      where: `trigger '${trigger.id}' of flow ${flow.namespace}.${flow.id}`,
      ...(trigger.path ? { locate: (sub) => locate(flow, trigger.path as string, sub) } : {}),
      secret: (n) => secrets.get(n),
      masker: te.masker,
    },
    (path) => takesTextAt(trigger.def.props, path),
  );
  const empty = emptyTokenError(
    trigger.props.apiToken,
    (rendered as Record<string, unknown>).apiToken,
    secrets,
    `${locate(flow, `${trigger.path ?? `trigger '${trigger.id}'`}.apiToken`)}: trigger '${trigger.id}' of flow ${flow.namespace}.${flow.id}`,
  );
  if (empty) throw empty;
  const props = parseProps(trigger.def, rendered, `trigger '${trigger.id}'`) as StatsTriggerProps;
  te.masker.addCredential(props.apiToken);
  return props;
}

/** Shares identical polls in flight at the same time: one API call per distinct key. */
export class PollCache {
  readonly #pending = new Map<string, Promise<StatsPoint[]>>();
  readonly #fetch: PointsFetcher;

  /** `fetch`: where points come from (the Fastly API; tests pass a fake). */
  constructor(fetch: PointsFetcher = fetchPoints) {
    this.#fetch = fetch;
  }

  fetch(
    props: StatsTriggerProps,
    window: { from: number; to: number },
    ctx: TaskContext,
  ): Promise<StatsPoint[]> {
    const key = pollKey(props, window);
    let p = this.#pending.get(key);
    if (!p) {
      p = this.#fetch(props, window, ctx);
      this.#pending.set(key, p);
      const forget = () => this.#pending.delete(key);
      p.then(forget, forget);
    }
    return p;
  }

  get size(): number {
    return this.#pending.size;
  }
}

export { MIN_STATS_INTERVAL_S };

/** StatsTrigger: polls a stats field every `interval` and fires on EVERY_MATCH or CROSSING. */
function statsTrigger(flow: Flow, node: TriggerNode, te: TriggerEnv): TriggerInstance {
  const props = resolveTriggerProps(flow, node, te);
  const endpoint = resolveEndpoint(props.baseUrl, te.env);
  const intervalS = seconds(props.interval);
  const problem = intervalProblem(props.interval, endpoint);
  if (problem) throw new InvalidInputError(`${flow.file}: trigger '${node.id}': ${problem}`, node.id);
  // Same poll, same jitter: identical polls stay due together and share one call.
  const pollId = JSON.stringify([props.serviceId, props.field, props.window, props.by, props.delay]);
  const jitterMs =
    (createHash('sha1').update(pollId).digest().readUInt16BE(0) % 1000) * Math.min(1, intervalS / 60);
  const intervalMs = Math.round(intervalS * 1000 + jitterMs);
  return {
    type: node.type,
    observed: true,
    nextDue: (afterMs) => afterMs + intervalMs,
    settings: () => ({
      field: props.field,
      threshold: props.threshold,
      comparator: props.comparator,
      aggregation: props.aggregation,
      interval: props.interval,
      window: props.window,
      fireOn: props.fireOn,
    }),
    async evaluate({ at, signal, armed }) {
      const ctx: TaskContext = { logger: te.logger, env: te.env, client: te.client, signal };
      const result = await evaluate(props, ctx, Math.floor(at / 1000), (p, w, c) => te.polls.fetch(p, w, c));
      const verdict = decide(props.fireOn, result.matched, armed);
      return {
        fire: verdict.fire,
        armed: verdict.armed,
        vars: result.variables,
        value: result.value,
        matched: result.matched,
        summary: `${props.field} ${props.aggregation} = ${result.value} ${props.comparator} ${props.threshold} → ${result.matched ? 'true' : 'false'}${verdict.fire ? ', fires' : ''}`,
      };
    },
  };
}

registerTriggerKind(StatsTrigger.type, statsTrigger);

/** Executions of one slot share an id: a slot fired twice (by a replay or two replicas) runs once. */
export const slotExecutionId = (key: string, slotMs: number) =>
  createHash('sha256').update(`${key}@${slotMs}`).digest('base64url').slice(0, 22);

/**
 * Schedule: due at each cron slot; every slot fires (even while the previous execution runs), with
 * an id derived from the slot. A new trigger starts at the next slot (no backfill); after a restart
 * the slots missed are run as `recoverMissedSchedules` and `lateMaximumDelay` say.
 */
function scheduleTrigger(flow: Flow, node: TriggerNode, te: TriggerEnv): TriggerInstance {
  const props = parseProps(Schedule, node.props, `trigger '${node.id}'`);
  const key = `${flow.namespace}.${flow.id}.${node.id}`;
  const after = (ms: number) => nextSlot(props, ms) ?? Number.POSITIVE_INFINITY;
  return {
    type: node.type,
    overlapping: true,
    nextDue: after,
    firstDue: after,
    catchUp(due, nowMs, recovering) {
      // The slots in [due, now]: `due` is a slot, or just after the last one handled (an old state).
      const due_ = slotsBetween(props, due - 1, nowMs);
      const run = notTooLate(
        props,
        recovering ? recoverable(props.recoverMissedSchedules, due_) : due_,
        nowMs,
      );
      if (recovering && due_.length > 1)
        te.logger.info(
          `schedule ${key}: ${due_.length} slot(s) missed while stopped; running ${run.length} (recoverMissedSchedules: ${props.recoverMissedSchedules}${props.lateMaximumDelay ? `, lateMaximumDelay: ${props.lateMaximumDelay}` : ''})`,
        );
      return run;
    },
    settings: () => ({
      cron: props.cron,
      ...(props.timezone ? { timezone: props.timezone } : {}),
    }),
    inputs: (vars) =>
      resolveInputs(
        flow.inputs,
        props.inputs
          ? (renderForTrigger(flow, node, props.inputs, 'inputs', te, { trigger: vars }) as Record<
              string,
              unknown
            >)
          : {},
        'schedule',
      ),
    evaluate: ({ at, armed }) => {
      const vars = slotVariables(props, at);
      return Promise.resolve({
        fire: true,
        armed,
        vars,
        executionId: slotExecutionId(key, at),
        createdAt: new Date(at).toISOString(),
        announce: (k, id) => `schedule ${k}: slot ${String(vars.date)} started execution ${id}`,
        summary: `slot ${String(vars.date)}`,
      });
    },
  };
}

registerTriggerKind(Schedule.type, scheduleTrigger);

/** Webhook: never polled; the server's webhook route fires it (`Scheduler.fire`) with the request. */
function webhookTrigger(flow: Flow, node: TriggerNode, te: TriggerEnv): TriggerInstance {
  return {
    type: node.type,
    overlapping: true,
    nextDue: () => Number.POSITIVE_INFINITY,
    firstDue: () => Number.POSITIVE_INFINITY,
    settings: () => ({}),
    inputs(vars) {
      // The key is rendered and compared by the route; only the inputs are needed here.
      const given = (node.props as Partial<WebhookProps>).inputs;
      return resolveInputs(
        flow.inputs,
        given
          ? (renderForTrigger(flow, node, given, 'inputs', te, { trigger: vars }) as Record<string, unknown>)
          : {},
        'webhook',
      );
    },
    evaluate: () => Promise.reject(new Error(`a ${Webhook.type} is fired by its HTTP route, not polled`)),
  };
}

registerTriggerKind(Webhook.type, webhookTrigger);

/** One evaluation of a StatsTrigger outside the server (`run` of a flow with a trigger, tests). */
export function evaluateTrigger(props: StatsTriggerProps, ctx: TaskContext, nowSeconds: number) {
  return evaluate(props, ctx, nowSeconds);
}
