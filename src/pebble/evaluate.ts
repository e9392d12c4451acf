import { PebbleError, type Position } from './errors.js';
import {
  double,
  isDouble,
  isNumber,
  JavaDouble,
  javaEquals,
  javaFloat,
  javaSplit,
  javaText,
  long,
  normalLong,
  numberValue,
  strictEquals,
  toJson,
} from './java.js';
import type { Args, Expr, Macro, Node, Template } from './parser.js';

/** What a filter, function or test receives besides its input. */
export interface CallContext {
  at: Position;
  /** The variables visible where it is called (innermost scope first). */
  variables(): Record<string, unknown>;
  host: Host;
  /** Renders another template with the same variables and host (`render()`). */
  render(template: string): string;
}

/** Services the embedder provides; the engine knows nothing of flows. */
export interface Host {
  secret?: (name: string) => unknown;
  errorLogs?: () => unknown[];
  /** Compiles (with the embedder's cache) and renders another template: `render()`. */
  renderTemplate?: (template: string, variables: Record<string, unknown>) => string;
  /**
   * Called after each filter, function, test and method call with what went in (the input, then
   * the arguments) and what came out: an embedder follows values through expressions with it (the
   * flow layer makes what is derived from a secret a secret).
   */
  observe?: (inputs: readonly unknown[], output: unknown) => void;
}

export interface Callable {
  name: string;
  kind: 'filter' | 'function' | 'test';
  /** Argument names in order: positional arguments take them left to right. */
  args: readonly string[];
  /** Where it comes from: Pebble's core, Kestra's extension, or kept from this project's earlier engine. */
  origin: 'pebble' | 'kestra' | 'here';
  /** One line for the README. */
  summary: string;
  apply?: (input: unknown, args: Record<string, unknown>, cx: CallContext, positional: unknown[]) => unknown;
  /** Why it is refused here (then `apply` is absent). */
  refused?: string;
  /**
   * A check at validation of the arguments written as literals (by name): why the call cannot
   * work whatever the values, or undefined (`jq` compiles a literal program with it).
   */
  check?: (literals: Record<string, unknown>) => string | undefined;
}

/** Why a call's arguments do not fit what the callable takes (the run-time check), or undefined. */
export function argumentsProblem(
  callable: Callable,
  args: { positional: number; named: readonly string[] },
): string | undefined {
  const what = `${callable.kind} '${callable.name}${callable.kind === 'function' ? '()' : ''}'`;
  if (callable.args.length && args.positional > callable.args.length)
    return `${what}: the argument at position ${callable.args.length + 1} is not allowed; only ${callable.args.length} argument(s) are allowed (${callable.args.join(', ')})`;
  for (const n of args.named)
    if (!callable.args.includes(n)) {
      const close = callable.args.find((a) => a.toLowerCase() === n.toLowerCase());
      return `${what} has no argument '${n}'${close ? ` (did you mean '${close}'?)` : ''}; its arguments: ${callable.args.join(', ') || 'none'}`;
    }
  return undefined;
}

export type Registry = ReadonlyMap<string, Callable>;

export interface Registries {
  filters: Registry;
  functions: Registry;
  tests: Registry;
}

/** One scope of variables; a local one (a macro call's) ends every search for a name. */
interface Scope {
  vars: Record<string, unknown>;
  local: boolean;
}

/**
 * The variables as Pebble's ScopeChain holds them: the caller's map at the bottom, the template's
 * own scope above it, one non-local scope per for loop and a local one per macro call. A name is
 * looked up from the innermost scope out, stopping at a local scope; `set` writes to the first
 * scope that is local or already holds the name, else to the innermost (ScopeChain.set).
 */
export class Scopes {
  constructor(
    private readonly chain: Scope[],
    readonly macros: ReadonlyMap<string, Macro>,
    /** The caller's map, never written: a `set` that Pebble would make there goes to the scope above it. */
    private readonly base?: Record<string, unknown>,
  ) {}
  static of(variables: Record<string, unknown>, macros: ReadonlyMap<string, Macro>): Scopes {
    return new Scopes(
      [
        { vars: variables, local: false },
        { vars: {}, local: false },
      ],
      macros,
      variables,
    );
  }
  /**
   * A macro call's scopes (Pebble's MacroNode): a local one, which hides the caller's variables,
   * holding the parameters' defaults (`defaults`, filled in order by the caller).
   */
  static macro(defaults: Record<string, unknown>, macros: ReadonlyMap<string, Macro>): Scopes {
    return new Scopes([{ vars: defaults, local: true }], macros);
  }
  lookup(name: string): { found: boolean; value: unknown } {
    for (let i = this.chain.length - 1; i >= 0; i--) {
      const s = this.chain[i] as Scope;
      if (Object.prototype.hasOwnProperty.call(s.vars, name)) return { found: true, value: s.vars[name] };
      if (s.local) break;
    }
    return { found: false, value: undefined };
  }
  push(vars: Record<string, unknown>, local = false): Scopes {
    return new Scopes([...this.chain, { vars, local }], this.macros, this.base);
  }
  set(name: string, value: unknown): void {
    let i = this.chain.length - 1;
    for (; i >= 0; i--) {
      const s = this.chain[i] as Scope;
      if (s.local || Object.prototype.hasOwnProperty.call(s.vars, name)) break;
    }
    if (i < 0) i = this.chain.length - 1;
    if ((this.chain[i] as Scope).vars === this.base) i++;
    (this.chain[i] as Scope).vars[name] = value;
  }
  /** What a lookup sees, as one map. */
  flat(): Record<string, unknown> {
    let from = this.chain.length - 1;
    while (from > 0 && !(this.chain[from] as Scope).local) from--;
    return Object.assign({}, ...this.chain.slice(from).map((s) => s.vars)) as Record<string, unknown>;
  }
}

const undefinedName = (name: string, at: Position) =>
  new PebbleError('undefined', `'${name}' is not defined`, at, name);
const runtime = (message: string, at: Position, cause?: unknown) =>
  new PebbleError('runtime', message, at, undefined, cause === undefined ? undefined : { cause });

/** A Java type name for messages. */
export function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return 'String';
  if (typeof v === 'boolean') return 'Boolean';
  if (v instanceof JavaDouble) return v.kind;
  if (isNumber(v)) return isDouble(v) ? 'Double' : 'Long';
  if (Array.isArray(v)) return 'List';
  return 'Map';
}

export class Evaluator {
  constructor(
    private readonly registries: Registries,
    private readonly host: Host,
  ) {}

  /** Renders a template to text, and gives the value of its only print if it is nothing but one `{{ }}`. */
  render(template: Template, variables: Record<string, unknown>): string {
    const scopes = Scopes.of(variables, template.macros);
    const out: string[] = [];
    this.nodes(template.nodes, scopes, out);
    return out.join('');
  }

  /** The value of a template that is exactly one `{{ expr }}` (no text around it). */
  value(template: Template, variables: Record<string, unknown>): unknown {
    const node = template.nodes[0];
    if (template.nodes.length !== 1 || node?.k !== 'print')
      throw new Error('value() of a template that is not one print');
    return this.expr(node.e, Scopes.of(variables, template.macros));
  }

  nodes(nodes: Node[], s: Scopes, out: string[]): void {
    for (const n of nodes) {
      switch (n.k) {
        case 'text':
          out.push(n.text);
          break;
        case 'print': {
          const v = this.expr(n.e, s);
          if (v !== null && v !== undefined) out.push(printed(v));
          break;
        }
        case 'if': {
          const branch = n.branches.find((b) => this.condition(this.expr(b.c, s), b.at));
          this.nodes(branch ? branch.body : n.otherwise, s, out);
          break;
        }
        case 'for':
          this.loop(n, s, out);
          break;
        case 'set':
          s.set(n.name, this.expr(n.e, s));
          break;
        case 'filter': {
          const inner: string[] = [];
          this.nodes(n.body, s, inner);
          let v: unknown = inner.join('');
          for (const f of n.filters) v = this.callFilter(f.name, v, f.args, f.at, s);
          if (v !== null && v !== undefined) out.push(printed(v));
          break;
        }
        case 'block':
          this.nodes(n.body, s, out);
          break;
      }
    }
  }

  condition(v: unknown, at: Position): boolean {
    if (v === null || v === undefined) return false;
    if (typeof v === 'boolean') return v;
    if (isNumber(v)) {
      const d = numberValue(v);
      return !Number.isNaN(d) && d !== 0;
    }
    if (typeof v === 'string') return v !== '';
    throw runtime(
      `unsupported value type ${typeName(v)}; expected Boolean, String, Number in "if" statement`,
      at,
    );
  }

  loop(n: Extract<Node, { k: 'for' }>, s: Scopes, out: string[]): void {
    const iterable = this.expr(n.iter, s);
    let items: unknown[];
    if (iterable === null || iterable === undefined) items = [];
    else if (Array.isArray(iterable)) items = iterable;
    else if (typeof iterable === 'object' && !(iterable instanceof JavaDouble))
      items = Object.entries(iterable as Record<string, unknown>).map(([key, value]) => ({ key, value }));
    else if (typeof iterable === 'string') items = [...iterable];
    else
      throw runtime(`cannot iterate over ${typeName(iterable)} in {% for %}; expected a list or a map`, n.at);
    if (items.length === 0) {
      this.nodes(n.otherwise, s, out);
      return;
    }
    const length = items.length;
    // Pebble's ForNode: one scope for the whole loop, so a `set` of a new name in one iteration is
    // seen by the next and gone after the loop, and a `set` of an outer name updates it.
    const scope: Record<string, unknown> = {};
    const inner = s.push(scope);
    items.forEach((item, index) => {
      scope.loop = {
        index,
        revindex: length - index - 1,
        first: index === 0,
        last: index === length - 1,
        length,
      };
      scope[n.name] = item;
      this.nodes(n.body, inner, out);
    });
  }

  expr(e: Expr, s: Scopes): unknown {
    switch (e.k) {
      case 'lit':
        return e.v;
      case 'interp':
        return e.parts.map((p) => (typeof p === 'string' ? p : javaText(this.expr(p, s)))).join('');
      case 'var': {
        const { found, value } = s.lookup(e.name);
        if (!found) throw undefinedName(e.name, e.at);
        return value ?? null;
      }
      case 'attr':
        return this.attribute(e, s);
      case 'list':
        return e.items.map((x) => this.expr(x, s));
      case 'map': {
        const m: Record<string, unknown> = {};
        for (const [k, v] of e.entries) m[javaText(this.expr(k, s))] = this.expr(v, s);
        return m;
      }
      case 'un': {
        const v = this.expr(e.e, s);
        if (e.op === 'not') return !this.bool(v, 'not', e.at);
        return arithmetic(e.op === '-' ? '*' : '*', e.op === '-' ? -1 : 1, v, e.at);
      }
      case 'bin':
        return this.binary(e, s);
      case 'filter': {
        if (e.name !== 'default') return this.callFilter(e.name, this.expr(e.e, s), e.args, e.at, s);
        let input: unknown;
        try {
          input = this.expr(e.e, s);
        } catch (err) {
          if (!(err instanceof PebbleError && err.kind === 'undefined')) throw err;
          input = null;
        }
        return this.callFilter(e.name, input, e.args, e.at, s);
      }
      case 'test':
        return this.test(e, s);
      case 'call':
        return this.call(e, s);
      case 'tern':
        return this.bool(this.expr(e.c, s), 'ternary', e.at) ? this.expr(e.a, s) : this.expr(e.b, s);
    }
  }

  bool(v: unknown, op: string, at: Position): boolean {
    if (v === null || v === undefined)
      throw runtime(`null value used in ${op} operator and strict variables is set to true`, at);
    if (typeof v === 'boolean') return v;
    if (isNumber(v)) return numberValue(v) !== 0;
    if (typeof v === 'string') return v !== '';
    throw runtime(`${typeName(v)} used in ${op} operator; expected a Boolean`, at);
  }

  binary(e: Extract<Expr, { k: 'bin' }>, s: Scopes): unknown {
    switch (e.op) {
      case 'and':
        return this.bool(this.expr(e.l, s), 'and', e.at) && this.bool(this.expr(e.r, s), 'and', e.at);
      case 'or':
        return this.bool(this.expr(e.l, s), 'or', e.at) || this.bool(this.expr(e.r, s), 'or', e.at);
      case '??': {
        try {
          const v = this.expr(e.l, s);
          if (v !== null && v !== undefined) return v;
        } catch (err) {
          if (!(err instanceof PebbleError && err.kind === 'undefined')) throw err;
        }
        return this.expr(e.r, s);
      }
      case '???':
        try {
          return this.expr(e.l, s);
        } catch (err) {
          if (!(err instanceof PebbleError && err.kind === 'undefined')) throw err;
          return this.expr(e.r, s);
        }
    }
    const l = this.expr(e.l, s);
    const r = this.expr(e.r, s);
    switch (e.op) {
      case '~':
        // Pebble's ConcatenateExpression: a null side adds nothing.
        return (
          (l === null || l === undefined ? '' : javaText(l)) +
          (r === null || r === undefined ? '' : javaText(r))
        );
      case '==':
      case 'equals':
        return javaEquals(l, r);
      case '!=':
        return !javaEquals(l, r);
      case '<':
      case '>':
      case '<=':
      case '>=':
        return compare(e.op, l, r, e.at);
      case 'contains':
        return contains(l, r, e.at);
      case '..': {
        // Pebble's RangeFunction: one character to another is a list of characters.
        if (typeof l === 'string' && typeof r === 'string' && l.length === 1 && r.length === 1) {
          const chars: string[] = [];
          for (let c = l.charCodeAt(0); c <= r.charCodeAt(0); c++) chars.push(String.fromCharCode(c));
          return chars;
        }
        const from = toLong(l, '..', e.at);
        const to = toLong(r, '..', e.at);
        const list: number[] = [];
        for (let i = from; i <= to; i++) list.push(i);
        return list;
      }
      case '+':
        if (typeof l === 'string' || typeof r === 'string') return javaText(l) + javaText(r);
        if (Array.isArray(l))
          return Array.isArray(r) ? [...(l as unknown[]), ...(r as unknown[])] : [...(l as unknown[]), r];
        return arithmetic('+', l, r, e.at);
      case '-':
        if (Array.isArray(l))
          return l.filter((x) =>
            Array.isArray(r) ? !r.some((y) => strictEquals(x, y)) : !strictEquals(x, r),
          );
        return arithmetic('-', l, r, e.at);
      default:
        return arithmetic(e.op, l, r, e.at);
    }
  }

  attribute(e: Extract<Expr, { k: 'attr' }>, s: Scopes): unknown {
    const obj = this.expr(e.obj, s);
    const key = this.expr(e.name, s);
    const name = javaText(key);
    const where = pathOf(e.obj);
    const full = where === undefined ? name : `${where}.${name}`;
    if (obj === null || obj === undefined) {
      if (e.obj.k === 'var') throw undefinedName(e.obj.name, e.obj.at);
      throw new PebbleError(
        'undefined',
        `cannot read '${name}' of null${where ? ` (${where} is null)` : ''}`,
        e.at,
        full,
      );
    }
    if (e.args) {
      const args = e.args.positional.map((a) => this.expr(a, s));
      const out = this.method(obj, name, args, e.at);
      this.host.observe?.([obj, ...args], out);
      return out;
    }
    if (Array.isArray(obj)) {
      if (isNumber(key) || /^\d+$/.test(name)) {
        const i = isNumber(key) ? numberValue(key) : Number(name);
        if (i >= 0 && i < obj.length) return obj[i] ?? null;
        throw new PebbleError(
          'undefined',
          `index ${name} is out of bounds for a list of ${obj.length}`,
          e.at,
          full,
        );
      }
      if (name === 'length' || name === 'size' || name === 'empty') return this.method(obj, name, [], e.at);
    } else if (typeof obj === 'object' && !(obj instanceof JavaDouble)) {
      const map = obj as Record<string, unknown>;
      if (Object.prototype.hasOwnProperty.call(map, name)) return map[name] ?? null;
    } else if (typeof obj === 'string' && (name === 'length' || name === 'empty' || name === 'bytes')) {
      return this.method(obj, name, [], e.at);
    }
    throw new PebbleError('undefined', `attribute '${name}' of ${typeName(obj)} does not exist`, e.at, full);
  }

  /** The few Java methods templates call on strings, lists and maps. */
  method(obj: unknown, name: string, args: unknown[], at: Position): unknown {
    const a0 = args[0];
    if (typeof obj === 'string') {
      switch (name) {
        case 'length':
          return obj.length;
        case 'isEmpty':
        case 'empty':
          return obj.length === 0;
        case 'toUpperCase':
          return obj.toUpperCase();
        case 'toLowerCase':
          return obj.toLowerCase();
        case 'trim':
          return obj.trim();
        case 'contains':
          return obj.includes(javaText(a0));
        case 'startsWith':
          return obj.startsWith(javaText(a0));
        case 'endsWith':
          return obj.endsWith(javaText(a0));
        case 'substring':
          return obj.substring(
            Number(numberValue(a0 as number)),
            args[1] === undefined ? undefined : numberValue(args[1] as number),
          );
        case 'indexOf':
          return obj.indexOf(javaText(a0));
        case 'replace':
          return obj.split(javaText(a0)).join(javaText(args[1]));
        case 'split':
          return javaSplit(obj, javaText(a0), args[1] === undefined ? 0 : numberValue(args[1] as number));
        case 'equals':
          return obj === a0;
      }
    } else if (Array.isArray(obj)) {
      switch (name) {
        case 'size':
        case 'length':
          return obj.length;
        case 'isEmpty':
        case 'empty':
          return obj.length === 0;
        case 'get':
          return obj[numberValue(a0 as number)] ?? null;
        case 'contains':
          return obj.some((x) => strictEquals(x, a0));
      }
    } else if (obj !== null && typeof obj === 'object' && !(obj instanceof JavaDouble)) {
      const map = obj as Record<string, unknown>;
      switch (name) {
        case 'size':
          return Object.keys(map).length;
        case 'isEmpty':
          return Object.keys(map).length === 0;
        case 'get':
          return map[javaText(a0)] ?? null;
        case 'containsKey':
          return Object.prototype.hasOwnProperty.call(map, javaText(a0));
        case 'keySet':
          return Object.keys(map);
        case 'values':
          return Object.values(map);
      }
    }
    throw new PebbleError('undefined', `method '${name}()' of ${typeName(obj)} does not exist`, at, name);
  }

  args(
    callable: Callable,
    args: Args,
    s: Scopes,
    at: Position,
  ): { named: Record<string, unknown>; positional: unknown[] } {
    const named: Record<string, unknown> = {};
    // Pebble's ArgumentsNode: a callable that names its arguments takes no more positional ones (one
    // that names none, such as min and max, takes any number), and no name it does not know.
    if (
      (callable.args.length && args.positional.length > callable.args.length) ||
      args.named.some(([n]) => !callable.args.includes(n))
    ) {
      const problem = argumentsProblem(callable, {
        positional: args.positional.length,
        named: args.named.map(([n]) => n),
      }) as string;
      throw new PebbleError(problem.includes('has no argument') ? 'syntax' : 'runtime', problem, at);
    }
    const positional = args.positional.map((a) => this.expr(a, s));
    positional.forEach((v, i) => {
      const n = callable.args[i];
      if (n !== undefined) named[n] = v;
    });
    for (const [n, x] of args.named) named[n] = this.expr(x, s);
    return { named, positional };
  }

  context(at: Position, s: Scopes): CallContext {
    return {
      at,
      host: this.host,
      variables: () => s.flat(),
      render: (template: string) => {
        if (!this.host.renderTemplate) throw runtime('render() is not available here', at);
        return this.host.renderTemplate(template, s.flat());
      },
    };
  }

  invoke(c: Callable, input: unknown, args: Args, at: Position, s: Scopes): unknown {
    if (!c.apply)
      throw runtime(`${c.kind} '${c.name}' is not supported here: ${c.refused ?? 'no implementation'}`, at);
    const { named, positional } = this.args(c, args, s, at);
    try {
      const out = c.apply(input, named, this.context(at, s), positional);
      this.host.observe?.([input, ...positional, ...Object.values(named)], out);
      return out;
    } catch (err) {
      if (err instanceof PebbleError) throw err;
      const message = (err as Error).message;
      throw runtime(message.startsWith(`${c.name}: `) ? message : `${c.name}: ${message}`, at, err);
    }
  }

  callFilter(name: string, input: unknown, args: Args, at: Position, s: Scopes): unknown {
    const c = this.registries.filters.get(name);
    if (!c) throw new PebbleError('syntax', `unknown filter '${name}'`, at);
    return this.invoke(c, input, args, at, s);
  }

  call(e: Extract<Expr, { k: 'call' }>, s: Scopes): unknown {
    const macro = s.macros.get(e.name);
    if (macro) return this.macro(macro, e, s);
    const c = this.registries.functions.get(e.name);
    if (!c) throw new PebbleError('syntax', `unknown function '${e.name}()'`, e.at);
    return this.invoke(c, undefined, e.args, e.at, s);
  }

  macro(m: Macro, e: Extract<Expr, { k: 'call' }>, s: Scopes): string {
    const given: Record<string, unknown> = {};
    m.params.forEach((p, i) => {
      const a = e.args.positional[i];
      if (a) given[p.name] = this.expr(a, s);
    });
    for (const [n, x] of e.args.named) {
      if (!m.params.some((p) => p.name === n))
        throw new PebbleError('syntax', `macro '${m.name}' has no argument '${n}'`, e.at);
      given[n] = this.expr(x, s);
    }
    // Pebble's MacroNode: a local scope (the caller's variables unseen) holding every parameter's
    // default, evaluated in order there, then a scope of the arguments given.
    const defaults: Record<string, unknown> = {};
    const local = Scopes.macro(defaults, s.macros);
    for (const p of m.params) defaults[p.name] = p.default ? this.expr(p.default, local) : null;
    const out: string[] = [];
    this.nodes(m.body, local.push(given), out);
    return out.join('');
  }

  test(e: Extract<Expr, { k: 'test' }>, s: Scopes): boolean {
    const c = this.registries.tests.get(e.name);
    if (!c) throw new PebbleError('syntax', `unknown test '${e.name}'`, e.at);
    let input: unknown;
    if (e.name === 'defined') {
      try {
        input = this.expr(e.e, s);
        return !e.negated;
      } catch (err) {
        if (err instanceof PebbleError && err.kind === 'undefined') return e.negated;
        throw err;
      }
    }
    if (e.name === 'null' || e.name === 'empty') {
      try {
        input = this.expr(e.e, s);
      } catch (err) {
        if (!(err instanceof PebbleError && err.kind === 'undefined')) throw err;
        input = null;
      }
    } else input = this.expr(e.e, s);
    const r = Boolean(this.invoke(c, input, e.args, e.at, s));
    return e.negated ? !r : r;
  }
}

/** `a.b.c` for a chain of names and literal keys, else undefined. */
function pathOf(e: Expr): string | undefined {
  if (e.k === 'var') return e.name;
  if (e.k === 'attr' && !e.args && e.name.k === 'lit') {
    const base = pathOf(e.obj);
    return base === undefined ? undefined : `${base}.${javaText(e.name.v)}`;
  }
  return undefined;
}

/** How a value prints inside text (Kestra's JsonWriter): maps and lists as JSON, numbers as Java. */
export function printed(v: unknown): string {
  if (
    Array.isArray(v) ||
    (typeof v === 'object' && v !== null && !(v instanceof JavaDouble) && !(v instanceof Date))
  )
    return toJson(v);
  return javaText(v);
}

export function toNumber(v: unknown, op: string, at: Position): number | bigint | JavaDouble {
  if (isNumber(v)) return v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^[+-]?\d+$/.test(t)) return long(t.replace(/^\+/, ''));
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && /[.eE]/.test(t)) return double(Number(t));
  }
  throw runtime(
    `cannot use ${v === null ? 'null' : `${typeName(v)} ${JSON.stringify(javaText(v))}`} in '${op}': expected a number`,
    at,
  );
}

function toLong(v: unknown, op: string, at: Position): number {
  const n = toNumber(v, op, at);
  return Math.trunc(numberValue(n));
}

/** Pebble's widening arithmetic: long op long stays long (division truncates, overflow wraps), else double. */
export function arithmetic(op: string, l: unknown, r: unknown, at: Position): number | bigint | JavaDouble {
  let a = toNumber(l, op, at);
  let b = toNumber(r, op, at);
  const x = numberValue(a);
  const y = numberValue(b);
  const kind = (v: unknown) => (v instanceof JavaDouble ? v.kind : isDouble(v) ? 'Double' : 'Long');
  const ka = kind(a);
  const kb = kind(b);
  if (isDouble(a) || isDouble(b)) {
    const d = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
    // OperatorUtils: a Double (or a BigDecimal, reckoned here as a double) makes a Double; Floats and
    // integers make a Float, computed in float32.
    if (ka === 'Double' || kb === 'Double' || ka === 'BigDecimal' || kb === 'BigDecimal') return double(d);
    return javaFloat(d);
  }
  if (y === 0 && (op === '/' || op === '%')) throw runtime(`division by zero in '${op}'`, at);
  if (ka === 'Integer' && kb === 'Integer') {
    // integerOperation: int arithmetic (overflow wraps at 32 bits), the result a long.
    const r32 =
      op === '+'
        ? (x + y) | 0
        : op === '-'
          ? (x - y) | 0
          : op === '*'
            ? Math.imul(x, y)
            : op === '/'
              ? (x / y) | 0
              : (x % y) | 0;
    return r32;
  }
  if (a instanceof JavaDouble) a = a.value;
  if (b instanceof JavaDouble) b = b.value;
  if (typeof a === 'number' && typeof b === 'number' && (op !== '/' || Math.abs(x) < 2 ** 31)) {
    const exact =
      op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? Math.trunc(x / y) : x % y;
    if (Number.isSafeInteger(exact)) return exact;
  }
  // Beyond 2^53: Java's 64-bit long arithmetic on BigInts (overflow wraps as in Java).
  const p = BigInt(a);
  const q = BigInt(b);
  return normalLong(
    op === '+' ? p + q : op === '-' ? p - q : op === '*' ? p * q : op === '/' ? p / q : p % q,
  );
}

/**
 * Kestra's LessThanExpression and its siblings: two strings compare as Java's String.compareTo (UTF-16
 * code units, as JS's `<`), anything else goes to Pebble's OperatorUtils: a null side is false,
 * numbers compare by value, any other pair is an error.
 */
function compare(op: string, l: unknown, r: unknown, at: Position): boolean {
  if (l === null || l === undefined || r === null || r === undefined) return false;
  let c: number;
  if (typeof l === 'string' && typeof r === 'string') c = l < r ? -1 : l > r ? 1 : 0;
  else if (isNumber(l) && isNumber(r)) c = numberCompare(l, r, op, at);
  else
    throw runtime(
      `invalid operands for comparison '${op}': ${typeName(l)} and ${typeName(r)}; expected two numbers or two strings`,
      at,
    );
  return op === '<' ? c < 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : c >= 0;
}

/** OperatorUtils' comparison of two numbers: Double.compareTo between doubles, else exact values. */
function numberCompare(
  l: number | bigint | JavaDouble,
  r: number | bigint | JavaDouble,
  op: string,
  at: Position,
): number {
  const dl = isDouble(l);
  const dr = isDouble(r);
  const x = l instanceof JavaDouble ? l.value : l;
  const y = r instanceof JavaDouble ? r.value : r;
  if (dl && dr) {
    // Double.compareTo: NaN above everything (and equal to itself), -0.0 below 0.0.
    const a = x as number;
    const b = y as number;
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
    if (a === 0 && b === 0) return Object.is(a, b) ? 0 : Object.is(a, -0) ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  // A double against a long goes through new BigDecimal(toString()), which refuses NaN and infinities.
  if ((dl && !Number.isFinite(x)) || (dr && !Number.isFinite(y)))
    throw runtime(`cannot compare ${javaText(l)} and ${javaText(r)} in '${op}'`, at);
  // number against bigint compares exact values in JS.
  return x < y ? -1 : x > y ? 1 : 0;
}

function contains(l: unknown, r: unknown, at: Position): boolean {
  if (l === null || l === undefined) return false;
  if (Array.isArray(l))
    return Array.isArray(r)
      ? r.every((y) => l.some((x) => strictEquals(x, y)))
      : l.some((x) => strictEquals(x, r));
  if (typeof l === 'string') return l.includes(javaText(r));
  if (typeof l === 'object' && !(l instanceof JavaDouble)) {
    const keys = Object.keys(l);
    return keys.includes(javaText(r));
  }
  throw runtime(`contains can only be used on lists, maps and strings; found ${typeName(l)}`, at);
}
