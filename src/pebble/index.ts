/**
 * A Pebble template engine (https://pebbletemplates.io) with Kestra's settings: strictVariables,
 * no newline trimming, no autoescaping, and Kestra's filters and functions. It knows nothing of
 * flows: variables come in as a map, secrets and error logs through a `Host`.
 */
import { PebbleError, type Position } from './errors.js';
import {
  argumentsProblem,
  Evaluator,
  printed,
  Scopes,
  type Callable,
  type Host,
  type Registries,
} from './evaluate.js';
import { CALLABLE_TABLE, registries } from './extensions.js';
import { JavaDouble } from './java.js';
import { parse, type Args, type Expr, type Node, type Template } from './parser.js';

export { PebbleError } from './errors.js';
export type { Position } from './errors.js';
export type { Callable, Host } from './evaluate.js';
export { CALLABLE_TABLE } from './extensions.js';
export {
  holdsJavaNumber,
  JavaDouble,
  javaFloat,
  javaInteger,
  javaText,
  jsNumbers,
  parseJson,
  toJson,
  writeJson,
} from './java.js';
export { javaNumberTags, parseYamlJava } from './yaml-numbers.js';
export type { Template } from './parser.js';

/** What a template uses: for validation (unknown names, `outputs.<id>`). */
export interface TemplateUses {
  filters: string[];
  functions: string[];
  tests: string[];
  /** Each variable path from the root: `outputs.purge.id` → ['outputs', 'purge', 'id'] (literal keys only). */
  paths: string[][];
  /** Each call of a filter, function (not a macro) or test, with its arguments. */
  calls: { kind: Callable['kind']; name: string; args: Args; at: Position }[];
}

/** How deep `render()` may nest (a template rendering a template rendering…). */
const MAX_RENDER_DEPTH = 64;

/** One read of a variable from outside the template (not a loop, set or macro name). */
export interface TemplateRead {
  /** The path from the root, as far as its keys are literal: `vars.svc.name` → ['vars', 'svc', 'name']. */
  path: string[];
  at: Position;
  /**
   * Whether a missing value is no error here: the subject of `is defined`, `is not defined`,
   * `is null`, `is empty`, the left of `??`/`???`, the input of `default`, or a path (or the
   * extension of a path) that a guard around the read proves defined: the body of
   * `{% if vars.x is defined %}`, the else of `is not defined`, a ternary's branch, the right of
   * `and`/`or`.
   */
  guarded: boolean;
  /**
   * The called macro whose body (or a parameter's default) reads it: there only the macro's
   * parameters and its own sets are defined, so the read fails whatever the context.
   */
  macro?: { name: string; params: string[] };
}

/** Tests that take an undefined subject without failing (Pebble's strictVariables). */
const TOLERANT_TESTS = new Set(['defined', 'null', 'empty']);

export class PebbleEngine {
  private readonly cache = new Map<string, Template>();
  private readonly registries: Registries;

  constructor(private readonly options: { cacheSize?: number; extra?: Callable[] } = {}) {
    this.registries = registries(options.extra);
  }

  /** Compiles a template once (a bounded cache, least recently used out). Throws PebbleError('syntax'). */
  compile(source: string): Template {
    const hit = this.cache.get(source);
    if (hit) {
      this.cache.delete(source);
      this.cache.set(source, hit);
      return hit;
    }
    const t = parse(source);
    this.cache.set(source, t);
    if (this.cache.size > (this.options.cacheSize ?? 2000))
      this.cache.delete(this.cache.keys().next().value as string);
    return t;
  }

  /** Renders to text, as Kestra's `render` does. */
  render(source: string, variables: Record<string, unknown>, host: Host = {}): string {
    return this.evaluator(host).render(this.compile(source), variables);
  }

  /**
   * A template that is one `{{ expr }}` with nothing around it gives the expression's value (a list
   * stays a list, a whole double a `JavaDouble`); any other gives its text.
   */
  evaluate(source: string, variables: Record<string, unknown>, host: Host = {}): unknown {
    const t = this.compile(source);
    const ev = this.evaluator(host);
    if (t.nodes.length === 1 && t.nodes[0]?.k === 'print') return ev.value(t, variables);
    return ev.render(t, variables);
  }

  private evaluator(host: Host): Evaluator {
    let depth = 0;
    const full: Host = {
      ...host,
      renderTemplate: (template, variables) => {
        // A string that renders itself (`x: "{{ render(x) }}"`) would otherwise overflow the stack.
        if (depth >= MAX_RENDER_DEPTH)
          throw new PebbleError(
            'runtime',
            `render(): more than ${MAX_RENDER_DEPTH} templates rendering templates; does a value render itself?`,
            undefined,
          );
        depth++;
        try {
          return new Evaluator(this.registries, full).render(this.compile(template), variables);
        } finally {
          depth--;
        }
      },
    };
    return new Evaluator(this.registries, full);
  }

  uses(source: string): TemplateUses {
    const t = this.compile(source);
    const uses: TemplateUses = { filters: [], functions: [], tests: [], paths: [], calls: [] };
    const args = (a: Args) => {
      a.positional.forEach(expr);
      a.named.forEach(([, x]) => expr(x));
    };
    const path = (e: Expr): string[] | undefined => {
      if (e.k === 'var') return [e.name];
      if (
        e.k === 'attr' &&
        !e.args &&
        e.name.k === 'lit' &&
        e.name.v !== null &&
        typeof e.name.v !== 'boolean'
      ) {
        const base = path(e.obj);
        return base && [...base, String(e.name.v instanceof JavaDouble ? e.name.v.value : e.name.v)];
      }
      return undefined;
    };
    const expr = (e: Expr): void => {
      switch (e.k) {
        case 'var':
          uses.paths.push([e.name]);
          return;
        case 'attr': {
          const p = path(e);
          if (p) uses.paths.push(p);
          expr(e.obj);
          expr(e.name);
          if (e.args) args(e.args);
          return;
        }
        case 'interp':
          e.parts.forEach((p) => typeof p !== 'string' && expr(p));
          return;
        case 'list':
          e.items.forEach(expr);
          return;
        case 'map':
          e.entries.forEach(([k, v]) => (expr(k), expr(v)));
          return;
        case 'bin':
          expr(e.l);
          expr(e.r);
          return;
        case 'un':
          expr(e.e);
          return;
        case 'filter':
          uses.filters.push(e.name);
          uses.calls.push({ kind: 'filter', name: e.name, args: e.args, at: e.at });
          expr(e.e);
          args(e.args);
          return;
        case 'test':
          uses.tests.push(e.name);
          uses.calls.push({ kind: 'test', name: e.name, args: e.args, at: e.at });
          expr(e.e);
          args(e.args);
          return;
        case 'call':
          if (!t.macros.has(e.name)) {
            uses.functions.push(e.name);
            uses.calls.push({ kind: 'function', name: e.name, args: e.args, at: e.at });
          }
          args(e.args);
          return;
        case 'tern':
          expr(e.c);
          expr(e.a);
          expr(e.b);
          return;
        case 'lit':
          return;
      }
    };
    const nodes = (ns: Node[]): void => {
      for (const n of ns) {
        if (n.k === 'print' || n.k === 'set') expr(n.e);
        else if (n.k === 'if') {
          for (const b of n.branches) {
            expr(b.c);
            nodes(b.body);
          }
          nodes(n.otherwise);
        } else if (n.k === 'for') {
          expr(n.iter);
          nodes(n.body);
          nodes(n.otherwise);
        } else if (n.k === 'filter') {
          for (const f of n.filters) {
            uses.filters.push(f.name);
            uses.calls.push({ kind: 'filter', name: f.name, args: f.args, at: f.at });
            args(f.args);
          }
          nodes(n.body);
        } else if (n.k === 'block') nodes(n.body);
      }
    };
    nodes(t.nodes);
    for (const m of t.macros.values()) nodes(m.body);
    return uses;
  }

  /**
   * Every read of an outer variable in a template, from its AST, in the evaluator's scopes (the same
   * `Scopes`, holding `true` for a name that may be set there): a for loop's variables end with the
   * loop, a macro's body sees only its parameters and its own sets. Throws PebbleError('syntax').
   */
  reads(source: string): TemplateRead[] {
    const t = this.compile(source);
    const literalPath = (e: Expr): { path: string[]; at: Position } | undefined => {
      if (e.k === 'var') return { path: [e.name], at: e.at };
      if (
        e.k !== 'attr' ||
        e.args ||
        e.name.k !== 'lit' ||
        e.name.v === null ||
        typeof e.name.v === 'boolean'
      )
        return undefined;
      const base = literalPath(e.obj);
      const key = String(e.name.v instanceof JavaDouble ? e.name.v.value : e.name.v);
      return base && { path: [...base.path, key], at: base.at };
    };
    /** The paths known to be defined when `c` is true (`when`) or false. */
    const facts = (c: Expr, when: boolean): string[][] => {
      if (c.k === 'test' && TOLERANT_TESTS.has(c.name)) {
        const p = literalPath(c.e);
        // `x is defined`, `x is not null`, `x is not empty` hold only for a defined x; their negations when false.
        const definedWhenTrue = c.name === 'defined' ? !c.negated : c.negated;
        return p && definedWhenTrue === when ? [p.path] : [];
      }
      if (c.k === 'un' && c.op === 'not') return facts(c.e, !when);
      if (c.k === 'bin' && c.op === (when ? 'and' : 'or')) return [...facts(c.l, when), ...facts(c.r, when)];
      return [];
    };
    interface Scope {
      scopes: Scopes;
      /** Paths a guard around this point proved defined. */
      known: string[][];
    }
    /** One walk: the template's nodes or a macro's body. */
    interface Walk {
      reads: TemplateRead[];
      /** The macros it calls. */
      calls: Set<string>;
      macro?: TemplateRead['macro'];
    }
    const covered = (path: string[], known: string[][]) =>
      known.some((g) => g.length <= path.length && g.every((k, i) => path[i] === k));
    const expr = (e: Expr, s: Scope, g: boolean, w: Walk): void => {
      const args = (a: Args) => {
        a.positional.forEach((x) => expr(x, s, g, w));
        a.named.forEach(([, x]) => expr(x, s, g, w));
      };
      const p = literalPath(e);
      if (p) {
        if (!s.scopes.lookup(p.path[0] as string).found)
          w.reads.push({
            path: p.path,
            at: p.at,
            guarded: g || covered(p.path, s.known),
            ...(w.macro ? { macro: w.macro } : {}),
          });
        return;
      }
      const also = (c: Expr, when: boolean): Scope => ({ ...s, known: [...s.known, ...facts(c, when)] });
      switch (e.k) {
        case 'attr':
          expr(e.obj, s, g, w);
          expr(e.name, s, g, w);
          if (e.args) args(e.args);
          return;
        case 'interp':
          e.parts.forEach((x) => typeof x !== 'string' && expr(x, s, g, w));
          return;
        case 'list':
          e.items.forEach((x) => expr(x, s, g, w));
          return;
        case 'map':
          e.entries.forEach(([k, v]) => (expr(k, s, g, w), expr(v, s, g, w)));
          return;
        case 'bin':
          expr(e.l, s, g || e.op === '??' || e.op === '???', w);
          // `a and b` evaluates b only when a is true, `a or b` only when a is false.
          expr(e.r, e.op === 'and' ? also(e.l, true) : e.op === 'or' ? also(e.l, false) : s, g, w);
          return;
        case 'un':
          expr(e.e, s, g, w);
          return;
        case 'filter':
          expr(e.e, s, g || e.name === 'default', w);
          args(e.args);
          return;
        case 'test':
          expr(e.e, s, g || TOLERANT_TESTS.has(e.name), w);
          args(e.args);
          return;
        case 'call':
          if (t.macros.has(e.name)) w.calls.add(e.name);
          args(e.args);
          return;
        case 'tern':
          expr(e.c, s, g, w);
          expr(e.a, also(e.c, true), g, w);
          expr(e.b, also(e.c, false), g, w);
          return;
        case 'var':
        case 'lit':
          return;
      }
    };
    /** Walks nodes in order; without `w` only the sets are made (a loop's first pass). */
    const nodes = (ns: Node[], s: Scope, w?: Walk): void => {
      for (const n of ns) {
        if (n.k === 'print') {
          if (w) expr(n.e, s, false, w);
        } else if (n.k === 'set') {
          if (w) expr(n.e, s, false, w);
          s.scopes.set(n.name, true);
        } else if (n.k === 'if') {
          // A branch runs when its condition is true and every earlier one false.
          let known = s.known;
          for (const b of n.branches) {
            if (w) expr(b.c, { ...s, known }, false, w);
            nodes(b.body, { ...s, known: [...known, ...facts(b.c, true)] }, w);
            known = [...known, ...facts(b.c, false)];
          }
          nodes(n.otherwise, { ...s, known }, w);
        } else if (n.k === 'for') {
          if (w) expr(n.iter, s, false, w);
          const inner = { ...s, scopes: s.scopes.push({ [n.name]: true, loop: true }) };
          // One scope for every iteration (ForNode): what the body sets is seen by the next
          // iteration's reads before the set, so the sets are made first, then the reads walked.
          if (w) nodes(n.body, inner);
          nodes(n.body, inner, w);
          nodes(n.otherwise, s, w);
        } else if (n.k === 'filter') {
          if (w)
            for (const f of n.filters) {
              f.args.positional.forEach((x) => expr(x, s, false, w));
              f.args.named.forEach(([, x]) => expr(x, s, false, w));
            }
          nodes(n.body, s, w);
        } else if (n.k === 'block') nodes(n.body, s, w);
      }
    };
    const top: Walk = { reads: [], calls: new Set() };
    nodes(t.nodes, { scopes: Scopes.of({}, t.macros), known: [] }, top);
    const walks = new Map<string, Walk>();
    for (const m of t.macros.values()) {
      const w: Walk = {
        reads: [],
        calls: new Set(),
        macro: { name: m.name, params: m.params.map((x) => x.name) },
      };
      const defaults: Record<string, unknown> = {};
      const local = Scopes.macro(defaults, t.macros);
      // A default sees the parameters before it, evaluated in order in the macro's local scope.
      for (const x of m.params) {
        if (x.default) expr(x.default, { scopes: local, known: [] }, false, w);
        defaults[x.name] = true;
      }
      nodes(m.body, { scopes: local.push({}), known: [] }, w);
      walks.set(m.name, w);
    }
    // A macro's body is evaluated only when called: its reads count when the template calls it.
    const called: string[] = [...top.calls];
    for (let i = 0; i < called.length; i++)
      for (const c of walks.get(called[i] as string)?.calls ?? []) if (!called.includes(c)) called.push(c);
    const out = [...top.reads];
    for (const [name, w] of walks) if (called.includes(name)) out.push(...w.reads);
    return out;
  }

  /**
   * Why a call in the template cannot work whatever the values: an argument name the callable does
   * not take, too many arguments, or what its `check` finds in literal arguments (a jq program that
   * does not compile). Unknown callables are left to the caller. Throws PebbleError('syntax').
   */
  callProblems(source: string): { message: string; at: Position }[] {
    const out: { message: string; at: Position }[] = [];
    for (const call of this.uses(source).calls) {
      const c = this.callable(call.kind, call.name);
      if (!c?.apply) continue;
      const problem = argumentsProblem(c, {
        positional: call.args.positional.length,
        named: call.args.named.map(([n]) => n),
      });
      if (problem) {
        out.push({ message: problem, at: call.at });
        continue;
      }
      if (!c.check) continue;
      const literals: Record<string, unknown> = {};
      call.args.positional.forEach((x, i) => {
        const n = c.args[i];
        if (n !== undefined && x.k === 'lit') literals[n] = x.v;
      });
      for (const [n, x] of call.args.named) if (x.k === 'lit') literals[n] = x.v;
      const found = c.check(literals);
      if (found) out.push({ message: found, at: call.at });
    }
    return out;
  }

  /** The callable named, or undefined. */
  callable(kind: Callable['kind'], name: string): Callable | undefined {
    return (
      kind === 'filter'
        ? this.registries.filters
        : kind === 'function'
          ? this.registries.functions
          : this.registries.tests
    ).get(name);
  }
}

/** A value as it prints inside text (maps and lists as JSON, numbers as Java prints them). */
export const printedText = printed;

/** Whether an error is a template's fault at compile time. */
export const isSyntaxError = (err: unknown): err is PebbleError =>
  err instanceof PebbleError && err.kind === 'syntax';

export const TABLE = CALLABLE_TABLE;
