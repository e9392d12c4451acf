import type { StatsPoint } from '../fastly/types.js';
import {
  type Assessment,
  evaluate,
  fetchPoints,
  pollKey,
  type StatsTriggerProps,
} from '../tasks/stats/StatsTrigger.js';
import { parseProps, type TaskContext } from '../tasks/task.js';
import { renderValue } from './expressions.js';
import type { Flow, TriggerNode } from './load.js';
import type { Masker } from '../logger.js';
import { SecretStore } from './secrets.js';

export interface TriggerEnv {
  env: NodeJS.ProcessEnv;
  masker: Masker;
  secretsFile?: string | undefined;
}

/** Renders a trigger's properties (secrets, vars) and validates them. */
export function resolveTriggerProps(flow: Flow, trigger: TriggerNode, te: TriggerEnv): StatsTriggerProps {
  const secrets = new SecretStore(te.env, te.masker, te.secretsFile);
  const context = {
    flow: { id: flow.id, namespace: flow.namespace },
    vars: flow.variables,
    labels: flow.labels,
  };
  const rendered = renderValue(trigger.props, context, {
    where: `trigger '${trigger.id}'`,
    secret: (n) => secrets.get(n),
  });
  const props = parseProps(trigger.def, rendered, `trigger '${trigger.id}'`) as StatsTriggerProps;
  te.masker.addCredential(props.apiToken);
  return props;
}

/** Shares identical polls made at the same moment: one API call per distinct key. */
export class PollCache {
  readonly #pending = new Map<string, Promise<StatsPoint[]>>();

  fetch(
    props: StatsTriggerProps,
    window: { from: number; to: number },
    ctx: TaskContext,
  ): Promise<StatsPoint[]> {
    const key = pollKey(props, window);
    let p = this.#pending.get(key);
    if (!p) {
      p = fetchPoints(props, window, ctx);
      this.#pending.set(key, p);
    }
    return p;
  }

  clear(): void {
    this.#pending.clear();
  }
}

/** One evaluation of a StatsTrigger at `nowSeconds`, sharing identical polls through `cache`. */
export function evaluateTrigger(
  props: StatsTriggerProps,
  ctx: TaskContext,
  nowSeconds: number,
  cache?: PollCache,
): Promise<Assessment> {
  return evaluate(props, ctx, nowSeconds, cache ? (p, w, c) => cache.fetch(p, w, c) : undefined);
}
