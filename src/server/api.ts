import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { InvalidInputError, show } from '../errors.js';
import { resolveInputs } from '../flow/inputs.js';
import type { Flow, TriggerNode } from '../flow/load.js';
import { Webhook, type WebhookProps } from '../tasks/core/Webhook.js';
import type { Logger } from '../logger.js';
import { isCredentialHeader, isCredentialParameter } from '../tasks/http-call.js';
import { parseProps } from '../tasks/task.js';
import type { FlowRegistry } from '../runtime/flows.js';
import { fail, json, type RouteModule, sameSecret } from './app.js';
import { EXECUTION_STATES, type ExecutionQueue } from '../runtime/queue.js';
import type { Fired, Scheduler } from '../flow/scheduler.js';
import { type RenderEnv, renderForTrigger } from '../flow/trigger.js';
import {
  type Condition,
  type DateOp,
  type Label,
  type SearchQuery,
  SORT_FIELDS,
  type SortField,
  type TextOp,
} from '../runtime/store.js';
import { durationMs } from '../duration.js';
import { parseJson, writeJson } from '../pebble/java.js';
import {
  DATES,
  EQUALITY,
  many,
  MEMBERSHIP,
  one,
  pairs,
  type QueryFilter,
  readFilters,
  scopeFilter,
  type SearchSpec,
  TEXT,
} from './api/filters.js';
import { API_PREFIXES } from './api/paging.js';

export interface ApiDeps {
  flows: FlowRegistry;
  queue: ExecutionQueue;
  /** Webhooks fire their trigger there, as every trigger fires. */
  triggers: Pick<Scheduler, 'fire'>;
  render: RenderEnv;
  logger: Logger;
}

const notFound = (c: Context, namespace: string, flowId: string) =>
  fail(c, 404, `flow ${namespace}.${flowId} not found`);

/**
 * Answers with the execution once recorded, or when it has ended with `wait`. A webhook then answers
 * as Kestra's Webhook trigger: its `responseCode` rendered with the ended execution, by default 500
 * when the execution FAILED (200 otherwise); with `returnOutputs`, the flow's outputs as the body
 * (as text under `responseContentType: text/plain`), else the execution.
 */
async function answer(
  c: Context,
  started: Pick<Fired, 'id' | 'done' | 'created'>,
  wait: boolean,
  queue: ExecutionQueue,
  webhook?: { match: Match; render: RenderEnv },
) {
  const view = async () => (await queue.get(started.id)) ?? { id: started.id, state: { current: 'CREATED' } };
  if (!wait) return json(c, (started.created ? queue.createdView(started.id) : undefined) ?? (await view()));
  const ex = await started.done;
  if (!webhook) return json(c, await view());
  const { props, flow, trigger } = webhook.match;
  let status = ex?.state === 'FAILED' ? 500 : 200;
  if (ex && props.responseCode !== undefined) {
    let code: unknown;
    try {
      code = renderForTrigger(flow, trigger, props.responseCode, 'responseCode', webhook.render, {
        execution: { id: ex.id, state: ex.state, startDate: ex.startDate },
        inputs: ex.inputs,
        outputs: ex.outputs,
        ...(ex.trigger ? { trigger: ex.trigger } : {}),
      });
    } catch (err) {
      return fail(c, 500, webhook.render.masker.mask((err as Error).message));
    }
    const n = typeof code === 'number' ? code : Number(String(code).trim());
    // Kestra: HttpResponse.Status.valueOf refuses it, and the webhook answers 500.
    if (!Number.isInteger(n) || n < 100 || n > 599)
      return fail(c, 500, `trigger '${trigger.id}': responseCode ${show(code)} is not an HTTP status`);
    status = n;
  }
  if (ex && props.returnOutputs) {
    const outputs = ex.flowOutputs ?? {};
    if (props.responseContentType === 'text/plain')
      return c.text(writeJson(outputs), status as ContentfulStatusCode);
    return json(c, outputs, status as ContentfulStatusCode);
  }
  return json(c, await view(), status as ContentfulStatusCode);
}

/** Inputs from a form (Kestra's multipart fields), urlencoded or a JSON object. */
async function readInputs(c: Context): Promise<Record<string, unknown> | Response> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data') || type.startsWith('application/x-www-form-urlencoded')) {
    let form: Record<string, unknown>;
    try {
      form = await c.req.parseBody({ all: true });
    } catch {
      return fail(c, 400, 'the request body is not a valid form');
    }
    for (const [k, v] of Object.entries(form)) {
      if (typeof v === 'object' && v !== null && !Array.isArray(v))
        return fail(c, 422, `input '${k}': file uploads are not supported; send the value as a field`);
    }
    return form;
  }
  const text = await c.req.text();
  if (text.trim() === '') return {};
  if (type && !type.startsWith('application/json'))
    return fail(
      c,
      415,
      `unsupported Content-Type ${show(type)}; send multipart/form-data, urlencoded or application/json inputs`,
    );
  let body: unknown;
  try {
    body = parseJson(text);
  } catch (err) {
    return fail(c, 400, `the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return fail(c, 400, `the request body must be a JSON object of inputs, got ${show(body, 40)}`);
  return body as Record<string, unknown>;
}

/** Kestra's `labels` query parameter: repeated `key:value`. */
function parseLabels(c: Context): Label[] | Response {
  const out: Label[] = [];
  for (const l of c.req.queries('labels') ?? []) {
    const at = l.indexOf(':');
    if (at < 1) return fail(c, 400, `labels: ${show(l)} is not allowed; expected key:value`);
    out.push({ key: l.slice(0, at), value: l.slice(at + 1) });
  }
  return out;
}

/** An instant of the query (`startDate`, `endDate`), as Kestra reads it (an offset, or UTC). */
function instant(c: Context, name: string): string | undefined | Response {
  const v = c.req.query(name);
  if (v === undefined || v === '') return undefined;
  const ms = Date.parse(/(?:Z|[+-]\d\d:?\d\d)$/i.test(v) ? v : `${v}Z`);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v) || Number.isNaN(ms))
    return fail(
      c,
      400,
      `${name}: ${show(v)} is not allowed; expected a date-time such as 2026-12-07T05:00:00Z`,
    );
  return new Date(ms).toISOString();
}

/** The search filters Kestra's UI sends besides namespace, flowId and state: dates, timeRange, labels, sort. */
function searchFilters(
  c: Context,
): Pick<SearchQuery, 'startDate' | 'endDate' | 'labels' | 'sort'> | Response {
  let startDate = instant(c, 'startDate');
  if (startDate instanceof Response) return startDate;
  const endDate = instant(c, 'endDate');
  if (endDate instanceof Response) return endDate;
  const range = c.req.query('timeRange');
  if (range !== undefined) {
    if (startDate !== undefined)
      return fail(c, 400, "timeRange: parameters 'startDate' and 'timeRange' are mutually exclusive");
    const ms = durationMs(range);
    if (ms === undefined)
      return fail(
        c,
        400,
        `timeRange: ${show(range)} is not allowed; expected an ISO-8601 duration such as PT5M or P1D`,
      );
    startDate = new Date(Date.now() - ms).toISOString();
  }
  if (startDate && endDate && startDate > endDate)
    return fail(c, 400, `endDate: ${show(c.req.query('endDate'))} is before startDate`);
  const labels = parseLabels(c);
  if (labels instanceof Response) return labels;
  let sort: SearchQuery['sort'];
  const s = c.req.queries('sort')?.[0];
  if (s !== undefined) {
    const [field, dir = 'asc'] = s.split(':');
    if (!(SORT_FIELDS as readonly string[]).includes(field as string) || !['asc', 'desc'].includes(dir))
      return fail(
        c,
        400,
        `sort: ${show(s)} is not allowed; expected FIELD:asc or FIELD:desc, FIELD one of ${SORT_FIELDS.join(', ')}`,
      );
    sort = { field: field as SortField, desc: dir === 'desc' };
  }
  return {
    ...(startDate ? { startDate } : {}),
    ...(endDate ? { endDate } : {}),
    ...(labels.length ? { labels } : {}),
    ...(sort ? { sort } : {}),
  };
}

/** What Kestra's `executions/search` takes (ExecutionController.searchExecutions). */
const EXECUTION_SEARCH: SearchSpec = {
  route: 'executions/search',
  params: [
    'page',
    'size',
    'sort',
    'filters',
    'q',
    'scope',
    'namespace',
    'flowId',
    'startDate',
    'endDate',
    'timeRange',
    'state',
    'labels',
    'triggerExecutionId',
    'childFilter',
  ],
  fields: {
    q: EQUALITY,
    scope: MEMBERSHIP,
    namespace: TEXT,
    flowId: TEXT,
    state: MEMBERSHIP,
    labels: ['EQUALS'],
    startDate: DATES,
    endDate: DATES,
    timeRange: ['EQUALS'],
    triggerExecutionId: ['EQUALS', 'NOT_EQUALS', 'CONTAINS', 'STARTS_WITH', 'ENDS_WITH', 'IN', 'NOT_IN'],
    childFilter: EQUALITY,
  },
};

/** An ISO instant of a filter's value, as `instant` reads the legacy ones. */
function filterInstant(c: Context, f: QueryFilter): string | Response {
  const v = one(f);
  const ms = Date.parse(/(?:Z|[+-]\d\d:?\d\d)$/i.test(v) ? v : `${v}Z`);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v) || Number.isNaN(ms))
    return fail(
      c,
      400,
      `${f.key}: ${show(v)} is not allowed; expected a date-time such as 2026-12-07T05:00:00Z`,
    );
  return new Date(ms).toISOString();
}

/**
 * Kestra's filters (and its legacy `q`, `scope`, `triggerExecutionId`, `childFilter`) as the
 * store's search: every one required, with the legacy parameters' (Kestra reads only the filters
 * when both come; here both count, so that neither is dropped). `none`: nothing can match.
 */
function executionFilters(c: Context, legacy: SearchQuery): { query: SearchQuery; none: boolean } | Response {
  const filters = readFilters(c, EXECUTION_SEARCH);
  if (filters instanceof Response) return filters;
  const q = c.req.query();
  if (q.q) filters.push({ field: 'q', op: 'EQUALS', value: q.q, key: 'q' });
  if (q.scope) filters.push({ field: 'scope', op: 'IN', value: q.scope.split(','), key: 'scope' });
  if (q.triggerExecutionId !== undefined)
    filters.push({
      field: 'triggerExecutionId',
      op: 'EQUALS',
      value: q.triggerExecutionId,
      key: 'triggerExecutionId',
    });
  if (q.childFilter !== undefined)
    filters.push({ field: 'childFilter', op: 'EQUALS', value: q.childFilter, key: 'childFilter' });
  const query: SearchQuery = { ...legacy, labels: [...(legacy.labels ?? [])] };
  const conditions: Condition[] = [];
  const labels = query.labels as Label[];
  let none = false;
  for (const f of filters) {
    switch (f.field) {
      case 'q':
        if (one(f) !== '') conditions.push({ field: 'text', negate: f.op === 'NOT_EQUALS', value: one(f) });
        break;
      case 'scope': {
        const scope = scopeFilter(c, f.key, f.op, many(f));
        if (scope instanceof Response) return scope;
        if (scope === 'none') none = true;
        else if (scope) conditions.push({ field: 'namespace', op: scope.op, values: [scope.value] });
        break;
      }
      case 'namespace':
      case 'flowId': {
        // The legacy parameters' own filters when free: the stores' indexes and counters serve them.
        if (f.field === 'namespace' && f.op === 'PREFIX' && query.namespace === undefined)
          query.namespace = one(f);
        else if (f.field === 'flowId' && f.op === 'EQUALS' && query.flowId === undefined)
          query.flowId = one(f);
        else conditions.push({ field: f.field, op: f.op as TextOp, values: many(f) });
        break;
      }
      case 'state': {
        const states = many(f);
        const unknown = states.find((s) => !(EXECUTION_STATES as readonly string[]).includes(s));
        if (unknown !== undefined)
          return fail(
            c,
            400,
            `${f.key}: ${show(unknown)} is not allowed; expected one of ${EXECUTION_STATES.join(', ')}`,
          );
        if ((f.op === 'IN' || f.op === 'EQUALS') && !query.states?.length) query.states = states;
        else conditions.push({ field: 'state', op: f.op as TextOp, values: states });
        break;
      }
      case 'labels': {
        for (const pair of pairs(f)) {
          const at = pair.indexOf(':');
          if (at < 1) return fail(c, 400, `${f.key}: ${show(pair)} is not allowed; expected key:value`);
          labels.push({ key: pair.slice(0, at), value: pair.slice(at + 1) });
        }
        break;
      }
      case 'startDate':
      case 'endDate': {
        const value = filterInstant(c, f);
        if (value instanceof Response) return value;
        conditions.push({ field: f.field, op: f.op as DateOp, value });
        break;
      }
      case 'timeRange': {
        const ms = durationMs(one(f));
        if (ms === undefined)
          return fail(
            c,
            400,
            `${f.key}: ${show(one(f))} is not allowed; expected an ISO-8601 duration such as PT5M or P1D`,
          );
        conditions.push({
          field: 'startDate',
          op: 'GREATER_THAN_OR_EQUAL_TO',
          value: new Date(Date.now() - ms).toISOString(),
        });
        break;
      }
      case 'triggerExecutionId':
        // Only a subflow's or a Flow trigger's executions have a parent, and neither runs here:
        // Kestra's condition on the column, NULL for every execution here, matches none.
        none = true;
        break;
      case 'childFilter': {
        const v = one(f);
        if (v !== 'CHILD' && v !== 'MAIN')
          return fail(c, 400, `${f.key}: ${show(v)} is not allowed; expected CHILD or MAIN`);
        // Every execution here is a main one (no subflows).
        if ((v === 'CHILD') === (f.op === 'EQUALS')) none = true;
        break;
      }
    }
  }
  if (!labels.length) delete query.labels;
  if (conditions.length) query.conditions = conditions;
  return { query, none };
}

/** `POST …/executions/{namespace}/{flowId}`, `GET …/executions/{id}`, `GET …/executions/search`. */
export function executionRoutes(deps: ApiDeps): RouteModule {
  return (app: Hono) => {
    for (const prefix of API_PREFIXES) {
      const list = async (c: Context) => {
        const q = c.req.query();
        const size = q.size === undefined ? 25 : Number(q.size);
        const page = q.page === undefined ? 1 : Number(q.page);
        if (!Number.isInteger(size) || size < 1 || size > 1000)
          return fail(c, 400, `size: ${show(q.size)} is not allowed; expected a whole number from 1 to 1000`);
        if (!Number.isInteger(page) || page < 1)
          return fail(c, 400, `page: ${show(q.page)} is not allowed; expected a whole number ≥ 1`);
        // Kestra takes `state` repeated or comma-separated (any of them); an unknown state is
        // refused, not matched by nothing.
        const states = (c.req.queries('state') ?? []).flatMap((s) => s.split(','));
        const unknown = states.find((s) => !(EXECUTION_STATES as readonly string[]).includes(s));
        if (unknown !== undefined)
          return fail(
            c,
            400,
            `state: ${show(unknown)} is not allowed; expected one of ${EXECUTION_STATES.join(', ')}`,
          );
        const more = searchFilters(c);
        if (more instanceof Response) return more;
        const search = executionFilters(c, {
          namespace: q.namespace,
          flowId: q.flowId,
          states,
          page,
          size,
          ...more,
        });
        if (search instanceof Response) return search;
        if (search.none) return json(c, { results: [], total: 0 });
        return json(c, await deps.queue.search(search.query));
      };
      app.get(`${prefix}/executions/search`, list);
      app.get(`${prefix}/executions`, list);
      app.get(`${prefix}/executions/:id`, async (c) => {
        const view = await deps.queue.get(c.req.param('id'));
        return view ? json(c, view) : fail(c, 404, `execution ${show(c.req.param('id'))} not found`);
      });
      app.post(`${prefix}/executions/:namespace/:flowId`, async (c) => {
        const { namespace, flowId } = c.req.param();
        const flow = deps.flows.find(namespace, flowId);
        if (!flow) return notFound(c, namespace, flowId);
        const wait = c.req.query('wait');
        if (wait !== undefined && wait !== 'true' && wait !== 'false')
          return fail(c, 400, `wait: ${show(wait)} is not allowed; expected true or false`);
        const labels = parseLabels(c);
        if (labels instanceof Response) return labels;
        const given = await readInputs(c);
        if (given instanceof Response) return given;
        let inputs: Record<string, unknown>;
        try {
          inputs = resolveInputs(flow.inputs, given, 'api');
        } catch (err) {
          if (err instanceof InvalidInputError) return fail(c, 422, err.message);
          throw err;
        }
        const started = await deps.queue.submit(flow, { inputs, labels });
        deps.logger.info(`execution ${started.submission.id} of ${namespace}.${flowId} started by the API`);
        return answer(c, started, wait === 'true', deps.queue);
      });
    }
  };
}

interface Match {
  flow: Flow;
  trigger: TriggerNode;
  props: WebhookProps;
}

/** The flow's webhook trigger whose key is `key`; every trigger is compared, in constant time. */
function matchWebhook(deps: ApiDeps, flow: Flow | undefined, key: string): Match | undefined {
  let found: Match | undefined;
  for (const trigger of flow?.triggers ?? []) {
    if (!flow || trigger.type !== Webhook.type || trigger.disabled) continue;
    let props: WebhookProps;
    try {
      // inputs are rendered per request, with the request as `trigger`, responseCode with the ended
      // execution; the rest now.
      const { inputs, responseCode, ...rest } = trigger.props;
      const rendered = renderForTrigger(flow, trigger, rest, 'key', deps.render) as Record<string, unknown>;
      props = parseProps(
        Webhook,
        {
          ...rendered,
          ...(inputs === undefined ? {} : { inputs }),
          ...(responseCode === undefined ? {} : { responseCode }),
        },
        `trigger '${trigger.id}'`,
      );
    } catch (err) {
      deps.logger.error(
        `${flow.namespace}.${flow.id}: webhook trigger '${trigger.id}' is unusable: ${(err as Error).message}`,
      );
      continue;
    }
    deps.render.masker.add(props.key);
    if (sameSecret(key, props.key) && !found) found = { flow, trigger, props };
  }
  return found;
}

/** The request as `trigger.*`: body (parsed when JSON), headers (credentials left out), parameters. */
async function webhookVariables(c: Context): Promise<Record<string, unknown> | Response> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  const text = c.req.method === 'GET' ? '' : await c.req.text();
  let body: unknown = text === '' ? null : text;
  const looksJson = /^\s*[[{]/.test(text);
  if (type.includes('json') || (!type && looksJson)) {
    if (text.trim() !== '') {
      try {
        body = parseJson(text);
      } catch (err) {
        return fail(c, 400, `the request body is not valid JSON: ${(err as Error).message}`);
      }
    }
  } else if (type.startsWith('application/x-www-form-urlencoded')) {
    body = Object.fromEntries(new URLSearchParams(text));
  } else if (looksJson) {
    // Kestra's Webhook reads any body as a JSON map or list when it can (text/plain included),
    // and keeps the text when it cannot.
    try {
      body = parseJson(text);
    } catch {
      body = text;
    }
  }
  const headers: Record<string, string[]> = {};
  c.req.raw.headers.forEach((value, name) => {
    if (!isCredentialHeader(name)) (headers[name] ??= []).push(value);
  });
  const parameters = Object.fromEntries(
    Object.entries(c.req.queries()).filter(([name]) => !isCredentialParameter(name)),
  );
  return { body, headers, parameters };
}

/** `GET|POST|PUT …/executions/webhook/{namespace}/{flowId}/{key}`: anonymous; the key authorizes. */
export function webhookRoutes(deps: ApiDeps): RouteModule {
  return (app: Hono) => {
    for (const prefix of API_PREFIXES) {
      // Kestra's WebhookController takes GET, POST and PUT; any other method is told which.
      app.on(['PATCH', 'DELETE'], `${prefix}/executions/webhook/:namespace/:flowId/:key`, (c) => {
        c.header('allow', 'GET, POST, PUT');
        return fail(c, 405, `method ${c.req.method} is not allowed on a webhook; expected GET, POST or PUT`);
      });
      app.on(['GET', 'POST', 'PUT'], `${prefix}/executions/webhook/:namespace/:flowId/:key`, async (c) => {
        const { namespace, flowId, key } = c.req.param();
        const match = matchWebhook(deps, deps.flows.find(namespace, flowId), key);
        // One answer for an unknown flow and a wrong key: the key cannot be probed flow by flow.
        if (!match) return fail(c, 404, `no webhook for flow ${namespace}.${flowId} with this key`);
        const variables = await webhookVariables(c);
        if (variables instanceof Response) return variables;
        let started: Fired | undefined;
        try {
          started = await deps.triggers.fire(match.flow, match.trigger.id, variables);
        } catch (err) {
          if (err instanceof InvalidInputError) return fail(c, 422, deps.render.masker.mask(err.message));
          throw err;
        }
        if (!started)
          return fail(c, 503, 'the server is stopping; send it again to another replica or later');
        deps.logger.info(
          `execution ${started.id} of ${namespace}.${flowId} started by webhook '${match.trigger.id}'`,
        );
        return answer(c, started, match.props.wait, deps.queue, { match, render: deps.render });
      });
    }
  };
}
