import type { Hono } from 'hono';
import type { Scheduler, TriggerSnapshot } from '../../flow/scheduler.js';
import type { TriggerState } from '../../flow/state.js';
import type { Masker } from '../../masker.js';
import { JavaDouble } from '../../pebble/index.js';
import type { FlowRegistry } from '../../runtime/flows.js';
import { json, type RouteModule } from '../app.js';
import { hideWebhookKeys } from './flows.js';
import { API_PREFIXES, inNamespace, pageOf, readPaging } from './paging.js';

export interface TriggerRoutesDeps {
  flows: FlowRegistry;
  scheduler: Scheduler;
  masker: Masker;
  /**
   * Replicas: the triggers' states as stored. Each replica evaluates only the slots it claims, so
   * its scheduler's own states lag; the database's are the same from any replica.
   */
  stored?: (() => Promise<TriggerState[]>) | undefined;
}

/**
 * Kestra's `Trigger` (the trigger's context): where it is, when it was last evaluated (`date`) and
 * when it is next (`nextExecutionDate`), plus the state its kind keeps: a StatsTrigger's last value,
 * whether it matched, whether it is armed (CROSSING), how often it fired, its failures and last error.
 */
export interface TriggerContext {
  tenantId: 'main';
  namespace: string;
  flowId: string;
  triggerId: string;
  type: string;
  date?: string;
  nextExecutionDate?: string;
  disabled: boolean;
  lastValue?: number | null;
  lastMatched?: boolean;
  armed?: boolean;
  fired?: number;
  failures?: number;
  lastError?: string;
}

/** One row of Kestra's `triggers/search`: the trigger as declared and its context. */
export interface TriggerRow {
  abstractTrigger: Record<string, unknown>;
  triggerContext: TriggerContext;
}

const iso = (ms: number | undefined) =>
  ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();

/** Every trigger of the loaded flows, with the state its kind keeps (`stored`: those states, by key). */
export function triggerRows(deps: TriggerRoutesDeps, stored?: readonly TriggerState[]): TriggerRow[] {
  const kept = new Map(stored?.map((s) => [s.key, s]));
  const stats = new Map<string, TriggerSnapshot>(
    deps.scheduler.triggers().map((t) => {
      const s = kept.get(t.key);
      return [t.key, s ? { ...t, ...s } : t];
    }),
  );
  const rows: TriggerRow[] = [];
  deps.flows.refresh();
  for (const flow of deps.flows.all()) {
    hideWebhookKeys(flow, deps.masker);
    for (const t of flow.triggers) {
      const key = `${flow.namespace}.${flow.id}.${t.id}`;
      const disabled = flow.disabled || t.disabled;
      const context: TriggerContext = {
        tenantId: 'main',
        namespace: flow.namespace,
        flowId: flow.id,
        triggerId: t.id,
        type: t.type,
        disabled,
      };
      const s = stats.get(key);
      if (s) {
        // Every kind keeps its last evaluation and next date; a polled kind (StatsTrigger) its values too.
        Object.assign(context, {
          ...(s.lastEvaluation ? { date: s.lastEvaluation } : {}),
          ...(iso(s.nextDue) && !disabled && !s.stopped ? { nextExecutionDate: iso(s.nextDue) } : {}),
          ...(s.observed
            ? {
                // A Double, as the trigger's `value` output is in Kestra: written 87.0.
                ...(s.lastValue !== undefined
                  ? { lastValue: s.lastValue === null ? null : new JavaDouble(s.lastValue) }
                  : {}),
                ...(s.lastMatched !== undefined ? { lastMatched: s.lastMatched } : {}),
                armed: s.armed,
                fired: s.fired,
                failures: s.failures,
                ...(s.lastError ? { lastError: s.lastError } : {}),
              }
            : {}),
          disabled: disabled || s.stopped === true,
        });
      }
      rows.push({
        abstractTrigger: deps.masker.maskValues({ id: t.id, type: t.type, ...t.props, disabled: t.disabled }),
        triggerContext: deps.masker.maskValues(context),
      });
    }
  }
  return rows;
}

const SORT_FIELDS = ['triggerId', 'flowId', 'namespace', 'date', 'nextExecutionDate'] as const;

/** `GET …/triggers/search` (page, size, sort, q, namespace prefix, flowId), as Kestra's. */
export function triggerRoutes(deps: TriggerRoutesDeps): RouteModule {
  return (app: Hono) => {
    for (const prefix of API_PREFIXES) {
      app.get(`${prefix}/triggers/search`, async (c) => {
        const paging = readPaging(c, SORT_FIELDS);
        if (paging instanceof Response) return paging;
        const { namespace, flowId, q } = c.req.query();
        const needle = q?.toLowerCase();
        const rows = triggerRows(deps, await deps.stored?.())
          .filter(({ triggerContext: t }) => inNamespace(t.namespace, namespace))
          .filter(({ triggerContext: t }) => !flowId || t.flowId === flowId)
          .filter(
            ({ triggerContext: t }) =>
              !needle || [t.triggerId, t.flowId, t.namespace].some((s) => s.toLowerCase().includes(needle)),
          )
          .sort(
            (a, b) =>
              a.triggerContext.namespace.localeCompare(b.triggerContext.namespace) ||
              a.triggerContext.flowId.localeCompare(b.triggerContext.flowId) ||
              a.triggerContext.triggerId.localeCompare(b.triggerContext.triggerId),
          );
        return json(
          c,
          pageOf(
            rows,
            paging,
            (r, field) => r.triggerContext[field as keyof TriggerContext] as string | undefined,
          ),
        );
      });
    }
  };
}
