import type { Context, Hono } from 'hono';
import { show } from '../../errors.js';
import type { Scheduler, TriggerSnapshot } from '../../flow/scheduler.js';
import type { TriggerState } from '../../flow/state.js';
import type { Masker } from '../../masker.js';
import { JavaDouble } from '../../pebble/index.js';
import type { FlowRegistry } from '../../runtime/flows.js';
import { fail, json, type RouteModule } from '../app.js';
import {
  EQUALITY,
  many,
  MEMBERSHIP,
  one,
  readFilters,
  scopeFilter,
  type SearchSpec,
  TEXT,
  textMatches,
} from './filters.js';
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

/** What Kestra's `triggers/search` takes (TriggerController.searchTriggers), `workerId` aside. */
const TRIGGER_SEARCH: SearchSpec = {
  route: 'triggers/search',
  params: ['page', 'size', 'sort', 'filters', 'q', 'namespace', 'flowId'],
  fields: {
    q: EQUALITY,
    scope: MEMBERSHIP,
    namespace: TEXT,
    flowId: TEXT,
    triggerId: ['EQUALS', 'NOT_EQUALS', 'CONTAINS', 'STARTS_WITH', 'ENDS_WITH', 'IN', 'NOT_IN'],
    triggerState: EQUALITY,
  },
};

/** Kestra's filters on triggers as one test of a trigger's context; every filter must pass. */
function triggerFilters(c: Context): ((t: TriggerContext) => boolean) | Response {
  // Kestra's workers evaluate its triggers; here the scheduler does, and no trigger has a worker.
  const worker = c.req.query('workerId');
  if (worker !== undefined)
    return fail(
      c,
      400,
      `workerId: ${show(worker)} is not allowed; the server evaluates its triggers itself, with no workers: search without it`,
    );
  const filters = readFilters(c, TRIGGER_SEARCH);
  if (filters instanceof Response) return filters;
  const tests: ((t: TriggerContext) => boolean)[] = [];
  for (const f of filters) {
    if (f.field === 'q') {
      const needle = one(f).toLowerCase();
      const negate = f.op === 'NOT_EQUALS';
      tests.push(
        (t) => [t.triggerId, t.flowId, t.namespace].some((s) => s.toLowerCase().includes(needle)) !== negate,
      );
    } else if (f.field === 'scope') {
      const s = scopeFilter(c, f.key, f.op, many(f));
      if (s instanceof Response) return s;
      if (s === 'none') tests.push(() => false);
      else if (s) tests.push((t) => textMatches(t.namespace, s.op, [s.value]));
    } else if (f.field === 'namespace' || f.field === 'flowId' || f.field === 'triggerId') {
      const field = f.field;
      tests.push((t) => textMatches(t[field], f.op, many(f)));
    } else if (f.field === 'triggerState') {
      const v = one(f);
      if (v !== 'enabled' && v !== 'disabled')
        return fail(c, 400, `${f.key}: ${show(v)} is not allowed; expected enabled or disabled`);
      const disabled = (v === 'disabled') !== (f.op === 'NOT_EQUALS');
      tests.push((t) => t.disabled === disabled);
    }
  }
  return (t) => tests.every((test) => test(t));
}

/** `GET …/triggers/search` (page, size, sort, q, namespace prefix, flowId, filters), as Kestra's. */
export function triggerRoutes(deps: TriggerRoutesDeps): RouteModule {
  return (app: Hono) => {
    for (const prefix of API_PREFIXES) {
      app.get(`${prefix}/triggers/search`, async (c) => {
        const paging = readPaging(c, SORT_FIELDS);
        if (paging instanceof Response) return paging;
        const test = triggerFilters(c);
        if (test instanceof Response) return test;
        const { namespace, flowId, q } = c.req.query();
        const needle = q?.toLowerCase();
        const rows = triggerRows(deps, await deps.stored?.())
          .filter(({ triggerContext: t }) => inNamespace(t.namespace, namespace) && test(t))
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
