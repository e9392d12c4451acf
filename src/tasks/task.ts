import { z } from 'zod';
import { InvalidInputError, show } from '../errors.js';
import { holdsJavaNumber, JavaDouble, javaText, jsNumbers } from '../pebble/java.js';
import { FastlyClient, type FastlyClientOptions, resolveEndpoint } from '../fastly/client.js';
import { envProxyPolicy, type ProxyPolicy } from '../http/proxy.js';
import type { Logger } from '../logger.js';
import { clientOptionsOf, httpOptions, type HttpOptions } from './options.js';

export interface Metric {
  name: string;
  type: 'counter' | 'timer' | 'gauge';
  value: number;
  tags?: Record<string, string>;
}

export interface TaskContext {
  logger: Logger;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal | undefined;
  /**
   * Asks a long task to stop starting new work while what is in flight settles (a bulk purge stops
   * sending batches and reports the keys not sent). `signal` cancels in-flight work too.
   */
  stop?: AbortSignal | undefined;
  /** Transport settings the runner imposes (timeouts, retries, retry hook). */
  client?: Partial<Omit<FastlyClientOptions, 'token' | 'baseUrl'>> | undefined;
  /** Progress of long operations (bulk purges, paginated stats). */
  onProgress?: ((done: number, total: number) => void) | undefined;
  metric?: ((metric: Metric) => void) | undefined;
}

export interface TaskExample {
  title: string;
  /** A complete flow, as YAML. */
  flow: string;
}

/** Where a property is, below the task: `['surrogateKeys', 2]`. */
export type PropertyPath = readonly (string | number)[];

/** What a task's `check` is given to report problems with its properties as written in a flow. */
export interface StaticCheck {
  /** Whether a value is written as is (not missing, no expression): only those can be checked now. */
  literal(value: unknown): boolean;
  /** Runs a check that throws InvalidInputError and records its message at `path`; false if it threw. */
  attempt(path: PropertyPath, check: () => unknown): boolean;
  /** Records a problem at `path`. */
  problem(path: PropertyPath, message: string): void;
  /** Epoch seconds, for relative times ("24 hours ago"). */
  now: number;
  /** The environment a server would run the flow with, when the caller gives it (`validate`, the server). */
  env: Record<string, string | undefined> | undefined;
}

/** A property of a flowable task that holds nested tasks (If's `then`, ForEach's `tasks`). */
export interface ChildTasks {
  property: string;
  /** Inside a loop (ForEach): `taskrun.value`, `parent` and `parents` are defined for the nested tasks. */
  loop?: boolean;
}

/** Task run states, as Kestra names them. KILLED: interrupted (Ctrl-C, SIGTERM, kill). */
export type RunState = 'SUCCESS' | 'WARNING' | 'FAILED' | 'KILLED' | 'SKIPPED';

/** What the executor gives a flowable task to run its nested tasks. */
export interface NestedRun {
  /** `task 'ID'`, to name a property in an error. */
  where: string;
  /** Renders one of the task's own properties (not a child list) for this run. */
  render(property: string): unknown;
  /** How many tasks `property` holds. */
  count(property: string): number;
  /** Runs the tasks of `property` in order, stopping at the first FAILED or KILLED one. */
  runTasks(property: string, iteration?: { value: string; index: number }): Promise<RunState>;
  /** Runs the `index`-th task of `property` alone. */
  runTask(property: string, index: number): Promise<RunState>;
}

export interface TaskDefinition<S extends z.ZodObject = z.ZodObject, O = unknown> {
  type: string;
  title: string;
  description: string;
  examples: TaskExample[];
  props: S;
  /** Output name → description, for docs. */
  outputs: Record<string, string>;
  /** Runs the task; one that does no I/O may return its outputs directly. */
  run(props: z.output<S>, ctx: TaskContext): O | Promise<O>;
  /**
   * Checks made when a flow is loaded, beyond the schema, on the properties as written (plugin
   * defaults applied, expressions unrendered): what `run` would refuse only on reaching the task.
   */
  check?(props: Record<string, unknown>, at: StaticCheck): void;
  /** Flowables: the properties holding nested tasks, which the flow loader loads as tasks. */
  children?: readonly ChildTasks[];
  /** Flowables: how the nested tasks run; the executor calls this instead of `run`. */
  runNested?(nested: NestedRun): Promise<RunState>;
}

export function defineTask<S extends z.ZodObject, O>(def: TaskDefinition<S, O>): TaskDefinition<S, O> {
  return def;
}

/** A number that may arrive as a rendered string ("50"). */
export const numberish = () =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v),
    z.number(),
  );

/** A boolean that may arrive as a rendered string ("true"). */
export const booleanish = () =>
  z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/** A list that may arrive as a rendered JSON string ('["a","b"]'). */
export const listOf = <T extends z.ZodType>(item: T) => z.preprocess(listFromJson, z.array(item));

/** listOf's step: a JSON list given as text is parsed; anything else (a list) is left as it is. */
function listFromJson(v: unknown): unknown {
  if (typeof v === 'string' && v.trim().startsWith('[')) {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }
  return v;
}

/** Properties every Fastly task and the trigger take, as in Kestra's Java plugin. */
export const connectionProps = {
  apiToken: z
    .string()
    .describe("Fastly API token. Pass it as {{ secret('FASTLY_API_TOKEN') }}, never in clear.")
    .meta({ secret: true }),
  baseUrl: z
    .string()
    .optional()
    .describe(
      'Fastly API base URL. Defaults to $FASTLY_API_ENDPOINT, then https://api.fastly.com. Override only for testing.',
    ),
  options: httpOptions.optional(),
};

/** Bucket size; any case is read, as the Java plugin passes `Day` through to Fastly. */
export const bucketSize = () =>
  z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(['minute', 'hour', 'day']));

export function makeClient(
  props: { apiToken: string; baseUrl?: string | undefined; options?: HttpOptions | undefined },
  ctx: TaskContext,
): FastlyClient {
  const fromOptions = clientOptionsOf(props.options, ctx.logger);
  return new FastlyClient({
    ...ctx.client,
    ...fromOptions,
    token: props.apiToken,
    baseUrl: resolveEndpoint(props.baseUrl, ctx.env),
    signal: ctx.signal,
    proxy: proxyPolicyOf(fromOptions.proxy, ctx),
  });
}

/**
 * The proxy a task's requests go through, the one rule for every task that calls out (Fastly tasks,
 * http.Request, notifications): the task's `options.proxy` wins, then the runner's, then
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY as the Fastly CLI (Go) reads them.
 */
export function proxyPolicyOf(fromOptions: ProxyPolicy | undefined, ctx: TaskContext): ProxyPolicy {
  return fromOptions ?? ctx.client?.proxy ?? envProxyPolicy(ctx.env);
}

function expectation(issue: z.core.$ZodIssue): string {
  // A schema's own message (set with `error:`) says it best; zod's defaults start like this.
  if (!/^(Invalid|Too (small|big)|Unrecognized)/.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'too_small':
      return issue.origin === 'array'
        ? `expected at least ${issue.minimum} item(s)`
        : `expected at least ${issue.minimum}`;
    case 'too_big':
      return `expected at most ${issue.maximum}`;
    case 'unrecognized_keys':
      return 'not a property of this type';
    case 'invalid_union': {
      // Each choice's own expectation: `expected string or array`, not zod's bare "Invalid input".
      const choices = issue.errors
        .map((branch) => branch.find((i) => i.path.length === 0))
        .filter((i) => i !== undefined)
        .map((i) => expectation(i).replace(/^expected /, ''));
      return choices.length === issue.errors.length && choices.length
        ? `expected ${[...new Set(choices)].join(' or ')}`
        : issue.message;
    }
    default:
      return issue.message;
  }
}

/** The property names of the object `schema` describes at `path` (through optional, default, pipe, array). */
function propertiesAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let s: unknown = schema;
  let i = 0;
  for (let depth = 0; depth < 64; depth++) {
    const def = (s as { _zod?: { def?: Record<string, unknown> } } | undefined)?._zod?.def;
    if (!def) return undefined;
    if (def.type === 'object') {
      const shape = def.shape as Record<string, unknown>;
      if (i === path.length) return Object.keys(shape);
      s = shape[String(path[i++])];
    } else if (def.type === 'array') {
      if (i++ === path.length) return undefined;
      s = def.element;
    } else if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe') {
      const input = (def.in as { _zod?: { def?: { type?: string } } } | undefined)?._zod?.def;
      s = input?.type === 'transform' ? def.out : def.in;
    } else return undefined;
  }
  return undefined;
}

/**
 * Formats one schema issue as "<where>.<path>: <value> ...; expected ...". With the `schema`, an
 * unknown property's message lists the accepted ones.
 */
export function describeIssue(
  where: string,
  issue: z.core.$ZodIssue,
  input: unknown,
  schema?: z.ZodType,
): string {
  if (issue.code === 'unrecognized_keys') {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    const accepted = schema && propertiesAt(schema, issue.path);
    return `${where}${path}: unknown propert${issue.keys.length > 1 ? 'ies' : 'y'} ${issue.keys.join(', ')}${
      accepted?.length ? `; expected one of ${accepted.join(', ')}` : ''
    }`;
  }
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  let value: unknown = input;
  for (const p of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[p];
  const secret = issue.path[0] === 'apiToken' || issue.path.some((p) => /password/i.test(String(p)));
  const got =
    value === undefined ? 'is missing' : secret ? 'is invalid (value hidden)' : `got ${show(value)}`;
  return `${where}${path}: ${got}; ${expectation(issue)}`;
}

/** The schema of the value at `path` in what `schema` describes (through objects, arrays, records, wrappers), or undefined. */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let s: unknown = schema;
  let i = 0;
  for (let depth = 0; depth < 64; depth++) {
    const def = (s as { _zod?: { def?: Record<string, unknown> } } | undefined)?._zod?.def;
    if (!def) return undefined;
    if (i === path.length) return s as z.ZodType;
    if (def.type === 'object') s = (def.shape as Record<string, unknown>)[String(path[i++])];
    else if (def.type === 'array' || def.type === 'record') {
      i++;
      s = def.type === 'array' ? def.element : def.valueType;
    } else if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe') {
      const input = (def.in as { _zod?: { def?: { type?: string } } } | undefined)?._zod?.def;
      s = input?.type === 'transform' ? def.out : def.in;
    } else if (def.type === 'union') {
      const rest = path.slice(i);
      return (def.options as z.ZodType[]).map((o) => schemaAt(o, rest)).find((o) => o !== undefined);
    } else return undefined;
  }
  return undefined;
}

/** Whether a schema takes a string (itself, or as one choice of a union); `unknown` and `any` do not count. */
function takesString(schema: z.ZodType | undefined, depth = 0): boolean {
  const def = (schema as { _zod?: { def?: Record<string, unknown> } } | undefined)?._zod?.def;
  if (!def || depth > 16) return false;
  if (def.type === 'string' || def.type === 'enum' || def.type === 'literal') return true;
  if (def.type === 'union') return (def.options as z.ZodType[]).some((o) => takesString(o, depth + 1));
  if (def.innerType) return takesString(def.innerType as z.ZodType, depth + 1);
  if (def.type === 'pipe') {
    const input = (def.in as { _zod?: { def?: { type?: string } } } | undefined)?._zod?.def;
    return takesString((input?.type === 'transform' ? def.out : def.in) as z.ZodType, depth + 1);
  }
  return false;
}

/**
 * Whether the property at `path` takes text: there a YAML string that is one expression renders to
 * text (a list or map as JSON, null as ''), as Kestra renders a String property, instead of the
 * expression's typed value (kept for properties typed as lists, maps or numbers: purge.Keys'
 * `surrogateKeys: "{{ inputs.article_ids }}"`).
 */
export function takesTextAt(schema: z.ZodType, path: readonly PropertyKey[]): boolean {
  return takesString(schemaAt(schema, path));
}

/** Whether an issue is a number or boolean given where text is expected (alone or as a union's choice). */
function wantsText(issue: z.core.$ZodIssue): boolean {
  const isText = (i: z.core.$ZodIssue) =>
    i.code === 'invalid_type' && i.expected === 'string' && i.path.length === 0;
  if (issue.code === 'invalid_type') return issue.expected === 'string';
  return issue.code === 'invalid_union' && issue.errors.some((branch) => branch.some(isText));
}

type SchemaDef = Record<string, unknown> & { type?: string };
const defOf = (schema: unknown): SchemaDef | undefined =>
  (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;

/** The schema a value meets under `schema`'s wrappers (optional, default, a preprocess's output). */
function unwrapped(schema: unknown): SchemaDef | undefined {
  let def = defOf(schema);
  for (let depth = 0; def && depth < 32; depth++) {
    if (def.innerType) def = defOf(def.innerType);
    else if (def.type === 'pipe') def = defOf(defOf(def.in)?.type === 'transform' ? def.out : def.in);
    else return def;
  }
  return def;
}

/**
 * `value` as a schema takes it from a flow read as Kestra reads it (YAML `1.0` a `JavaDouble`, a long
 * past 2^53 a BigInt): where the schema takes data (`unknown`: OutputValues' `values`, a Webhook's
 * `inputs`, a map body) the Java numbers stay, for the expressions that read them; where it takes
 * a setting they become what it validates: JS numbers (`delayFactor: 2.0`, `concurrent: 4.0`), or
 * their Java text where it takes text (`surrogateKey: 1.0` is "1.0", as Jackson makes a Double a
 * String). Copied where changed; the same value when it holds no Java number.
 */
export function settingsOf(schema: unknown, value: unknown): unknown {
  return holdsJavaNumber(value) ? settingAt(schema, value, 0) : value;
}

function settingAt(schema: unknown, value: unknown, depth: number): unknown {
  const def = unwrapped(schema);
  if (!def || depth > 64) return jsNumbers(value);
  switch (def.type) {
    case 'unknown':
    case 'any':
      return value;
    case 'string':
      return value instanceof JavaDouble || typeof value === 'bigint' ? javaText(value) : value;
    case 'array': {
      if (!Array.isArray(value)) return jsNumbers(value);
      let copy: unknown[] | undefined;
      value.forEach((v: unknown, i) => {
        const t = settingAt(def.element, v, depth + 1);
        if (t !== v) (copy ??= value.slice())[i] = t;
      });
      return copy ?? value;
    }
    case 'object':
    case 'record': {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof JavaDouble)
        return jsNumbers(value);
      const shape = def.shape as Record<string, unknown> | undefined;
      let copy: Record<string, unknown> | undefined;
      for (const [k, v] of Object.entries(value)) {
        // A key the schema does not know is left as written: refused, or checked elsewhere (a
        // task's own properties beside the common ones).
        if (shape && !Object.hasOwn(shape, k)) continue;
        const t = settingAt(shape ? shape[k] : def.valueType, v, depth + 1);
        if (t !== v) (copy ??= { ...(value as Record<string, unknown>) })[k] = t;
      }
      return copy ?? value;
    }
    case 'union': {
      // The choice of the value's kind (a map body of Request's string, map or list): data stays.
      const kind = Array.isArray(value)
        ? ['array']
        : value !== null && typeof value === 'object' && !(value instanceof JavaDouble)
          ? ['object', 'record']
          : undefined;
      const options = def.options as unknown[];
      if (options.some((o) => ['unknown', 'any'].includes(unwrapped(o)?.type ?? ''))) return value;
      // Of several map choices (retry's constant, exponential, random), the one knowing most keys.
      const known = (o: unknown) => {
        const shape = unwrapped(o)?.shape as Record<string, unknown> | undefined;
        return shape ? Object.keys(value as object).filter((k) => Object.hasOwn(shape, k)).length : 0;
      };
      const choice =
        kind &&
        options
          .filter((o) => kind.includes(unwrapped(o)?.type ?? ''))
          .reduce<unknown>((best, o) => (best === undefined || known(o) > known(best) ? o : best), undefined);
      if (choice) return settingAt(choice, value, depth + 1);
      if (!kind && options.some((o) => unwrapped(o)?.type === 'string') && !options.some(isNumeric))
        return settingAt(z.string(), value, depth + 1);
      return jsNumbers(value);
    }
    default:
      return jsNumbers(value);
  }
}

const isNumeric = (o: unknown) => ['number', 'int', 'bigint'].includes(unwrapped(o)?.type ?? '');

/**
 * Validates like `schema.safeParse`, but a number or boolean where text is expected becomes text, as
 * in Kestra (Pebble renders to text; Jackson turns a scalar into a String): `surrogateKey: "{{
 * inputs.product_id }}"` with an INT input, or `message: "{{ 5 }}"`.
 */
export function parseAsKestra<S extends z.ZodType>(
  schema: S,
  input: unknown,
): z.ZodSafeParseResult<z.output<S>> {
  // Where the schema takes only text, a number becomes text before parsing: the same as the passes
  // below do from zod's issues, without an issue (and a copy) per item of a long list.
  let value = textified(schema, settingsOf(schema, input));
  let result = schema.safeParse(value);
  for (let pass = 0; pass < 3 && !result.success; pass++) {
    let changed = false;
    for (const issue of result.error.issues) {
      if (!wantsText(issue) || issue.path.length === 0) continue;
      let parent: unknown = value;
      for (const key of issue.path.slice(0, -1)) parent = (parent as Record<PropertyKey, unknown>)?.[key];
      const key = issue.path[issue.path.length - 1] as PropertyKey;
      const scalar = (parent as Record<PropertyKey, unknown> | undefined)?.[key];
      if (typeof scalar !== 'number' && typeof scalar !== 'boolean') continue;
      if (!changed) {
        value = copied(value);
        changed = true;
        // The clone is what is walked from here: start over from it.
        parent = value;
        for (const k of issue.path.slice(0, -1)) parent = (parent as Record<PropertyKey, unknown>)[k];
      }
      (parent as Record<PropertyKey, unknown>)[key] = String(scalar);
    }
    if (!changed) break;
    result = schema.safeParse(value);
  }
  return result;
}

/** A deep copy of the lists and plain maps of a value; anything else (a `JavaDouble`) shared. */
function copied(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copied);
  if (v === null || typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copied(x)]));
}

/**
 * `value` with each number or boolean that `schema` would refuse as not a string turned into text
 * (copied where changed): through objects, lists, listOf, optional, nullable and default, down to a
 * plain z.string(). Anything else (unions, enums, other preprocessing) is left to the issue passes.
 */
function textified(schema: unknown, value: unknown, depth = 0): unknown {
  const def = (schema as { _zod?: { def?: Record<string, unknown> } } | undefined)?._zod?.def;
  if (!def || depth > 32) return value;
  switch (def.type) {
    case 'string':
      return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
    case 'optional':
    case 'nullable':
    case 'default':
      return textified(def.innerType, value, depth + 1);
    case 'pipe': {
      const step = (def.in as { _zod?: { def?: { transform?: unknown } } } | undefined)?._zod?.def;
      return step?.transform === listFromJson && Array.isArray(value)
        ? textified(def.out, value, depth + 1)
        : value;
    }
    case 'array': {
      if (!Array.isArray(value)) return value;
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        const t = textified(def.element, v, depth + 1);
        if (t !== v) (copy ??= value.slice())[i] = t;
      }
      return copy ?? value;
    }
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
      const shape = def.shape as Record<string, unknown>;
      let copy: Record<string, unknown> | undefined;
      for (const [k, v] of Object.entries(value)) {
        if (!Object.hasOwn(shape, k)) continue;
        const t = textified(shape[k], v, depth + 1);
        if (t !== v) (copy ??= { ...value })[k] = t;
      }
      return copy ?? value;
    }
    default:
      return value;
  }
}

/** Validates properties against a task's schema; every problem is reported in one error. */
export function parseProps<S extends z.ZodObject>(
  task: TaskDefinition<S, unknown>,
  input: unknown,
  where = task.type,
): z.output<S> {
  const result = parseAsKestra(task.props, input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => describeIssue(where, i, input, task.props));
  throw new InvalidInputError(lines.join('\n'), where);
}

/** Validates raw properties and runs a task. */
export async function runTask(
  task: TaskDefinition,
  input: unknown,
  ctx: TaskContext,
  where?: string,
): Promise<unknown> {
  return await task.run(parseProps(task, input, where), ctx);
}
