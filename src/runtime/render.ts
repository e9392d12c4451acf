import { renderValue } from '../flow/expressions.js';
import type { Flow, TriggerNode } from '../flow/load.js';
import type { Masker } from '../masker.js';
import { SecretStore } from '../flow/secrets.js';

export interface RenderEnv {
  env: NodeJS.ProcessEnv;
  masker: Masker;
  secretsFile?: string | undefined;
}

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
