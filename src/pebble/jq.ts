import { isNumber, JavaDouble, numberValue, parseJson, toJson } from './java.js';

/**
 * The jq of Kestra's `jq` filter (jackson-jq), as far as flows over Fastly data use it: paths
 * (`.a.b`, `."a"`, `.[0]`, `.[-1]`, `.[1:]`, `.[]`, `?`, `..`), `|`, `,`, `//`, literals, arrays
 * `[f]`, objects `{k: f, (f): g, k}`, arithmetic `+ - * / %`, comparisons, `and`/`or`/`not`,
 * `if … then … elif … else … end`, `try … catch …`, and the builtins of BUILTINS. The result is
 * always a list (Kestra's JqFilter). What is not supported is refused when the program is
 * compiled, with one line naming it: `jqProblem` lets validation say so before a run.
 */

type Filter = (input: unknown) => unknown[];

/** What this jq supports, for every message that refuses a program. */
const SUPPORTED =
  'this jq supports paths, slices, [], |, ",", //, + - * / %, comparisons, and/or/not, [f], {k: f}, if, try, ?, .., and length, keys, values, has, in, contains, map, map_values, select, add, any, all, flatten, range, floor, sqrt, tostring, tonumber, tojson, fromjson, type, sort, sort_by, group_by, unique, unique_by, min, max, min_by, max_by, reverse, to_entries, from_entries, with_entries, join, split, test, ltrimstr, rtrimstr, startswith, endswith, ascii_downcase, ascii_upcase, first, last, limit, empty, error';

export function jq(input: unknown, expression: string): unknown[] {
  return compile(expression)(input);
}

/** Why a jq program cannot run whatever its input (a syntax error, an unsupported feature), or undefined. */
export function jqProblem(expression: string): string | undefined {
  try {
    compile(expression);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const cache = new Map<string, Filter>();

function compile(expression: string): Filter {
  let f = cache.get(expression);
  if (!f) {
    f = new JqParser(expression).parse();
    if (cache.size > 500) cache.clear();
    cache.set(expression, f);
  }
  return f;
}

/** A jq program that cannot compile or run; the filter turns it into a PebbleError. */
class JqError extends Error {
  override readonly name: string = 'JqError';
  readonly code: string = 'JQ_ERROR';
}

const TOKEN =
  /\s*(?:#[^\n]*\n?\s*)*(\.\.|\.[A-Za-z_][A-Za-z0-9_]*|\?\/\/|\|=|\+=|-=|\*=|\/=|%=|\/\/=|\/\/|==|!=|<=|>=|[.[\](){}|,:;<>+\-*/%?=]|\$?[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*|@[A-Za-z0-9_]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|"(?:[^"\\]|\\.)*")/y;

/** Features refused with their name, by the token that starts them. */
const REFUSED: Record<string, string> = {
  reduce: "'reduce'",
  foreach: "'foreach'",
  def: "function definitions ('def')",
  as: "variables ('… as $x')",
  label: "'label'/'break'",
  import: "modules ('import')",
  include: "modules ('include')",
  '|=': "update-assignment ('|=')",
  '+=': "arithmetic update-assignment ('+=')",
  '-=': "arithmetic update-assignment ('-=')",
  '*=': "arithmetic update-assignment ('*=')",
  '/=': "arithmetic update-assignment ('/=')",
  '%=': "arithmetic update-assignment ('%=')",
  '//=': "alternative update-assignment ('//=')",
  '=': "assignment ('=')",
  '?//': "destructuring alternatives ('?//')",
};

const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=']);

class JqParser {
  private readonly tokens: string[] = [];
  private i = 0;
  constructor(private readonly src: string) {
    TOKEN.lastIndex = 0;
    let m: RegExpExecArray | null;
    while (TOKEN.lastIndex < src.length && (m = TOKEN.exec(src))) {
      if (m[1] === undefined) break;
      this.tokens.push(m[1]);
    }
    const rest = src.slice(TOKEN.lastIndex).trim();
    if (rest) this.fail(`cannot read ${JSON.stringify(rest.slice(0, 20))}`);
  }
  fail(what: string): never {
    throw new JqError(`jq: ${what} in ${JSON.stringify(this.src)}; ${SUPPORTED}`);
  }
  refuse(feature: string): never {
    throw new JqError(`jq: ${feature} is not supported here, in ${JSON.stringify(this.src)}; ${SUPPORTED}`);
  }
  peek(): string | undefined {
    return this.tokens[this.i];
  }
  eat(t: string): void {
    if (this.tokens[this.i] !== t)
      this.fail(
        `expected '${t}', found ${this.tokens[this.i] === undefined ? 'the end' : `'${this.tokens[this.i]}'`}`,
      );
    this.i++;
  }
  parse(): Filter {
    if (this.tokens.length === 0) return (x) => [x];
    const f = this.pipe();
    if (this.i < this.tokens.length) {
      const t = this.tokens[this.i] as string;
      if (REFUSED[t]) this.refuse(REFUSED[t]);
      this.fail(`unexpected '${t}'`);
    }
    return f;
  }
  pipe(): Filter {
    const left = this.comma();
    if (this.peek() === 'as') this.refuse(REFUSED.as as string);
    if (this.peek() !== '|') return left;
    this.i++;
    const right = this.pipe();
    return (x) => left(x).flatMap(right);
  }
  comma(): Filter {
    let left = this.alternative();
    while (this.peek() === ',') {
      this.i++;
      const l = left;
      const r = this.alternative();
      left = (x) => [...l(x), ...r(x)];
    }
    return left;
  }
  alternative(): Filter {
    const left = this.or();
    if (this.peek() !== '//') return left;
    this.i++;
    const right = this.alternative();
    return (x) => {
      let found: unknown[] = [];
      try {
        found = left(x).filter(truthy);
      } catch (err) {
        if (!(err instanceof JqError)) throw err;
      }
      return found.length ? found : right(x);
    };
  }
  or(): Filter {
    let left = this.and();
    while (this.peek() === 'or') {
      this.i++;
      const l = left;
      const r = this.and();
      left = (x) => l(x).flatMap((a) => (truthy(a) ? [true] : r(x).map(truthy)));
    }
    return left;
  }
  and(): Filter {
    let left = this.compare();
    while (this.peek() === 'and') {
      this.i++;
      const l = left;
      const r = this.compare();
      left = (x) => l(x).flatMap((a) => (truthy(a) ? r(x).map(truthy) : [false]));
    }
    return left;
  }
  compare(): Filter {
    const left = this.additive();
    const op = this.peek();
    if (op === undefined || !COMPARISONS.has(op)) return left;
    this.i++;
    const right = this.additive();
    return binary(left, right, (a, b) => {
      const c = order(a, b);
      return op === '=='
        ? c === 0
        : op === '!='
          ? c !== 0
          : op === '<'
            ? c < 0
            : op === '<='
              ? c <= 0
              : op === '>'
                ? c > 0
                : c >= 0;
    });
  }
  additive(): Filter {
    let left = this.multiplicative();
    for (let op = this.peek(); op === '+' || op === '-'; op = this.peek()) {
      this.i++;
      left = binary(left, this.multiplicative(), op === '+' ? add : subtract);
    }
    return left;
  }
  multiplicative(): Filter {
    let left = this.unary();
    for (let op = this.peek(); op === '*' || op === '/' || op === '%'; op = this.peek()) {
      this.i++;
      left = binary(left, this.unary(), op === '*' ? multiply : op === '/' ? divide : modulo);
    }
    return left;
  }
  unary(): Filter {
    if (this.peek() === '-') {
      this.i++;
      const f = this.unary();
      return (x) => f(x).map((v) => num(-asNumber(v, 'negate')));
    }
    return this.postfix(this.term());
  }
  postfix(base: Filter): Filter {
    let f = base;
    for (;;) {
      const t = this.peek();
      if (t === '[') {
        this.i++;
        f = this.bracket(f);
      } else if (t === '.' && this.tokens[this.i + 1] === '[') {
        this.i += 2;
        f = this.bracket(f);
      } else if (t === '.' && this.tokens[this.i + 1]?.startsWith('"')) {
        this.i++;
        const key = this.string();
        const b = f;
        f = (x) => b(x).map((v) => field(v, key));
      } else if (t !== undefined && t.length > 1 && t.startsWith('.') && t !== '..') {
        this.i++;
        const key = t.slice(1);
        const b = f;
        f = (x) => b(x).map((v) => field(v, key));
      } else if (t === '?') {
        this.i++;
        f = attempt(f);
      } else return f;
    }
  }
  bracket(base: Filter): Filter {
    if (this.peek() === ']') {
      this.i++;
      return (x) => base(x).flatMap(iterate);
    }
    let from: Filter | undefined;
    if (this.peek() !== ':') from = this.pipe();
    if (this.peek() === ':') {
      this.i++;
      const to = this.peek() === ']' ? undefined : this.pipe();
      this.eat(']');
      return (x) =>
        base(x).flatMap((v) => {
          const froms = from ? from(x) : [null];
          const tos = to ? to(x) : [null];
          return tos.flatMap((b) => froms.map((a) => slice(v, a, b)));
        });
    }
    this.eat(']');
    const index = from as Filter;
    return (x) => base(x).flatMap((v) => index(x).map((k) => indexed(v, k)));
  }
  string(): string {
    const t = this.tokens[this.i++] as string;
    if (/\\\(/.test(t)) this.refuse('string interpolation (\\(…))');
    return JSON.parse(t) as string;
  }
  term(): Filter {
    const t = this.peek();
    if (t === undefined) this.fail('unexpected end');
    if (REFUSED[t]) this.refuse(REFUSED[t]);
    if (t.startsWith('$')) this.refuse(`variables ('${t}')`);
    if (t.startsWith('@')) this.refuse(`formats ('${t}')`);
    if (t === '.' && this.tokens[this.i + 1] === '[') return (x) => [x];
    if (t === '.' && this.tokens[this.i + 1]?.startsWith('"')) return (x) => [x];
    this.i++;
    if (t === '.') return (x) => [x];
    if (t === '..') return (x) => recurse(x);
    if (t.startsWith('.')) {
      const key = t.slice(1);
      return (x) => [field(x, key)];
    }
    if (t.startsWith('"')) {
      this.i--;
      const s = this.string();
      return () => [s];
    }
    if (/^\.?\d/.test(t)) {
      const n = /[.eE]/.test(t) ? new JavaDouble(Number(t)) : Number(t);
      const v = n instanceof JavaDouble && !Number.isInteger(n.value) ? n.value : n;
      return () => [v];
    }
    if (t === '(') {
      const f = this.pipe();
      this.eat(')');
      return f;
    }
    if (t === '[') {
      if (this.peek() === ']') {
        this.i++;
        return () => [[]];
      }
      const f = this.pipe();
      this.eat(']');
      return (x) => [f(x)];
    }
    if (t === '{') return this.object();
    if (t === 'if') return this.conditional();
    if (t === 'try') {
      const body = this.postfix(this.term());
      if (this.peek() !== 'catch') return attempt(body);
      this.i++;
      const handler = this.postfix(this.term());
      return (x) => {
        try {
          return body(x);
        } catch (err) {
          if (!(err instanceof JqError)) throw err;
          return handler(err.message.replace(/^jq: /, ''));
        }
      };
    }
    if (/^[A-Za-z_]/.test(t)) return this.call(t);
    return this.fail(`unexpected '${t}'`);
  }
  object(): Filter {
    const entries: [Filter, Filter][] = [];
    while (this.peek() !== '}') {
      const t = this.peek();
      if (t === undefined) this.fail("expected '}'");
      let key: Filter;
      let shorthand: string | undefined;
      if (t.startsWith('"')) {
        const k = this.string();
        key = () => [k];
        shorthand = k;
      } else if (t === '(') {
        this.i++;
        key = this.pipe();
        this.eat(')');
      } else if (t.startsWith('$')) this.refuse(`variables ('${t}')`);
      else if (/^[A-Za-z_]/.test(t)) {
        this.i++;
        key = () => [t];
        shorthand = t;
      } else this.fail(`unexpected '${t}' as an object key`);
      let value: Filter;
      if (this.peek() === ':') {
        this.i++;
        value = this.objectValue();
      } else if (shorthand !== undefined) {
        const k = shorthand;
        value = (x) => [field(x, k)];
      } else this.fail("expected ':' after a computed key");
      entries.push([key, value]);
      if (this.peek() === ',') this.i++;
      else if (this.peek() !== '}') this.fail(`expected ',' or '}' in an object`);
    }
    this.i++;
    return (x) => {
      let out: Record<string, unknown>[] = [{}];
      for (const [k, v] of entries) {
        const keys = k(x);
        const values = v(x);
        const next: Record<string, unknown>[] = [];
        for (const o of out)
          for (const key of keys) {
            if (typeof key !== 'string')
              throw new JqError(`jq: object keys must be strings, got ${jqType(key)}`);
            for (const value of values) next.push({ ...o, [key]: value });
          }
        out = next;
      }
      return out;
    };
  }
  /** An object's value: a pipe of alternatives, without ',' (jq's ObjVal). */
  objectValue(): Filter {
    const left = this.alternative();
    if (this.peek() !== '|') return left;
    this.i++;
    const right = this.objectValue();
    return (x) => left(x).flatMap(right);
  }
  conditional(): Filter {
    const cond = this.pipe();
    this.eat('then');
    const then = this.pipe();
    let otherwise: Filter = (x) => [x];
    if (this.peek() === 'elif') {
      this.i++;
      otherwise = this.conditional();
      return (x) => cond(x).flatMap((c) => (truthy(c) ? then(x) : otherwise(x)));
    }
    if (this.peek() === 'else') {
      this.i++;
      otherwise = this.pipe();
    }
    this.eat('end');
    return (x) => cond(x).flatMap((c) => (truthy(c) ? then(x) : otherwise(x)));
  }
  call(name: string): Filter {
    const args: Filter[] = [];
    if (this.peek() === '(') {
      this.i++;
      for (;;) {
        args.push(this.pipe());
        if (this.peek() === ';') this.i++;
        else break;
      }
      this.eat(')');
    }
    const b = BUILTINS[`${name}/${args.length}`];
    if (!b) {
      const arities = Object.keys(BUILTINS)
        .filter((k) => k.startsWith(`${name}/`))
        .map((k) => k.split('/')[1]);
      if (arities.length)
        this.fail(`'${name}' takes ${arities.join(' or ')} argument(s), not ${args.length}`);
      this.refuse(`'${name}'`);
    }
    return b(args);
  }
}

// Values.

const truthy = (v: unknown) => v !== null && v !== false && v !== undefined;
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JavaDouble);
const isNum = (v: unknown): v is number | JavaDouble | bigint => isNumber(v) || typeof v === 'bigint';
const toNum = (v: number | JavaDouble | bigint): number =>
  typeof v === 'bigint' ? Number(v) : numberValue(v);

/** A number as jackson-jq gives it back: whole values as longs, others as doubles. */
function num(n: number): number | JavaDouble {
  return Number.isFinite(n) ? n : new JavaDouble(n);
}

function jqType(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (isNum(v)) return 'number';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

function asNumber(v: unknown, what: string): number {
  if (!isNum(v)) throw new JqError(`jq: cannot ${what} ${jqType(v)} (${toJson(v)})`);
  return toNum(v);
}

const TYPE_ORDER = ['null', 'boolean', 'number', 'string', 'array', 'object'];

/** jq's order: null < false < true < numbers < strings < arrays < objects. */
function order(a: unknown, b: unknown): number {
  const ta = jqType(a);
  const tb = jqType(b);
  if (ta !== tb) return TYPE_ORDER.indexOf(ta) - TYPE_ORDER.indexOf(tb);
  switch (ta) {
    case 'null':
      return 0;
    case 'boolean':
      return Number(a) - Number(b);
    case 'number': {
      const x = toNum(a as number);
      const y = toNum(b as number);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'string':
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case 'array': {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = order(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    default: {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      const c = order(Object.keys(x).sort(), Object.keys(y).sort());
      if (c !== 0) return c;
      for (const k of Object.keys(x).sort()) {
        const d = order(x[k], y[k]);
        if (d !== 0) return d;
      }
      return 0;
    }
  }
}

function binary(l: Filter, r: Filter, op: (a: unknown, b: unknown) => unknown): Filter {
  return (x) => r(x).flatMap((b) => l(x).map((a) => op(a, b)));
}

function add(a: unknown, b: unknown): unknown {
  if (a === null || a === undefined) return b;
  if (b === null || b === undefined) return a;
  if (isNum(a) && isNum(b)) return num(toNum(a) + toNum(b));
  if (typeof a === 'string' && typeof b === 'string') return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return [...(a as unknown[]), ...(b as unknown[])];
  if (isObject(a) && isObject(b)) return { ...a, ...b };
  throw new JqError(`jq: ${jqType(a)} and ${jqType(b)} cannot be added`);
}

function subtract(a: unknown, b: unknown): unknown {
  if (isNum(a) && isNum(b)) return num(toNum(a) - toNum(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.filter((x) => !b.some((y) => order(x, y) === 0));
  throw new JqError(`jq: ${jqType(a)} and ${jqType(b)} cannot be subtracted`);
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = isObject(cur) && isObject(v) ? deepMerge(cur, v) : v;
  }
  return out;
}

function multiply(a: unknown, b: unknown): unknown {
  if (isNum(a) && isNum(b)) return num(toNum(a) * toNum(b));
  if (typeof a === 'string' && isNum(b)) return toNum(b) > 0 ? a.repeat(Math.ceil(toNum(b))) : null;
  if (isNum(a) && typeof b === 'string') return multiply(b, a);
  if (isObject(a) && isObject(b)) return deepMerge(a, b);
  throw new JqError(`jq: ${jqType(a)} and ${jqType(b)} cannot be multiplied`);
}

function divide(a: unknown, b: unknown): unknown {
  if (isNum(a) && isNum(b)) {
    if (toNum(b) === 0)
      throw new JqError(`jq: ${toJson(a)} and ${toJson(b)} cannot be divided because the divisor is zero`);
    return num(toNum(a) / toNum(b));
  }
  if (typeof a === 'string' && typeof b === 'string') return a === '' ? [] : a.split(b);
  throw new JqError(`jq: ${jqType(a)} and ${jqType(b)} cannot be divided`);
}

function modulo(a: unknown, b: unknown): unknown {
  if (isNum(a) && isNum(b)) {
    const y = Math.trunc(toNum(b));
    if (y === 0)
      throw new JqError(`jq: ${toJson(a)} and ${toJson(b)} cannot be divided because the divisor is zero`);
    return Math.trunc(toNum(a)) % y;
  }
  throw new JqError(`jq: ${jqType(a)} and ${jqType(b)} cannot be divided`);
}

function field(v: unknown, key: string): unknown {
  if (v === null || v === undefined) return null;
  if (!isObject(v)) throw new JqError(`jq: cannot index ${jqType(v)} with "${key}"`);
  return Object.prototype.hasOwnProperty.call(v, key) ? (v[key] ?? null) : null;
}

function indexed(v: unknown, k: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof k === 'string') return field(v, k);
  if (isNum(k) && Array.isArray(v)) {
    let i = Math.floor(toNum(k));
    if (i < 0) i += v.length;
    return i >= 0 && i < v.length ? (v[i] ?? null) : null;
  }
  if (isObject(k) || Array.isArray(k)) throw new JqError(`jq: cannot index ${jqType(v)} with ${jqType(k)}`);
  throw new JqError(`jq: cannot index ${jqType(v)} with ${jqType(k)}`);
}

function slice(v: unknown, from: unknown, to: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string' && !Array.isArray(v)) throw new JqError(`jq: cannot slice ${jqType(v)}`);
  const len = v.length;
  const at = (n: unknown, dflt: number) => {
    if (n === null) return dflt;
    let i = Math.floor(asNumber(n, 'slice with'));
    if (i < 0) i = Math.max(0, len + i);
    return Math.min(len, i);
  };
  return v.slice(at(from, 0), at(to, len));
}

function iterate(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isObject(v)) return Object.values(v);
  throw new JqError(`jq: cannot iterate over ${jqType(v)}${v === null ? '' : ` (${toJson(v)})`}`);
}

function recurse(v: unknown): unknown[] {
  const out: unknown[] = [v];
  if (Array.isArray(v) || isObject(v)) for (const x of iterate(v)) out.push(...recurse(x));
  return out;
}

function attempt(f: Filter): Filter {
  return (x) => {
    try {
      return f(x);
    } catch (err) {
      if (!(err instanceof JqError)) throw err;
      return [];
    }
  };
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : toJson(v);
}

function length(v: unknown): unknown {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'boolean') throw new JqError(`jq: boolean (${v}) has no length`);
  if (isNum(v)) return num(Math.abs(toNum(v)));
  if (typeof v === 'string') return [...v].length;
  return iterate(v).length;
}

function needArray(v: unknown, name: string): unknown[] {
  if (!Array.isArray(v)) throw new JqError(`jq: ${name} needs an array, got ${jqType(v)}`);
  return v;
}

/** Items with their keys ([f] of each), sorted by key (stable). */
function keyed(v: unknown, f: Filter, name: string): { item: unknown; key: unknown[] }[] {
  return needArray(v, name)
    .map((item) => ({ item, key: f(item) }))
    .sort((a, b) => order(a.key, b.key));
}

function groups(v: unknown, f: Filter, name: string): unknown[][] {
  const out: unknown[][] = [];
  let last: unknown[] | undefined;
  for (const { item, key } of keyed(v, f, name)) {
    if (last && order(last, key) === 0) (out[out.length - 1] as unknown[]).push(item);
    else out.push([item]);
    last = key;
  }
  return out;
}

function extreme(v: unknown, f: Filter, name: string, max: boolean): unknown {
  const items = needArray(v, name);
  let best: { item: unknown; key: unknown[] } | undefined;
  for (const item of items) {
    const key = f(item);
    if (!best || (max ? order(key, best.key) >= 0 : order(key, best.key) < 0)) best = { item, key };
  }
  return best ? best.item : null;
}

function contains(a: unknown, b: unknown): boolean {
  if (isObject(a) && isObject(b))
    return Object.entries(b).every(
      ([k, v]) => Object.prototype.hasOwnProperty.call(a, k) && contains(a[k], v),
    );
  if (Array.isArray(a) && Array.isArray(b)) return b.every((y) => a.some((x) => contains(x, y)));
  if (typeof a === 'string' && typeof b === 'string') return a.includes(b);
  if (jqType(a) === jqType(b)) return order(a, b) === 0;
  throw new JqError(`jq: ${jqType(a)} and ${jqType(b)} cannot have their containment checked`);
}

function flatten(v: unknown, depth: number): unknown[] {
  return needArray(v, 'flatten').flatMap((x) =>
    Array.isArray(x) && depth > 0 ? flatten(x, depth - 1) : [x],
  );
}

function fromEntries(v: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of needArray(v, 'from_entries')) {
    if (!isObject(e)) throw new JqError(`jq: from_entries needs objects, got ${jqType(e)}`);
    const k = [e.key, e.k, e.name, e.Name, e.Key, e.K].find(
      (x) => x !== undefined && x !== null && x !== false,
    );
    if (k === undefined) throw new JqError('jq: from_entries needs a key');
    out[text(k)] = [e.value, e.v, e.Value].find((x) => x !== undefined) ?? null;
  }
  return out;
}

const toEntries = (v: unknown) => {
  if (!isObject(v)) throw new JqError(`jq: to_entries needs an object, got ${jqType(v)}`);
  return Object.entries(v).map(([key, value]) => ({ key, value }));
};

const typed = (type: string) => (): Filter => (x) =>
  (
    type === 'scalars'
      ? !['array', 'object'].includes(jqType(x))
      : type === 'iterables'
        ? ['array', 'object'].includes(jqType(x))
        : jqType(x) === type
  )
    ? [x]
    : [];

/** One value out per input, from a function of the input. */
const simple = (f: (v: unknown) => unknown) => (): Filter => (x) => [f(x)];
/** One value per output of the argument. */
const withArg =
  (f: (v: unknown, a: unknown) => unknown) =>
  ([a]: Filter[]): Filter =>
  (x) =>
    (a as Filter)(x).map((y) => f(x, y));

const BUILTINS: Record<string, (args: Filter[]) => Filter> = {
  'empty/0': () => () => [],
  'not/0': simple((v) => !truthy(v)),
  'length/0': simple(length),
  'utf8bytelength/0': simple((v) => Buffer.byteLength(String(v), 'utf8')),
  'keys/0': simple((v) =>
    Array.isArray(v) ? v.map((_, i) => i) : isObject(v) ? Object.keys(v).sort() : needArray(v, 'keys'),
  ),
  'keys_unsorted/0': simple((v) =>
    Array.isArray(v) ? v.map((_, i) => i) : isObject(v) ? Object.keys(v) : needArray(v, 'keys'),
  ),
  'values/0': () => (x) => (x === null || x === undefined ? [] : [x]),
  'has/1': withArg((v, k) =>
    Array.isArray(v)
      ? isNum(k) && toNum(k) >= 0 && toNum(k) < v.length
      : isObject(v) && typeof k === 'string' && Object.prototype.hasOwnProperty.call(v, k),
  ),
  'in/1': withArg((k, o) =>
    Array.isArray(o)
      ? isNum(k) && toNum(k) >= 0 && toNum(k) < o.length
      : isObject(o) && typeof k === 'string' && Object.prototype.hasOwnProperty.call(o, k),
  ),
  'contains/1': withArg(contains),
  'inside/1': withArg((v, a) => contains(a, v)),
  'add/0': simple((v) => (v === null ? null : iterate(v).reduce((s: unknown, x) => add(s, x), null))),
  'any/0': simple((v) => iterate(v).some(truthy)),
  'all/0': simple((v) => iterate(v).every(truthy)),
  'any/1':
    ([f]) =>
    (x) => [iterate(x).some((y) => (f as Filter)(y).some(truthy))],
  'all/1':
    ([f]) =>
    (x) => [iterate(x).every((y) => (f as Filter)(y).every(truthy))],
  'flatten/0': simple((v) => flatten(v, 1e9)),
  'flatten/1': withArg((v, d) => flatten(v, asNumber(d, 'flatten with'))),
  'range/1': withArg((_v, n) =>
    Array.from({ length: Math.max(0, Math.ceil(asNumber(n, 'range'))) }, (_, i) => i),
  ),
  'range/2':
    ([a, b]) =>
    (x) =>
      (a as Filter)(x).flatMap((from) =>
        (b as Filter)(x).flatMap((to) => {
          const out: unknown[] = [];
          for (let i = asNumber(from, 'range'); i < asNumber(to, 'range'); i++) out.push(num(i));
          return out;
        }),
      ),
  'floor/0': simple((v) => num(Math.floor(asNumber(v, 'floor')))),
  'ceil/0': simple((v) => num(Math.ceil(asNumber(v, 'ceil')))),
  'round/0': simple((v) => num(Math.round(asNumber(v, 'round')))),
  'sqrt/0': simple((v) => num(Math.sqrt(asNumber(v, 'sqrt')))),
  'fabs/0': simple((v) => num(Math.abs(asNumber(v, 'fabs')))),
  'tostring/0': simple(text),
  'tojson/0': simple((v) => toJson(v)),
  'fromjson/0': simple((v) => parseJson(String(v))),
  'tonumber/0': simple((v) => {
    if (isNum(v)) return v;
    const s = String(v).trim();
    if (!/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s))
      throw new JqError(`jq: cannot parse ${JSON.stringify(s)} as a number`);
    return /[.eE]/.test(s) ? new JavaDouble(Number(s)) : num(Number(s));
  }),
  'type/0': simple(jqType),
  'ascii_downcase/0': simple((v) => String(v).replace(/[A-Z]/g, (c) => c.toLowerCase())),
  'ascii_upcase/0': simple((v) => String(v).replace(/[a-z]/g, (c) => c.toUpperCase())),
  'ltrimstr/1': withArg((v, p) =>
    typeof v === 'string' && typeof p === 'string' && v.startsWith(p) ? v.slice(p.length) : v,
  ),
  'rtrimstr/1': withArg((v, p) =>
    typeof v === 'string' && typeof p === 'string' && p !== '' && v.endsWith(p) ? v.slice(0, -p.length) : v,
  ),
  'startswith/1': withArg((v, p) => String(v).startsWith(String(p))),
  'endswith/1': withArg((v, p) => String(v).endsWith(String(p))),
  'split/1': withArg((v, s) => divide(v, s)),
  'join/1': withArg((v, s) =>
    iterate(v)
      .map((x) => {
        if (x === null || x === undefined) return '';
        if (Array.isArray(x) || isObject(x)) throw new JqError(`jq: cannot join ${jqType(x)}`);
        return text(x);
      })
      .join(String(s)),
  ),
  'test/1': withArg((v, re) => new RegExp(String(re)).test(String(v))),
  'test/2':
    ([re, flags]) =>
    (x) =>
      (re as Filter)(x).flatMap((r) =>
        (flags as Filter)(x).map((f) =>
          new RegExp(String(r), String(f).replace(/[gxns]/g, '')).test(String(x)),
        ),
      ),
  'index/1': withArg((v, s) => {
    const i = String(v).indexOf(String(s));
    return i < 0 ? null : i;
  }),
  'rindex/1': withArg((v, s) => {
    const i = String(v).lastIndexOf(String(s));
    return i < 0 ? null : i;
  }),
  'sort/0': simple((v) => [...needArray(v, 'sort')].sort(order)),
  'sort_by/1':
    ([f]) =>
    (x) => [keyed(x, f as Filter, 'sort_by').map((e) => e.item)],
  'group_by/1':
    ([f]) =>
    (x) => [groups(x, f as Filter, 'group_by')],
  'unique/0': simple((v) => groups(v, (y) => [y], 'unique').map((g) => g[0])),
  'unique_by/1':
    ([f]) =>
    (x) => [groups(x, f as Filter, 'unique_by').map((g) => g[0])],
  'min/0': simple((v) => extreme(v, (y) => [y], 'min', false)),
  'max/0': simple((v) => extreme(v, (y) => [y], 'max', true)),
  'min_by/1':
    ([f]) =>
    (x) => [extreme(x, f as Filter, 'min_by', false)],
  'max_by/1':
    ([f]) =>
    (x) => [extreme(x, f as Filter, 'max_by', true)],
  'reverse/0': simple((v) =>
    typeof v === 'string'
      ? [...v].reverse().join('')
      : v === null
        ? []
        : [...needArray(v, 'reverse')].reverse(),
  ),
  'to_entries/0': simple(toEntries),
  'from_entries/0': simple(fromEntries),
  'with_entries/1':
    ([f]) =>
    (x) => [fromEntries(toEntries(x).flatMap((e) => (f as Filter)(e)))],
  'map/1':
    ([f]) =>
    (x) => [iterate(x).flatMap(f as Filter)],
  'map_values/1':
    ([f]) =>
    (x) => {
      if (Array.isArray(x)) return [x.flatMap((y) => (f as Filter)(y).slice(0, 1))];
      if (!isObject(x)) throw new JqError(`jq: cannot iterate over ${jqType(x)}`);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(x)) {
        const r = (f as Filter)(v);
        if (r.length) out[k] = r[0];
      }
      return [out];
    },
  'select/1':
    ([f]) =>
    (x) =>
      (f as Filter)(x)
        .filter(truthy)
        .map(() => x),
  'recurse/0': () => (x) => recurse(x),
  'first/0': simple((v) => (Array.isArray(v) ? (v[0] ?? null) : indexed(v, 0))),
  'last/0': simple((v) => (Array.isArray(v) ? (v.at(-1) ?? null) : indexed(v, -1))),
  'first/1':
    ([f]) =>
    (x) =>
      (f as Filter)(x).slice(0, 1),
  'last/1':
    ([f]) =>
    (x) =>
      (f as Filter)(x).slice(-1),
  'limit/2':
    ([n, f]) =>
    (x) =>
      (n as Filter)(x).flatMap((k) => (f as Filter)(x).slice(0, Math.max(0, asNumber(k, 'limit')))),
  'isempty/1':
    ([f]) =>
    (x) => [(f as Filter)(x).length === 0],
  'error/0': () => (x) => {
    throw new JqError(`jq: ${text(x)}`);
  },
  'error/1':
    ([m]) =>
    (x) => {
      throw new JqError(`jq: ${text((m as Filter)(x)[0])}`);
    },
  'true/0': () => () => [true],
  'false/0': () => () => [false],
  'null/0': () => () => [null],
  'arrays/0': typed('array'),
  'objects/0': typed('object'),
  'strings/0': typed('string'),
  'numbers/0': typed('number'),
  'booleans/0': typed('boolean'),
  'nulls/0': typed('null'),
  'iterables/0': typed('iterables'),
  'scalars/0': typed('scalars'),
};
