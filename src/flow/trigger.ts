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
  /** Epoch ms of the evaluation that follows one due at `afterMs`. */
  nextDue(afterMs: number): number;
  evaluate(input: EvaluationInput): Promise<Evaluation>;
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

/** One evaluation of a StatsTrigger outside the server (`run` of a flow with a trigger, tests). */
export function evaluateTrigger(props: StatsTriggerProps, ctx: TaskContext, nowSeconds: number) {
  return evaluate(props, ctx, nowSeconds);
}
