import { createHash, randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import Twig, { type TwigStatic } from 'twig';
import { InvalidInputError, RunFailedError } from '../errors.js';

/**
 * Kestra's Pebble expressions, on twig.js (Pebble is Twig's Java sibling: same `{{ }}`, filters,
 * `??`, `is defined`). Kestra-specific functions and filters live on a private twig.js instance.
 */

/** An expression cannot be rendered (undefined variable, missing secret): a problem of the flow or its inputs. */
export class ExpressionError extends InvalidInputError {
  override readonly name: string = 'ExpressionError';
  override readonly code: string = 'EXPRESSION_ERROR';
}

export type SecretLookup = (name: string) => string;

let currentSecret: SecretLookup | undefined;
let currentErrorLogs: (() => unknown[]) | undefined;
let captured: { value: unknown } | undefined;

function toDateTime(value: unknown): DateTime {
  if (value instanceof Date) return DateTime.fromJSDate(value, { zone: 'utc' });
  if (typeof value === 'number') return DateTime.fromSeconds(value, { zone: 'utc' });
  const dt = DateTime.fromISO(String(value), { zone: 'utc' });
  if (!dt.isValid) throw new Error(`date: cannot read ${JSON.stringify(value)} as a date`);
  return dt;
}

/** Java's ChronoUnit names, as `dateAdd` takes them, in luxon's units. */
const CHRONO_UNITS: Record<string, [string, number]> = {
  MILLIS: ['milliseconds', 1],
  SECONDS: ['seconds', 1],
  MINUTES: ['minutes', 1],
  HOURS: ['hours', 1],
  HALF_DAYS: ['hours', 12],
  DAYS: ['days', 1],
  WEEKS: ['weeks', 1],
  MONTHS: ['months', 1],
  YEARS: ['years', 1],
  DECADES: ['years', 10],
  CENTURIES: ['years', 100],
};

let engine: TwigStatic | undefined;

/** Our own twig.js instance, made on first use: the functions below never touch the global `Twig`. */
function twig(): TwigStatic {
  if (engine) return engine;
  const e = Twig.factory();
  e.extendFunction('secret', (name: unknown) => {
    if (!currentSecret) throw new Error('secret() is not available here');
    return currentSecret(String(name));
  });
  e.extendFunction('now', () => new Date().toISOString());
  e.extendFunction('uuid', () => randomUUID());
  e.extendFunction('fromJson', (text: unknown) => JSON.parse(String(text)) as unknown);
  e.extendFilter('toJson', (v: unknown) => JSON.stringify(withoutTwigKeysDeep(v)));
  e.extendFilter('json', (v: unknown) => JSON.stringify(withoutTwigKeysDeep(v)));
  e.extendFilter('number', (v: unknown) => Number(v));
  e.extendFilter('values', (v: unknown) => Object.values((v ?? {}) as Record<string, unknown>));
  e.extendFilter('base64encode', (v: unknown) => Buffer.from(String(v), 'utf8').toString('base64'));
  e.extendFilter('base64decode', (v: unknown) => Buffer.from(String(v), 'base64').toString('utf8'));
  // Pebble's date filter takes Java DateTimeFormatter patterns; luxon's tokens match the common ones.
  e.extendFilter('date', (v: unknown, args?: unknown[]) => {
    const pattern = args?.[0];
    const dt = toDateTime(v);
    return typeof pattern === 'string' ? dt.toFormat(pattern) : dt.toISO();
  });
  // Kestra's own filters and functions (io.kestra.core.runners.pebble.Extension) and Pebble's that
  // twig.js lacks; the accepted names are listed in the README and refused otherwise before a run.
  e.extendFunction('json', (text: unknown) => JSON.parse(String(text)) as unknown);
  e.extendFunction('jsonDecode', (text: unknown) => JSON.parse(String(text)) as unknown);
  e.extendFunction('errorLogs', () => {
    if (!currentErrorLogs) throw new Error('errorLogs() is only available in tasks');
    return currentErrorLogs();
  });
  e.extendFilter('jsonEncode', (v: unknown) => JSON.stringify(withoutTwigKeysDeep(v)));
  e.extendFilter('dateAdd', (v: unknown, args?: unknown[]) => {
    const [amount, unit, format] = args ?? [];
    const units = Object.keys(CHRONO_UNITS).join(', ');
    if (typeof amount !== 'number' || !Number.isInteger(amount))
      throw new Error(`dateAdd: amount ${JSON.stringify(amount)} is not a whole number`);
    const key = typeof unit === 'string' ? CHRONO_UNITS[unit] : undefined;
    if (!key) throw new Error(`dateAdd: unit ${JSON.stringify(unit)} is not one of ${units}`);
    const dt = toDateTime(v).plus({ [key[0]]: amount * key[1] });
    return typeof format === 'string' ? dt.toFormat(format) : dt.toISO();
  });
  e.extendFilter('timestamp', (v: unknown) => Math.floor(toDateTime(v).toMillis() / 1000));
  e.extendFilter('timestampMilli', (v: unknown) => toDateTime(v).toMillis());
  e.extendFilter('timestampMicro', (v: unknown) => toDateTime(v).toMillis() * 1000);
  e.extendFilter('timestampNano', (v: unknown) => toDateTime(v).toMillis() * 1_000_000);
  const text = (v: unknown): string =>
    typeof v === 'string' ? v : v === null ? '' : (JSON.stringify(withoutTwigKeysDeep(v)) ?? '');
  const arg = (args: unknown[] | undefined) => text(args?.[0]);
  e.extendFilter('startsWith', (v: unknown, args?: unknown[]) => text(v).startsWith(arg(args)));
  e.extendFilter('endsWith', (v: unknown, args?: unknown[]) => text(v).endsWith(arg(args)));
  const cut = (v: unknown, sep: string, last: boolean, after: boolean) => {
    const s = text(v);
    const i = last ? s.lastIndexOf(sep) : s.indexOf(sep);
    if (i < 0) return after ? '' : s;
    return after ? s.slice(i + sep.length) : s.slice(0, i);
  };
  e.extendFilter('substringBefore', (v: unknown, a?: unknown[]) => cut(v, arg(a), false, false));
  e.extendFilter('substringBeforeLast', (v: unknown, a?: unknown[]) => cut(v, arg(a), true, false));
  e.extendFilter('substringAfter', (v: unknown, a?: unknown[]) => cut(v, arg(a), false, true));
  e.extendFilter('substringAfterLast', (v: unknown, a?: unknown[]) => cut(v, arg(a), true, true));
  e.extendFilter('slugify', (v: unknown) =>
    text(v)
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, ''),
  );
  e.extendFilter('urlencode', (v: unknown) => encodeURIComponent(text(v)));
  e.extendFilter('urldecode', (v: unknown) => decodeURIComponent(text(v).replace(/\+/g, ' ')));
  for (const algo of ['md5', 'sha1', 'sha256', 'sha512'])
    e.extendFilter(algo, (v: unknown) => createHash(algo).update(text(v), 'utf8').digest('hex'));
  e.extendFilter('string', (v: unknown) =>
    typeof v === 'object' && v !== null ? JSON.stringify(withoutTwigKeysDeep(v)) : text(v),
  );
  e.extendFilter('distinct', (v: unknown) => (Array.isArray(v) ? [...new Set(v)] : v));
  e.extendFilter('flatten', (v: unknown) => (Array.isArray(v) ? v.flat() : v));
  e.extendFilter('chunk', (v: unknown, args?: unknown[]) => {
    const size = Number(args?.[0]);
    if (!Array.isArray(v) || !Number.isInteger(size) || size < 1) return v;
    const list = v as unknown[];
    return Array.from({ length: Math.ceil(list.length / size) }, (_, i) =>
      list.slice(i * size, i * size + size),
    );
  });
  e.extendFilter('rsort', (v: unknown) => (Array.isArray(v) ? [...(v as string[])].sort().reverse() : v));
  e.extendFilter('abbreviate', (v: unknown, args?: unknown[]) => {
    const s = text(v);
    const n = Number(args?.[0]);
    return Number.isInteger(n) && n >= 3 && s.length > n ? `${s.slice(0, n - 3)}...` : s;
  });
  // Kestra's JsonWriter: a map or list printed inside text is JSON ("ids: [\"a\",\"b\"]").
  e.extendFilter('__kf_text', (v: unknown) => (isPlainData(v) ? JSON.stringify(withoutTwigKeysDeep(v)) : v));
  e.extendFilter('__kf_capture', (v: unknown) => {
    if (captured) captured.value = isPlainData(v) ? withoutTwigKeysDeep(v) : v;
    return '';
  });
  engine = e;
  return e;
}

/** A list or a plain object (a map), not a Date or other class. */
function isPlainData(v: unknown): v is object {
  if (Array.isArray(v)) return true;
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A copy without twig.js's `_keys` entries, each map's keys in the order `_keys` recorded. */
function withoutTwigKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutTwigKeysDeep);
  if (!isPlainData(v)) return v;
  const obj = v as Record<string, unknown>;
  const recorded = Array.isArray(obj._keys) ? (obj._keys as unknown[]) : undefined;
  const own = Object.keys(obj).filter((k) => !(k === '_keys' && recorded));
  const order =
    recorded &&
    recorded.length === own.length &&
    recorded.every((k) => typeof k === 'string' && own.includes(k))
      ? (recorded as string[])
      : Object.keys(obj);
  return Object.fromEntries(order.map((k) => [k, withoutTwigKeysDeep(obj[k])]));
}

const SINGLE_EXPRESSION = /^\s*\{\{((?:(?!\{\{|\}\}).)*)\}\}\s*$/s;
/** Each `{{ expr }}` of a text, with its whitespace-control dashes (`{{- expr -}}`) apart. */
const PRINTS = /\{\{(-?)((?:(?!\{\{|\}\}).)*?)(-?)\}\}/gs;
const IGNORED_LOOKUPS = new Set(['then', 'loop', '_keys', 'toJSON', 'constructor', 'length']);
/** A template that allows for a missing value (`??`, `default`, `is defined`…): an undefined name is no error. */
export const TOLERANT = /\?\?|\bdefault\b|\bis\s+(not\s+)?(defined|null|empty)\b/;

/** Wraps the context so that lookups of missing names are recorded (twig.js itself renders them empty). */
function recording(obj: object, path: string, misses: string[]): object {
  return new Proxy(obj, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop === 'symbol') return value;
      if (!(prop in target)) {
        if (path === '' && !IGNORED_LOOKUPS.has(prop)) misses.push(prop);
        return undefined;
      }
      return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)
        ? recording(value, path ? `${path}.${prop}` : prop, misses)
        : value;
    },
    has(target, prop) {
      const has = Reflect.has(target, prop);
      if (!has && typeof prop === 'string' && !IGNORED_LOOKUPS.has(prop))
        misses.push(path ? `${path}.${prop}` : prop);
      return has;
    },
  });
}

export interface RenderScope {
  /** Where the expression lives, for messages: "task 'purge', property 'url'". */
  where: string;
  secret: SecretLookup;
  /** `errorLogs()`: the error lines of the execution's failed tasks so far. */
  errorLogs?: () => unknown[];
}

export function hasExpression(value: unknown): boolean {
  return typeof value === 'string' && (value.includes('{{') || value.includes('{%'));
}

/** Filters an expression may use: Pebble's that twig.js has, and those added above. */
export const KNOWN_FILTERS = [
  ...['abbreviate', 'abs', 'base64decode', 'base64encode', 'capitalize', 'chunk', 'date', 'dateAdd'],
  ...['default', 'distinct', 'endsWith', 'escape', 'first', 'flatten', 'join', 'json', 'jsonEncode'],
  ...['keys', 'last', 'length', 'lower', 'md5', 'merge', 'number', 'raw', 'replace', 'reverse'],
  ...['rsort', 'sha1', 'sha256', 'sha512', 'slice', 'slugify', 'sort', 'split', 'startsWith'],
  ...['string', 'substringAfter', 'substringAfterLast', 'substringBefore', 'substringBeforeLast'],
  ...['timestamp', 'timestampMicro', 'timestampMilli', 'timestampNano', 'title', 'toJson', 'trim'],
  ...['upper', 'urldecode', 'urlencode', 'values'],
];

/** Functions an expression may use. */
export const KNOWN_FUNCTIONS = [
  ...['errorLogs', 'fromJson', 'json', 'jsonDecode', 'max', 'min', 'now', 'range', 'secret', 'uuid'],
];

const FILTER_SET = new Set([...KNOWN_FILTERS, '__kf_capture', '__kf_text']);
const FUNCTION_SET = new Set(KNOWN_FUNCTIONS);

/** What a parsed template uses: filters, functions, and the task ids after `outputs.`. */
export interface TemplateUses {
  filters: string[];
  functions: string[];
  outputs: string[];
}

function usesOf(tokens: unknown): TemplateUses {
  const uses: TemplateUses = { filters: [], functions: [], outputs: [] };
  const seen = new Set<unknown>();
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    if (Array.isArray(node)) {
      node.forEach((item: unknown, i) => {
        const t = item as { type?: string; value?: unknown };
        if (t?.type === 'Twig.expression.type.variable' && t.value === 'outputs') {
          const next = node[i + 1] as { type?: string; key?: unknown; stack?: unknown[] } | undefined;
          if (next?.type === 'Twig.expression.type.key.period' && typeof next.key === 'string')
            uses.outputs.push(next.key);
          const inner = next?.stack?.[0] as { type?: string; value?: unknown } | undefined;
          if (
            next?.type === 'Twig.expression.type.key.brackets' &&
            next.stack?.length === 1 &&
            inner?.type === 'Twig.expression.type.string' &&
            typeof inner.value === 'string'
          )
            uses.outputs.push(inner.value);
        }
        walk(item);
      });
      return;
    }
    const t = node as { type?: string; value?: unknown; fn?: unknown };
    if (t.type === 'Twig.expression.type.filter' && typeof t.value === 'string') uses.filters.push(t.value);
    if (t.type === 'Twig.expression.type._function' && typeof t.fn === 'string') uses.functions.push(t.fn);
    for (const v of Object.values(node)) walk(v);
  };
  walk(tokens);
  return uses;
}

/**
 * What twig.js compiles for a template, rendering and validating alike: one `{{ expr }}` is captured
 * with its type (a list stays a list); in text, each printed map or list becomes JSON.
 */
function twigSource(template: string): { single: boolean; source: string } {
  const single = SINGLE_EXPRESSION.exec(template);
  if (single) return { single: true, source: `{{ (${single[1]}) | __kf_capture }}` };
  return {
    single: false,
    source: template.replace(PRINTS, (whole, open: string, expr: string, close: string) =>
      expr.trim() ? `{{${open} (${expr}) | __kf_text ${close}}}` : whole,
    ),
  };
}

/** Parses a template (as rendering would) and lists what it uses; throws twig.js's parse error. */
export function templateUses(template: string): TemplateUses {
  if (!hasExpression(template)) return { filters: [], functions: [], outputs: [] };
  return usesOf(twig().twig({ data: twigSource(template).source, rethrow: true, autoescape: false }).tokens);
}

/**
 * Returns why a template string cannot be rendered whatever the values (a syntax error, a filter
 * or function that does not exist), or undefined (nothing is rendered).
 */
export function templateProblem(template: string): string | undefined {
  if (!hasExpression(template)) return undefined;
  let uses: TemplateUses;
  try {
    uses = templateUses(template);
  } catch (err) {
    return `cannot parse expression ${JSON.stringify(template)}: ${(err as Error).message}`;
  }
  const filter = uses.filters.find((f) => !FILTER_SET.has(f));
  if (filter !== undefined)
    return `unknown filter '${filter}' in ${JSON.stringify(template)}; expected one of ${KNOWN_FILTERS.join(', ')} (see README)`;
  const fn = uses.functions.find((f) => !FUNCTION_SET.has(f));
  if (fn !== undefined)
    return `unknown function '${fn}()' in ${JSON.stringify(template)}; expected one of ${KNOWN_FUNCTIONS.join(', ')} (see README)`;
  return undefined;
}

/** Renders one template string. A string that is one `{{ expr }}` yields the expression's own value (list, number...). */
export function renderString(
  template: string,
  context: Record<string, unknown>,
  scope: RenderScope,
): unknown {
  if (!hasExpression(template)) return template;
  const engine = twig();
  const { single, source } = twigSource(template);
  const misses: string[] = [];
  let compiled: ReturnType<TwigStatic['twig']>;
  try {
    compiled = engine.twig({ data: source, rethrow: true, autoescape: false });
  } catch (err) {
    throw new InvalidInputError(
      `${scope.where}: cannot parse expression ${JSON.stringify(template)}: ${(err as Error).message}`,
    );
  }
  const previous = { secret: currentSecret, errorLogs: currentErrorLogs, captured };
  currentSecret = scope.secret;
  currentErrorLogs = scope.errorLogs;
  const box = { value: undefined as unknown };
  captured = box;
  let text: string;
  try {
    text = compiled.render(recording(context, '', misses) as Record<string, unknown>);
  } catch (err) {
    if (err instanceof RunFailedError || err instanceof InvalidInputError) throw err;
    // twig.js wraps errors thrown by functions such as secret(); keep ours.
    throw new ExpressionError(
      `${scope.where}: ${(err as Error).message ?? String(err)} in ${JSON.stringify(template)}`,
    );
  } finally {
    currentSecret = previous.secret;
    currentErrorLogs = previous.errorLogs;
    captured = previous.captured;
  }
  if (misses.length > 0 && !TOLERANT.test(template)) {
    throw new ExpressionError(
      `${scope.where}: undefined variable '${misses[0]}' in ${JSON.stringify(template)}` +
        ` (known: ${Object.keys(context).join(', ')})`,
    );
  }
  return single ? box.value : text;
}

/** Renders every string inside a value (objects and lists walked), keeping types of single expressions. */
export function renderValue(value: unknown, context: Record<string, unknown>, scope: RenderScope): unknown {
  if (typeof value === 'string') return renderString(value, context, scope);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, context, scope));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, context, scope)]));
  }
  return value;
}

/** Kestra's truthiness; its home is the tasks layer (Fail and If use it too). */
export { isTruthy } from '../tasks/truthy.js';
