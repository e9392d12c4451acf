/**
 * Kestra's query filters (`QueryFilter`) as its clients send them on the search routes:
 * `filters[FIELD][OPERATION]=VALUE` (Kestra's UI ≥ 0.22, its Java and newer SDKs; labels as
 * `filters[labels][EQUALS][KEY]=VALUE`), and the JSON objects the 0.24 JavaScript SDK writes
 * (`filters={"field":"STATE","operation":"IN","value":[…]},…`), which Kestra itself drops.
 * Unknown parameters, fields, operations and values are refused with one line, as Kestra's
 * `QueryFilter.validateQueryFilters` and `Enums.fromString` refuse theirs.
 */
import type { Context } from 'hono';
import { show } from '../../errors.js';
import { DATE_OPS, TEXT_OPS } from '../../runtime/store.js';
import { fail } from '../app.js';

/** Kestra's `QueryFilter.Op`. */
export const OPS = [
  'EQUALS',
  'NOT_EQUALS',
  'GREATER_THAN',
  'LESS_THAN',
  'GREATER_THAN_OR_EQUAL_TO',
  'LESS_THAN_OR_EQUAL_TO',
  'IN',
  'NOT_IN',
  'STARTS_WITH',
  'ENDS_WITH',
  'CONTAINS',
  'REGEX',
  'PREFIX',
] as const;
export type Op = (typeof OPS)[number];

/** The text operations of Kestra's namespace and flowId fields that both stores run (not REGEX). */
export const TEXT = TEXT_OPS;
export const EQUALITY = ['EQUALS', 'NOT_EQUALS'] as const;
export const MEMBERSHIP = ['EQUALS', 'NOT_EQUALS', 'IN', 'NOT_IN'] as const;
/** Kestra's operations on a date (startDate, endDate), as both stores run them. */
export const DATES = DATE_OPS;

/** One filter as read: `key` is how the client wrote it (for messages). */
export interface QueryFilter {
  field: string;
  op: Op;
  /** IN/NOT_IN: the list; labels: key → value; otherwise one value. */
  value: string | readonly string[] | Readonly<Record<string, string>>;
  key: string;
}

/** What a search route takes: its query parameters and the filter fields with their operations. */
export interface SearchSpec {
  route: string;
  params: readonly string[];
  fields: Readonly<Record<string, readonly Op[]>>;
}

/** The Java enum names the 0.24 SDK writes (`FLOW_ID`) as Kestra's field names (`flowId`). */
const fieldName = (name: string) =>
  name === 'QUERY'
    ? 'q'
    : name === 'MIN_LEVEL'
      ? 'level'
      : /^[A-Z_]+$/.test(name)
        ? name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
        : name;

const BRACKETS = /^filters\[([^\]]*)\]\[([^\]]*)\](?:\[(.+)\])?$/;

/** IN/NOT_IN values, as Kestra reads them: comma-separated, brackets dropped. */
const list = (values: readonly string[]) =>
  values.flatMap((v) => v.replace(/[[\]]/g, '').split(',')).filter((v) => v !== '');

function check(c: Context, spec: SearchSpec, f: QueryFilter): Response | undefined {
  const ops = spec.fields[f.field];
  if (!ops)
    return fail(
      c,
      400,
      `${f.key}: field ${show(f.field)} is not allowed on ${spec.route}; expected one of ${Object.keys(spec.fields).join(', ')}`,
    );
  if (!ops.includes(f.op))
    return fail(
      c,
      400,
      `${f.key}: operation ${show(f.op)} is not allowed for ${f.field}; expected one of ${ops.join(', ')}`,
    );
  // `filters[namespace][EQUALS]` without `=value` would match nothing (or everything): refused.
  const empty =
    typeof f.value === 'string'
      ? f.value === ''
      : !Array.isArray(f.value) && Object.values(f.value).includes('');
  if (empty && !(f.op === 'IN' || f.op === 'NOT_IN'))
    return fail(c, 400, `${f.key}: a value is missing; expected ${f.key}=VALUE`);
  if ((f.op === 'IN' || f.op === 'NOT_IN') && !(f.value as readonly string[]).length)
    return fail(c, 400, `${f.key}: an empty list is not allowed; expected values separated by commas`);
  return undefined;
}

/**
 * The query's filters, checked against `spec` (an unknown parameter is refused too); the legacy
 * parameters are the route's to read.
 */
export function readFilters(c: Context, spec: SearchSpec): QueryFilter[] | Response {
  const out: QueryFilter[] = [];
  for (const [key, values] of Object.entries(c.req.queries())) {
    if (key === 'filters') {
      for (const text of values) {
        const read = jsonFilters(text);
        if (read === undefined)
          return fail(
            c,
            400,
            `filters: ${show(text)} is not allowed; expected filters[FIELD][OPERATION]=VALUE, or the JSON {"field", "operation", "value"} objects Kestra's 0.24 SDK sends`,
          );
        out.push(...read);
      }
      continue;
    }
    if (key.startsWith('filters[')) {
      const m = BRACKETS.exec(key);
      if (!m)
        return fail(
          c,
          400,
          `${key}: ${show(values[0])} is not allowed; expected filters[FIELD][OPERATION]=VALUE (labels: filters[labels][EQUALS][KEY]=VALUE)`,
        );
      const [, field = '', op = '', nested] = m;
      if (!(OPS as readonly string[]).includes(op))
        return fail(
          c,
          400,
          `${key}: operation ${show(op)} is not allowed; expected one of ${OPS.join(', ')}`,
        );
      if (nested !== undefined)
        for (const v of values) out.push({ field, op: op as Op, value: { [nested]: v }, key });
      else if (op === 'IN' || op === 'NOT_IN') out.push({ field, op, value: list(values), key });
      else for (const v of values) out.push({ field, op: op as Op, value: v, key });
      continue;
    }
    if (!spec.params.includes(key))
      return fail(
        c,
        400,
        `${key}: ${show(values[0])} is not a parameter of ${spec.route}; expected ${spec.params.join(', ')} or filters[FIELD][OPERATION]`,
      );
  }
  for (const f of out) {
    const refused = check(c, spec, f);
    if (refused) return refused;
  }
  return out;
}

/** The 0.24 SDK's `filters` value: JSON objects joined by commas (its `csv` collection format). */
function jsonFilters(text: string): QueryFilter[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(`[${text}]`);
  } catch {
    return undefined;
  }
  const out: QueryFilter[] = [];
  for (const item of parsed as unknown[]) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) return undefined;
    const { field, operation, value } = item as Record<string, unknown>;
    if (typeof field !== 'string' || typeof operation !== 'string') return undefined;
    const name = fieldName(field);
    const key = `filters[${name}][${operation}]`;
    if (!(OPS as readonly string[]).includes(operation)) return undefined;
    const op = operation as Op;
    let v: QueryFilter['value'];
    if (Array.isArray(value)) v = value.map(String);
    else if (value && typeof value === 'object')
      v = Object.fromEntries(Object.entries(value).map(([k, x]) => [k, String(x)]));
    else if (value === undefined || value === null) return undefined;
    else v = typeof value === 'string' ? value : JSON.stringify(value);
    if ((op === 'IN' || op === 'NOT_IN') && typeof v === 'string') v = list([v]);
    out.push({ field: name, op, value: v, key });
  }
  return out;
}

const isList = (v: QueryFilter['value']): v is readonly string[] => Array.isArray(v);

/** One value of a filter (IN/NOT_IN excepted). */
export const one = (f: QueryFilter): string =>
  typeof f.value === 'string' ? f.value : isList(f.value) ? (f.value[0] ?? '') : '';

/** The values of a filter: IN/NOT_IN's list, or its one value. */
export const many = (f: QueryFilter): readonly string[] =>
  typeof f.value === 'string' ? [f.value] : isList(f.value) ? f.value : [];

/** A labels filter's `key:value` pairs (a map of them, a list, or one). */
export const pairs = (f: QueryFilter): string[] =>
  typeof f.value === 'string'
    ? [f.value]
    : isList(f.value)
      ? [...f.value]
      : Object.entries(f.value).map(([k, v]) => `${k}:${v}`);

/** Whether `actual` passes a text operation (in memory, as the stores' SQL). */
export function textMatches(actual: string, op: Op, values: readonly string[]): boolean {
  const [v = ''] = values;
  switch (op) {
    case 'EQUALS':
      return actual === v;
    case 'NOT_EQUALS':
      return actual !== v;
    case 'IN':
      return values.includes(actual);
    case 'NOT_IN':
      return !values.includes(actual);
    case 'CONTAINS':
      return actual.includes(v);
    case 'STARTS_WITH':
      return actual.startsWith(v);
    case 'ENDS_WITH':
      return actual.endsWith(v);
    case 'PREFIX':
      return actual === v || actual.startsWith(`${v}.`);
    default:
      return false;
  }
}

/** Kestra's system flows' namespace (`kestra.system-flows.namespace`), which `scope` tells apart. */
export const SYSTEM_NAMESPACE = 'system';
const SCOPES = ['USER', 'SYSTEM'] as const;

/**
 * Kestra's `scope` (`USER`, `SYSTEM`, or both) as a filter on the namespace: `USER` is every
 * namespace but the system one. Undefined: no condition; a Response: a bad value.
 */
export function scopeFilter(
  c: Context,
  key: string,
  op: Op,
  values: readonly string[],
): { op: 'EQUALS' | 'NOT_EQUALS'; value: string } | 'none' | undefined | Response {
  const bad = values.find((v) => !(SCOPES as readonly string[]).includes(v.toUpperCase()));
  if (bad !== undefined || !values.length)
    return fail(c, 400, `${key}: ${show(bad ?? '')} is not allowed; expected USER or SYSTEM`);
  const scopes = new Set(values.map((v) => v.toUpperCase()));
  const negate = op === 'NOT_EQUALS' || op === 'NOT_IN';
  if (scopes.size === 2) return negate ? 'none' : undefined;
  const user = scopes.has('USER') !== negate;
  return { op: user ? 'NOT_EQUALS' : 'EQUALS', value: SYSTEM_NAMESPACE };
}
