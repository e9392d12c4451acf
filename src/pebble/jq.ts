import { isNumber, JavaDouble, javaEquals, javaText, numberValue } from './java.js';

/** What this jq supports, for every message that says so. */
const SUPPORTED =
  'this jq supports paths, [], |, ",", comparisons, length, keys, values, map, select, first, last, not, tostring, tonumber, type';

/**
 * A small jq, enough for what flows do with Kestra's `jq` filter: `.`, `.a.b`, `.["a"]`, `.[0]`,
 * `.[]`, `.a[]?`, pipes `|`, `,`, literals, `length`, `keys`, `values`, `map(f)`, `select(f)`,
 * `first`, `last`, `not`, `tostring`, `tonumber`, `==` `!=` `<` `>` `<=` `>=` `and` `or`, `[f]`.
 * Anything else is refused with its name. The result is always a list (Kestra's JqFilter).
 */

type Filter = (input: unknown) => unknown[];

export function jq(input: unknown, expression: string): unknown[] {
  return compile(expression)(input);
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

const TOKEN =
  /\s*(\.\.|\.\[|\.[A-Za-z_][A-Za-z0-9_]*|\.|\[|\]|\(|\)|\||,|==|!=|<=|>=|<|>|\?|[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*")/y;

class JqParser {
  private readonly tokens: string[] = [];
  private i = 0;
  constructor(private readonly src: string) {
    TOKEN.lastIndex = 0;
    let m: RegExpExecArray | null;
    while (TOKEN.lastIndex < src.length && (m = TOKEN.exec(src))) this.tokens.push(m[1] as string);
    if (src.slice(TOKEN.lastIndex).trim())
      throw new Error(
        `jq: cannot read ${JSON.stringify(src.slice(TOKEN.lastIndex))} in ${JSON.stringify(src)}; ${SUPPORTED}`,
      );
  }
  peek(): string | undefined {
    return this.tokens[this.i];
  }
  eat(t: string): void {
    if (this.tokens[this.i] !== t) throw new Error(`jq: expected ${t} in ${JSON.stringify(this.src)}`);
    this.i++;
  }
  parse(): Filter {
    const f = this.pipe();
    if (this.i < this.tokens.length)
      throw new Error(`jq: unexpected ${this.tokens[this.i]} in ${JSON.stringify(this.src)}`);
    return f;
  }
  pipe(): Filter {
    let left = this.comma();
    while (this.peek() === '|') {
      this.i++;
      const l = left;
      const r = this.comma();
      left = (x) => l(x).flatMap(r);
    }
    return left;
  }
  comma(): Filter {
    let left = this.logic();
    while (this.peek() === ',') {
      this.i++;
      const l = left;
      const r = this.logic();
      left = (x) => [...l(x), ...r(x)];
    }
    return left;
  }
  logic(): Filter {
    let left = this.compare();
    while (this.peek() === 'and' || this.peek() === 'or') {
      const op = this.tokens[this.i++];
      const l = left;
      const r = this.compare();
      left = (x) =>
        l(x).flatMap((a) =>
          r(x).map((b) => (op === 'and' ? truthy(a) && truthy(b) : truthy(a) || truthy(b))),
        );
    }
    return left;
  }
  compare(): Filter {
    const left = this.postfix();
    const op = this.peek();
    if (op && ['==', '!=', '<', '>', '<=', '>='].includes(op)) {
      this.i++;
      const r = this.postfix();
      return (x) =>
        left(x).flatMap((a) =>
          r(x).map((b) => {
            if (op === '==') return javaEquals(a, b);
            if (op === '!=') return !javaEquals(a, b);
            const c =
              isNumber(a) && isNumber(b)
                ? numberValue(a) - numberValue(b)
                : String(a) < String(b)
                  ? -1
                  : String(a) > String(b)
                    ? 1
                    : 0;
            return op === '<' ? c < 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : c >= 0;
          }),
        );
    }
    return left;
  }
  postfix(): Filter {
    let f = this.term();
    for (;;) {
      const t = this.peek();
      if (t === '[' || t === '.[') {
        this.i++;
        f = this.bracket(f);
      } else if (t !== undefined && t.length > 1 && t.startsWith('.') && t !== '..') {
        this.i++;
        const base = f;
        const key = t.slice(1);
        f = (x) => base(x).map((v) => field(v, key));
      } else if (t === '?') {
        this.i++;
        const base = f;
        f = (x) => {
          try {
            return base(x);
          } catch {
            return [];
          }
        };
      } else return f;
    }
  }
  bracket(base: Filter): Filter {
    if (this.peek() === ']') {
      this.i++;
      return (x) => base(x).flatMap(iterate);
    }
    const index = this.pipe();
    this.eat(']');
    return (x) =>
      base(x).flatMap((v) =>
        index(x).map((k) =>
          isNumber(k)
            ? Array.isArray(v)
              ? ((v as unknown[]).at(numberValue(k)) ?? null)
              : null
            : field(v, javaText(k)),
        ),
      );
  }
  term(): Filter {
    const t = this.tokens[this.i++];
    if (t === undefined) throw new Error(`jq: unexpected end of ${JSON.stringify(this.src)}`);
    if (t === '.') return (x) => [x];
    if (t === '.[') return this.bracket((x) => [x]);
    if (t.startsWith('.') && t !== '..') {
      const key = t.slice(1);
      return (x) => [field(x, key)];
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
    if (t.startsWith('"')) {
      const s = JSON.parse(t) as string;
      return () => [s];
    }
    if (/^-?\d/.test(t)) {
      const n = t.includes('.') ? new JavaDouble(Number(t)) : Number(t);
      return () => [n];
    }
    const simple: Record<string, (v: unknown) => unknown> = {
      length: (v) =>
        v === null
          ? 0
          : typeof v === 'string' || Array.isArray(v)
            ? v.length
            : typeof v === 'object'
              ? Object.keys(v).length
              : Math.abs(numberValue(v as number)),
      keys: (v) => (Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v as object).sort()),
      values: (v) => Object.values(v as Record<string, unknown>),
      first: (v) => (v as unknown[])[0] ?? null,
      last: (v) => (v as unknown[]).at(-1) ?? null,
      not: (v) => !truthy(v),
      tostring: (v) => (typeof v === 'string' ? v : JSON.stringify(v)),
      tonumber: (v) => Number(v),
      true: () => true,
      false: () => false,
      null: () => null,
      type: (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : isNumber(v) ? 'number' : typeof v),
    };
    const fn = simple[t];
    if (fn) return (x) => [fn(x)];
    if (t === 'map' || t === 'select') {
      this.eat('(');
      const f = this.pipe();
      this.eat(')');
      if (t === 'map') return (x) => [iterate(x).flatMap(f)];
      return (x) => (f(x).some(truthy) ? [x] : []);
    }
    throw new Error(`jq: '${t}' is not supported here; ${SUPPORTED}`);
  }
}

const truthy = (v: unknown) => v !== null && v !== false && v !== undefined;

function field(v: unknown, key: string): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof JavaDouble)
    throw new Error(`jq: cannot index ${Array.isArray(v) ? 'array' : typeof v} with "${key}"`);
  return (v as Record<string, unknown>)[key] ?? null;
}

function iterate(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v !== null && typeof v === 'object' && !(v instanceof JavaDouble)) return Object.values(v);
  throw new Error(`jq: cannot iterate over ${v === null ? 'null' : typeof v}`);
}
