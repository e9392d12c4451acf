import { readFileSync } from 'node:fs';
import type { Context, Hono } from 'hono';
import { show } from '../../errors.js';
import type { Flow } from '../../flow/load.js';
import type { Masker } from '../../masker.js';
import { Webhook } from '../../tasks/core/Webhook.js';
import type { FlowRegistry } from '../../runtime/flows.js';
import { parseYamlJava } from '../../pebble/yaml-numbers.js';
import { fail, json, type RouteModule } from '../app.js';
import {
  EQUALITY,
  many,
  MEMBERSHIP,
  one,
  pairs,
  readFilters,
  scopeFilter,
  type SearchSpec,
  TEXT,
  textMatches,
} from './filters.js';
import { API_PREFIXES, inNamespace, labelsFilter, pageOf, readPaging } from './paging.js';

export interface FlowRoutesDeps {
  flows: FlowRegistry;
  masker: Masker;
}

/** A flow in the shape of Kestra's API (`Flow`; `FlowWithSource` with its YAML when `source`). */
export interface FlowView {
  id: string;
  namespace: string;
  tenantId: 'main';
  revision: number;
  description?: string;
  labels: { key: string; value: string }[];
  disabled: boolean;
  deleted: false;
  source?: string;
  [property: string]: unknown;
}

/** The flow file's text, or undefined when it is gone since it was loaded. */
function sourceOf(flow: Flow): string | undefined {
  try {
    return readFileSync(flow.file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The flow as its file declares it (tasks, triggers, inputs… as written, expressions unrendered),
 * with Kestra's fields: `labels` as a list, `revision`, `disabled`, `deleted`. Secrets the server
 * knows are hidden in it, the source included.
 */
export function flowView(flow: Flow, masker: Masker, withSource = false): FlowView {
  hideWebhookKeys(flow, masker);
  const source = sourceOf(flow);
  let declared: Record<string, unknown> = {};
  try {
    const doc: unknown = source === undefined ? undefined : parseYamlJava(source);
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) declared = doc as Record<string, unknown>;
  } catch {
    // edited into invalid YAML since it was loaded: the loaded version's fields below still answer
  }
  const view: FlowView = {
    ...declared,
    id: flow.id,
    namespace: flow.namespace,
    tenantId: 'main',
    revision: flow.revision ?? 1,
    ...(flow.description === undefined ? {} : { description: flow.description }),
    labels: Object.entries(flow.labels).map(([key, value]) => ({ key, value })),
    disabled: flow.disabled,
    deleted: false,
    ...(withSource && source !== undefined ? { source } : {}),
  };
  return masker.maskValues(view);
}

/**
 * A Webhook's key is its URL's only authorization: one written in the flow (not read from a secret)
 * is hidden like a secret wherever the server shows the flow (the webhook route does the same).
 */
export function hideWebhookKeys(flow: Flow, masker: Masker): void {
  for (const t of flow.triggers) {
    const key = t.props.key;
    if (t.type === Webhook.type && typeof key === 'string' && !key.includes('{{')) masker.add(key);
  }
}

const SORT_FIELDS = ['id', 'namespace'] as const;

/** Whether the flow matches Kestra's `q` filter (id, namespace or description, any case). */
const matches = (flow: Flow, q: string | undefined) =>
  !q ||
  [flow.id, flow.namespace, flow.description ?? ''].some((s) => s.toLowerCase().includes(q.toLowerCase()));

/** What Kestra's `flows/search` takes (FlowController.searchFlows). */
const FLOW_SEARCH: SearchSpec = {
  route: 'flows/search',
  params: ['page', 'size', 'sort', 'filters', 'q', 'scope', 'namespace', 'labels'],
  fields: { q: EQUALITY, scope: MEMBERSHIP, namespace: TEXT, flowId: TEXT, labels: ['EQUALS'] },
};

/** Kestra's filters on flows (and its legacy `scope`) as one test; every filter must pass. */
function flowFilters(c: Context): ((flow: Flow) => boolean) | Response {
  const filters = readFilters(c, FLOW_SEARCH);
  if (filters instanceof Response) return filters;
  const scope = c.req.query('scope');
  if (scope) filters.push({ field: 'scope', op: 'IN', value: scope.split(','), key: 'scope' });
  const tests: ((flow: Flow) => boolean)[] = [];
  for (const f of filters) {
    if (f.field === 'q') {
      const negate = f.op === 'NOT_EQUALS';
      tests.push((flow) => matches(flow, one(f)) !== negate);
    } else if (f.field === 'scope') {
      const s = scopeFilter(c, f.key, f.op, many(f));
      if (s instanceof Response) return s;
      if (s === 'none') tests.push(() => false);
      else if (s) tests.push((flow) => textMatches(flow.namespace, s.op, [s.value]));
    } else if (f.field === 'namespace' || f.field === 'flowId') {
      const field = f.field === 'namespace' ? 'namespace' : 'id';
      tests.push((flow) => textMatches(flow[field], f.op, many(f)));
    } else if (f.field === 'labels') {
      for (const pair of pairs(f)) {
        const at = pair.indexOf(':');
        if (at < 1) return fail(c, 400, `${f.key}: ${show(pair)} is not allowed; expected key:value`);
        const [key, value] = [pair.slice(0, at), pair.slice(at + 1)];
        tests.push((flow) => key in flow.labels && flow.labels[key] === value);
      }
    }
  }
  return (flow) => tests.every((t) => t(flow));
}

const bool = (c: Context, name: string): boolean | Response => {
  const v = c.req.query(name);
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  return fail(c, 400, `${name}: ${show(v)} is not allowed; expected true or false`);
};

/**
 * Kestra's flow reads: `GET …/flows/search` (page, size, sort, q, namespace prefix, labels),
 * `GET …/flows/{namespace}` (the namespace's flows) and `GET …/flows/{namespace}/{id}`
 * (`?source=true` adds the YAML).
 */
export function flowRoutes(deps: FlowRoutesDeps): RouteModule {
  const all = () => {
    deps.flows.refresh();
    return deps.flows.all();
  };
  return (app: Hono) => {
    for (const prefix of API_PREFIXES) {
      app.get(`${prefix}/flows/search`, (c) => {
        const paging = readPaging(c, SORT_FIELDS);
        if (paging instanceof Response) return paging;
        const labels = labelsFilter(c);
        if (labels instanceof Response) return labels;
        const test = flowFilters(c);
        if (test instanceof Response) return test;
        const { namespace, q } = c.req.query();
        const found = all()
          .filter((f) => inNamespace(f.namespace, namespace) && matches(f, q) && test(f))
          .filter((f) => labels.every((l) => f.labels[l.key] === l.value && l.key in f.labels))
          .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.id.localeCompare(b.id));
        const page = pageOf(found, paging, (f, field) => (field === 'id' ? f.id : f.namespace));
        return json(c, { results: page.results.map((f) => flowView(f, deps.masker)), total: page.total });
      });
      app.get(`${prefix}/flows/:namespace`, (c) => {
        const namespace = c.req.param('namespace');
        const found = all()
          .filter((f) => f.namespace === namespace)
          .sort((a, b) => a.id.localeCompare(b.id));
        return json(
          c,
          found.map((f) => flowView(f, deps.masker)),
        );
      });
      app.get(`${prefix}/flows/:namespace/:id`, (c) => {
        const { namespace, id } = c.req.param();
        const source = bool(c, 'source');
        if (source instanceof Response) return source;
        const allowDeleted = bool(c, 'allowDeleted');
        if (allowDeleted instanceof Response) return allowDeleted;
        const revision = c.req.query('revision');
        const flow = all().find((f) => f.namespace === namespace && f.id === id);
        if (!flow) return fail(c, 404, `flow ${namespace}.${id} not found`);
        if (revision !== undefined && Number(revision) !== (flow.revision ?? 1))
          return fail(
            c,
            404,
            `flow ${namespace}.${id}: revision ${show(revision)} not found; the server keeps only revision ${flow.revision ?? 1}`,
          );
        return json(c, flowView(flow, deps.masker, source));
      });
    }
  };
}
