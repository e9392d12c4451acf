import { randomUUID } from 'node:crypto';
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
let captured: { value: unknown } | undefined;

function toDateTime(value: unknown): DateTime {
  if (value instanceof Date) return DateTime.fromJSDate(value, { zone: 'utc' });
  if (typeof value === 'number') return DateTime.fromSeconds(value, { zone: 'utc' });
  const dt = DateTime.fromISO(String(value), { zone: 'utc' });
  if (!dt.isValid) throw new Error(`date: cannot read ${JSON.stringify(value)} as a date`);
  return dt;
}

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
  e.extendFilter('toJson', (v: unknown) => JSON.stringify(v, withoutTwigKeys));
  e.extendFilter('json', (v: unknown) => JSON.stringify(v, withoutTwigKeys));
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
  e.extendFilter('__kf_capture', (v: unknown) => {
    if (captured) captured.value = v;
    return '';
  });
  engine = e;
  return e;
}

/** twig.js records a hash literal's key order in a `_keys` list; Pebble's maps have no such entry. */
function withoutTwigKeys(this: unknown, key: string, value: unknown): unknown {
  if (key !== '_keys' || !Array.isArray(value)) return value;
  const own = Object.keys(this as object).filter((k) => k !== '_keys');
  const keys = value as unknown[];
  return keys.length === own.length && keys.every((k) => typeof k === 'string' && own.includes(k))
    ? undefined
    : value;
}

const SINGLE_EXPRESSION = /^\s*\{\{((?:(?!\{\{|\}\}).)*)\}\}\s*$/s;
const IGNORED_LOOKUPS = new Set(['then', 'loop', '_keys', 'toJSON', 'constructor', 'length']);
const TOLERANT = /\?\?|\bdefault\b|\bis\s+(not\s+)?(defined|null|empty)\b/;

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
}

export function hasExpression(value: unknown): boolean {
  return typeof value === 'string' && (value.includes('{{') || value.includes('{%'));
}

/** Returns why a template string cannot be parsed, or undefined when it parses (nothing is rendered). */
export function templateProblem(template: string): string | undefined {
  if (!hasExpression(template)) return undefined;
  const engine = twig();
  const single = SINGLE_EXPRESSION.exec(template);
  const source = single ? `{{ (${single[1]}) | __kf_capture }}` : template;
  try {
    engine.twig({ data: source, rethrow: true, autoescape: false });
    return undefined;
  } catch (err) {
    return `cannot parse expression ${JSON.stringify(template)}: ${(err as Error).message}`;
  }
}

/** Renders one template string. A string that is one `{{ expr }}` yields the expression's own value (list, number...). */
export function renderString(
  template: string,
  context: Record<string, unknown>,
  scope: RenderScope,
): unknown {
  if (!hasExpression(template)) return template;
  const engine = twig();
  const single = SINGLE_EXPRESSION.exec(template);
  const source = single ? `{{ (${single[1]}) | __kf_capture }}` : template;
  const misses: string[] = [];
  let compiled: ReturnType<TwigStatic['twig']>;
  try {
    compiled = engine.twig({ data: source, rethrow: true, autoescape: false });
  } catch (err) {
    throw new InvalidInputError(
      `${scope.where}: cannot parse expression ${JSON.stringify(template)}: ${(err as Error).message}`,
    );
  }
  const previous = { secret: currentSecret, captured };
  currentSecret = scope.secret;
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
