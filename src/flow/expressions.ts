import { InvalidInputError, RunFailedError } from '../errors.js';
import type { Masker } from '../masker.js';
import {
  CALLABLE_TABLE,
  JavaDouble,
  PebbleEngine,
  PebbleError,
  printedText,
  type Host,
  type TemplateRead,
} from '../pebble/index.js';

/**
 * Kestra's Pebble expressions, on our Pebble engine (src/pebble) with Kestra's settings and
 * extensions. This module binds it to flows: where an expression lives, secrets, errorLogs().
 */

/** An expression cannot be rendered (undefined variable, missing secret): a problem of the flow or its inputs. */
export class ExpressionError extends InvalidInputError {
  override readonly name: string = 'ExpressionError';
  override readonly code: string = 'EXPRESSION_ERROR';
}

export type SecretLookup = (name: string) => string;

let engine: PebbleEngine | undefined;

/** The one engine, made on first use; it caches each compiled template. */
function pebble(): PebbleEngine {
  engine ??= new PebbleEngine({ cacheSize: 5000 });
  return engine;
}

export interface RenderScope {
  /** Where the expression lives, for messages: "task 'purge', property 'url'". */
  where: string;
  /**
   * Where the value at `sub` (a path inside the property) is written in its file, for errors that
   * come from outside the template (a missing secret): `flows/a.yml:7:16: tasks[0].apiToken`.
   */
  locate?: (sub: readonly (string | number)[]) => string;
  secret: SecretLookup;
  /** `errorLogs()`: the error lines of the execution's failed tasks so far. */
  errorLogs?: () => unknown[];
  /** The run's masker: what a filter, function or method makes of a secret becomes a secret too. */
  masker?: Masker;
}

/**
 * A derived string shorter than this is not made a secret: `secret('X') | first` or the letters of
 * `split('')` would otherwise hide those letters in every log line. It still carries the taint
 * inside a list, so `split('') | join(' ')` is masked.
 */
export const MIN_DERIVED_SECRET = 4;

/** Lists derived from a secret, per run (a list carries taint even when its items are too short to mask). */
const taintedLists = new WeakMap<Masker, WeakSet<object>>();

/**
 * The engine's `observe` hook for a run: when an input of a filter, function or method is
 * secret-derived, its output is registered with the masker. Secret-derived means: a string that
 * shows a secret, or a list that came out of a secret-derived call or holds a secret-derived item
 * (or whose JSON text shows one). A map is not walked: a config map that holds a secret among
 * other fields does not make everything read from it a secret (the secret itself stays masked).
 */
function taintHook(masker: Masker): NonNullable<Host['observe']> {
  let lists = taintedLists.get(masker);
  if (!lists) taintedLists.set(masker, (lists = new WeakSet()));
  const known = lists;
  const tainted = (v: unknown): boolean => {
    if (typeof v === 'string') return masker.shows(v);
    if (!Array.isArray(v)) return false;
    if (known.has(v) || v.some(tainted)) return true;
    return v.every((x) => typeof x === 'string') && masker.shows(JSON.stringify(v));
  };
  // A derived text that still shows a secret (`yaml | indent(2)` of a map holding one, `upper`) is
  // masked where it shows it; registering the whole text would hide all of it (the keys, the
  // other values) in every line. Only what no longer shows one (`base64encode`, `slice`) is added.
  const mark = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.length >= MIN_DERIVED_SECRET && !masker.shows(v)) masker.add(v);
    } else if (Array.isArray(v)) {
      known.add(v);
      v.forEach(mark);
      if (v.every((x) => typeof x === 'string')) {
        const json = JSON.stringify(v);
        if (!masker.shows(json)) masker.add(json);
      }
    }
  };
  return (inputs, output) => {
    if (masker.active && inputs.some(tainted)) mark(output);
  };
}

export function hasExpression(value: unknown): boolean {
  return typeof value === 'string' && (value.includes('{{') || value.includes('{%') || value.includes('{#'));
}

const supported = (kind: 'filter' | 'function') =>
  CALLABLE_TABLE.filter((c) => c.kind === kind && c.apply)
    .map((c) => c.name)
    .sort((a, b) => a.localeCompare(b, 'en'));

/** Filters an expression may use (Pebble's and Kestra's; the README lists them from the same table). */
export const KNOWN_FILTERS: readonly string[] = supported('filter');

/** Functions an expression may use. */
export const KNOWN_FUNCTIONS: readonly string[] = supported('function');

/** What a parsed template uses: filters, functions, and the task ids after `outputs.`. */
export interface TemplateUses {
  filters: string[];
  functions: string[];
  outputs: string[];
}

/** Parses a template (as rendering would) and lists what it uses; throws the engine's parse error. */
export function templateUses(template: string): TemplateUses {
  if (!hasExpression(template)) return { filters: [], functions: [], outputs: [] };
  const uses = pebble().uses(template);
  return {
    filters: uses.filters,
    functions: uses.functions,
    outputs: uses.paths.filter((p) => p[0] === 'outputs' && p.length > 1).map((p) => p[1] as string),
  };
}

/**
 * The variables a template reads from outside itself (from its AST), each with whether a guard
 * (`is defined`, `??`, `default`…) makes a missing value no error; throws the engine's parse error.
 */
export function templateReads(template: string): TemplateRead[] {
  return hasExpression(template) ? pebble().reads(template) : [];
}

/** "line 1, column 5 of" when the template has more than one line, else "column 5 of". */
function at(err: PebbleError): string {
  const p = err.position;
  return p ? ` at line ${p.line}, column ${p.col} of` : ' in';
}

/**
 * The template as an error quotes it: whole when it is one line; else only the line where the
 * error is, trimmed, so that a 40-line message block is not repeated with \n escapes.
 */
function quoted(template: string, err: PebbleError): string {
  if (!template.includes('\n')) return JSON.stringify(template);
  const line = err.position ? template.split('\n')[err.position.line - 1] : undefined;
  return line === undefined
    ? 'the template'
    : `the template, whose line ${err.position?.line} is ${JSON.stringify(line.trim())}`;
}

/**
 * Returns why a template string cannot be rendered whatever the values (a syntax error, a filter
 * or function that does not exist or is refused here), or undefined.
 */
export function templateProblem(template: string): string | undefined {
  if (!hasExpression(template)) return undefined;
  let uses: TemplateUses & { tests: string[] };
  try {
    const u = pebble().uses(template);
    uses = { ...templateUses(template), tests: u.tests };
  } catch (err) {
    if (!(err instanceof PebbleError)) throw err;
    return template.includes('\n')
      ? `cannot parse expression: ${err.detail}${at(err)} ${quoted(template, err)}`
      : `cannot parse expression ${JSON.stringify(template)}: ${err.detail}${at(err).replace(/ (of|in)$/, '')}`;
  }
  const e = pebble();
  for (const [kind, names, known] of [
    ['filter', uses.filters, KNOWN_FILTERS],
    ['function', uses.functions, KNOWN_FUNCTIONS],
  ] as const) {
    for (const name of names) {
      const c = e.callable(kind, name);
      const shown = kind === 'function' ? `${name}()` : name;
      if (!c)
        return `unknown ${kind} '${shown}' in ${JSON.stringify(template)}; expected one of ${known.join(', ')} (see README)`;
      if (!c.apply)
        return `${kind} '${shown}' in ${JSON.stringify(template)} is not supported here: ${c.refused ?? ''}`;
    }
  }
  const test = uses.tests.find((t) => !e.callable('test', t));
  if (test === undefined) {
    const [problem] = e.callProblems(template);
    if (problem)
      return `${problem.message} (at line ${problem.at.line}, column ${problem.at.col} of ${JSON.stringify(template)})`;
  }
  if (test !== undefined)
    return `unknown test '${test}' in ${JSON.stringify(template)}; expected one of ${CALLABLE_TABLE.filter(
      (c) => c.kind === 'test',
    )
      .map((c) => c.name)
      .join(', ')}`;
  return undefined;
}

const SINGLE = /^\s*\{\{[\s\S]*\}\}\s*$/;

/**
 * Renders one template string. A string that is one `{{ expr }}` yields the expression's own value
 * (list, number...) with its Java type (`{{ 2.0 }}` a `JavaDouble`, a long past 2^53 a BigInt, as
 * Kestra keeps them), unless `asText`: then a list or map gives its JSON text and null gives '', as
 * Kestra renders a YAML string for a String property (numbers and booleans are left to
 * parseAsKestra, which turns them into text where text is expected, and Java numbers into JS ones
 * where a setting takes a number).
 */
export function renderString(
  template: string,
  context: Record<string, unknown>,
  scope: RenderScope,
  asText = false,
  sub: readonly (string | number)[] = [],
): unknown {
  if (!hasExpression(template)) return template;
  const typed = (v: unknown) =>
    asText && (v === null || v === undefined || (typeof v === 'object' && !(v instanceof JavaDouble)))
      ? v === null || v === undefined
        ? ''
        : printedText(v)
      : v;
  return rendering(template, context, scope, sub, (e, host) => {
    const trimmed = template.trim();
    if (trimmed !== template && SINGLE.test(template)) {
      const t = e.compile(trimmed);
      if (t.nodes.length === 1 && t.nodes[0]?.k === 'print') return typed(e.evaluate(trimmed, context, host));
    }
    return typed(e.evaluate(template, context, host));
  });
}

/** Renders one template string to text, as Kestra's VariableRenderer.render does (maps and lists as JSON). */
export function renderText(template: string, context: Record<string, unknown>, scope: RenderScope): string {
  if (!hasExpression(template)) return template;
  return rendering(template, context, scope, [], (e, host) => e.render(template, context, host));
}

function rendering<T>(
  template: string,
  context: Record<string, unknown>,
  scope: RenderScope,
  sub: readonly (string | number)[],
  run: (e: PebbleEngine, host: Host) => T,
): T {
  const host: Host = {
    secret: scope.secret,
    ...(scope.errorLogs ? { errorLogs: scope.errorLogs } : {}),
    ...(scope.masker ? { observe: taintHook(scope.masker) } : {}),
  };
  try {
    return run(pebble(), host);
  } catch (err) {
    if (!(err instanceof PebbleError)) throw err;
    const cause = err.cause;
    if (cause instanceof RunFailedError) throw cause;
    // Where the flow file holds the template: `flows/a.yml:7:16: tasks[0].message: `, as validation says it.
    const where = `${scope.locate ? `${scope.locate(sub)}: ` : ''}${scope.where}`;
    // A secret that is missing or unreadable: say where the flow asks for it.
    if (cause instanceof InvalidInputError)
      throw new ExpressionError(`${where}: ${cause.message}`, cause.culprit, { cause });
    if (err.kind === 'syntax')
      throw new InvalidInputError(
        template.includes('\n')
          ? `${where}: cannot parse expression: ${err.detail}${at(err)} ${quoted(template, err)}`
          : `${where}: cannot parse expression ${JSON.stringify(template)}: ${err.detail}${at(err).replace(/ (of|in)$/, '')}`,
      );
    if (err.kind === 'undefined' && err.detail.endsWith('is not defined'))
      throw new ExpressionError(
        `${where}: undefined variable '${err.missing}'${at(err)} ${quoted(template, err)}` +
          ` (known: ${Object.keys(context).join(', ')})`,
      );
    if (err.kind === 'undefined' && err.missing !== undefined)
      throw new ExpressionError(
        `${where}: undefined variable '${err.missing}': ${err.detail}${at(err)} ${quoted(template, err)}`,
      );
    throw new ExpressionError(`${where}: ${err.detail}${at(err)} ${quoted(template, err)}`);
  }
}

/**
 * Renders every string inside a value (objects and lists walked), keeping types of single
 * expressions, except where `textAt(path)` says the property there takes text (renderString's asText).
 */
export function renderValue(
  value: unknown,
  context: Record<string, unknown>,
  scope: RenderScope,
  textAt?: (path: readonly (string | number)[]) => boolean,
  path: readonly (string | number)[] = [],
): unknown {
  if (typeof value === 'string') return renderString(value, context, scope, textAt?.(path) ?? false, path);
  if (Array.isArray(value)) return value.map((v, i) => renderValue(v, context, scope, textAt, [...path, i]));
  // A map as written; a JavaDouble (YAML's `1.0`) is a value, not a map to walk.
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, renderValue(v, context, scope, textAt, [...path, k])]),
    );
  }
  return value;
}

/** Kestra's truthiness; its home is the tasks layer (Fail and If use it too). */
export { isTruthy } from '../tasks/truthy.js';
