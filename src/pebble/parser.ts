import { PebbleError, type Position } from './errors.js';
import { double, long, type JavaDouble } from './java.js';
import { tokenize, type Token } from './lexer.js';

/** Pebble's grammar: expressions by precedence climbing, then tags. */

export interface Args {
  positional: Expr[];
  named: [string, Expr][];
}

export type Expr =
  | { k: 'lit'; v: string | number | bigint | JavaDouble | boolean | null }
  | { k: 'interp'; parts: (string | Expr)[] }
  | { k: 'var'; name: string; at: Position }
  | { k: 'attr'; obj: Expr; name: Expr; args?: Args; at: Position }
  | { k: 'list'; items: Expr[] }
  | { k: 'map'; entries: [Expr, Expr][] }
  | { k: 'bin'; op: string; l: Expr; r: Expr; at: Position }
  | { k: 'un'; op: string; e: Expr; at: Position }
  | { k: 'filter'; e: Expr; name: string; args: Args; at: Position }
  | { k: 'test'; e: Expr; name: string; args: Args; negated: boolean; at: Position }
  | { k: 'call'; name: string; args: Args; at: Position }
  | { k: 'tern'; c: Expr; a: Expr; b: Expr; at: Position };

export type Node =
  | { k: 'text'; text: string }
  | { k: 'print'; e: Expr; at: Position }
  | { k: 'if'; branches: { c: Expr; body: Node[]; at: Position }[]; otherwise: Node[] }
  | { k: 'for'; name: string; iter: Expr; body: Node[]; otherwise: Node[]; at: Position }
  | { k: 'set'; name: string; e: Expr }
  | { k: 'filter'; filters: { name: string; args: Args; at: Position }[]; body: Node[] }
  | { k: 'block'; name: string; body: Node[] };

export interface Macro {
  name: string;
  params: { name: string; default?: Expr }[];
  body: Node[];
}

export interface Template {
  nodes: Node[];
  macros: Map<string, Macro>;
}

const BINARY: Record<string, number> = {
  or: 10,
  and: 15,
  is: 20,
  'is not': 20,
  contains: 20,
  '==': 30,
  equals: 30,
  '!=': 30,
  '>': 30,
  '<': 30,
  '>=': 30,
  '<=': 30,
  '+': 40,
  '-': 40,
  '*': 60,
  '/': 60,
  '%': 60,
  '|': 100,
  '~': 110,
  '..': 120,
  '??': 120,
  '???': 120,
};
const UNARY: Record<string, number> = { not: 500, '+': 500, '-': 500 };

/** Tags Pebble has that need templates, files or threads: refused by name. */
const REFUSED_TAGS = new Set([
  'extends',
  'include',
  'import',
  'from',
  'embed',
  'cache',
  'parallel',
  'flush',
  'autoescape',
]);

export function parse(source: string): Template {
  return new Parser(tokenize(source)).template();
}

/** Parses the tokens of one expression (a `#{…}` inside a string). */
function parseTokens(tokens: Token[]): Expr {
  const p = new Parser(tokens);
  const e = p.expression();
  p.expect('eof', undefined, 'the end of #{…}');
  return e;
}

const show = (t: Token) =>
  t.type === 'eof' ? 'the end of the template' : t.type === 'string' ? `a string` : `'${t.value}'`;

/** Closing and middle tags, and the tag they belong to: one out of place is named as such. */
const CLOSERS: Record<string, string> = {
  endif: 'if',
  elseif: 'if',
  else: 'if or for',
  endfor: 'for',
  endfilter: 'filter',
  endblock: 'block',
  endmacro: 'macro',
  endraw: 'raw',
  endverbatim: 'verbatim',
};

class Parser {
  private i = 0;
  private readonly macros = new Map<string, Macro>();

  constructor(private readonly tokens: Token[]) {}

  get peek(): Token {
    return this.tokens[this.i] as Token;
  }

  next(): Token {
    return this.tokens[this.i++] as Token;
  }

  is(type: Token['type'], value?: string, ahead = 0): boolean {
    const t = this.tokens[this.i + ahead];
    return t !== undefined && t.type === type && (value === undefined || t.value === value);
  }

  fail(message: string, at: Position = this.peek): never {
    throw new PebbleError('syntax', message, { line: at.line, col: at.col });
  }

  expect(type: Token['type'], value: string | undefined, what: string): Token {
    if (!this.is(type, value)) this.fail(`expected ${what}, found ${show(this.peek)}`);
    return this.next();
  }

  template(): Template {
    const nodes = this.body([]);
    this.expect('eof', undefined, 'the end of the template');
    return { nodes, macros: this.macros };
  }

  /** Nodes up to a `{% name %}` tag in `stops` (left unconsumed: the tag start and name) or the end. */
  body(stops: string[]): Node[] {
    const nodes: Node[] = [];
    for (;;) {
      const t = this.peek;
      if (t.type === 'eof') {
        if (stops.length)
          this.fail(`expected {% ${stops.join(' %} or {% ')} %}, found the end of the template`);
        return nodes;
      }
      if (t.type === 'text') {
        nodes.push({ k: 'text', text: this.next().value });
        continue;
      }
      if (t.type === 'printStart') {
        this.next();
        if (this.is('printEnd')) this.fail('expected an expression inside {{ }}');
        const e = this.expression();
        this.expect('printEnd', undefined, "'}}'");
        nodes.push({ k: 'print', e, at: t });
        continue;
      }
      if (t.type === 'tagStart') {
        const name = this.tokens[this.i + 1];
        if (name?.type !== 'name') this.fail('expected a tag name after {%', name ?? t);
        if (stops.includes(name.value)) return nodes;
        this.i += 2;
        const node = this.tag(name);
        if (node) nodes.push(node);
        continue;
      }
      this.fail(`unexpected ${show(t)}`);
    }
  }

  endTag(): void {
    this.expect('tagEnd', undefined, "'%}'");
  }

  /** Consumes `{% name` … `%}` of a closing or middle tag. */
  closing(name: string): void {
    this.expect('tagStart', undefined, `{% ${name} %}`);
    this.expect('name', name, name);
  }

  tag(name: Token): Node | undefined {
    switch (name.value) {
      case 'if': {
        const branches: { c: Expr; body: Node[]; at: Position }[] = [];
        let c = this.expression();
        let at: Position = name;
        let otherwise: Node[] = [];
        this.endTag();
        for (;;) {
          const body = this.body(['elseif', 'else', 'endif']);
          branches.push({ c, body, at });
          this.next();
          const which = this.next().value;
          if (which === 'elseif') {
            at = this.peek;
            c = this.expression();
            this.endTag();
            continue;
          }
          this.endTag();
          if (which === 'else') {
            otherwise = this.body(['endif']);
            this.closing('endif');
            this.endTag();
          }
          return { k: 'if', branches, otherwise };
        }
      }
      case 'for': {
        const v = this.expect('name', undefined, 'a loop variable name').value;
        if (this.is('punct', ','))
          this.fail(
            "expected 'in': Pebble's for takes one variable; iterate a map as entries (entry.key, entry.value)",
          );
        this.expect('name', 'in', "'in'");
        const iter = this.expression();
        this.endTag();
        const body = this.body(['else', 'endfor']);
        let otherwise: Node[] = [];
        this.next();
        if (this.next().value === 'else') {
          this.endTag();
          otherwise = this.body(['endfor']);
          this.closing('endfor');
        }
        this.endTag();
        return { k: 'for', name: v, iter, body, otherwise, at: name };
      }
      case 'set': {
        const v = this.expect('name', undefined, 'a variable name').value;
        this.expect('punct', '=', "'='");
        const e = this.expression();
        this.endTag();
        return { k: 'set', name: v, e };
      }
      case 'filter': {
        const filters: { name: string; args: Args; at: Position }[] = [];
        do {
          const f = this.expect('name', undefined, 'a filter name');
          filters.push({
            name: f.value,
            args: this.is('punct', '(') ? this.args() : { positional: [], named: [] },
            at: f,
          });
        } while (this.is('operator', '|') && this.next());
        this.endTag();
        const body = this.body(['endfilter']);
        this.closing('endfilter');
        this.endTag();
        return { k: 'filter', filters, body };
      }
      case 'block': {
        const b = this.is('string')
          ? this.next().value
          : this.expect('name', undefined, 'a block name').value;
        this.endTag();
        const body = this.body(['endblock']);
        this.closing('endblock');
        if (this.is('name') || this.is('string')) this.next();
        this.endTag();
        return { k: 'block', name: b, body };
      }
      case 'macro': {
        const m = this.expect('name', undefined, 'a macro name').value;
        this.expect('punct', '(', "'('");
        const params: { name: string; default?: Expr }[] = [];
        while (!this.is('punct', ')')) {
          const p = this.expect('name', undefined, 'a parameter name').value;
          if (this.is('punct', '=')) {
            this.next();
            params.push({ name: p, default: this.expression() });
          } else params.push({ name: p });
          if (!this.is('punct', ')')) this.expect('punct', ',', "',' or ')'");
        }
        this.next();
        this.endTag();
        const body = this.body(['endmacro']);
        this.closing('endmacro');
        this.endTag();
        this.macros.set(m, { name: m, params, body });
        return undefined;
      }
      default:
        if (CLOSERS[name.value] !== undefined)
          return this.fail(
            `{% ${name.value} %} without an open {% ${CLOSERS[name.value]} %}: there is nothing for it to close`,
            name,
          );
        if (REFUSED_TAGS.has(name.value))
          this.fail(
            `tag {% ${name.value} %} is not supported here: it needs other template files (supported: if, for, set, filter, macro, block, raw, verbatim)`,
            name,
          );
        return this.fail(
          `unknown tag {% ${name.value} %}; expected one of if, for, set, filter, macro, block, raw, verbatim`,
          name,
        );
    }
  }

  expression(min = 0): Expr {
    let e: Expr;
    const t = this.peek;
    if (t.type === 'operator' && t.value in UNARY) {
      this.next();
      e = { k: 'un', op: t.value, e: this.expression(UNARY[t.value]), at: t };
    } else if (this.is('punct', '(')) {
      this.next();
      e = this.expression();
      this.expect('punct', ')', "')' to close '('");
      e = this.postfix(e);
    } else e = this.primary();
    for (;;) {
      const op = this.peek;
      const prec = op.type === 'operator' ? BINARY[op.value] : undefined;
      if (prec === undefined || prec < min) break;
      this.next();
      if (op.value === 'is' || op.value === 'is not') {
        const name = this.expect('name', undefined, 'a test name after is').value;
        const args = this.is('punct', '(') ? this.args() : { positional: [], named: [] };
        e = { k: 'test', e, name, args, negated: op.value === 'is not', at: op };
      } else if (op.value === '|') {
        const name = this.expect('name', undefined, "a filter name after '|'");
        const args = this.is('punct', '(') ? this.args() : { positional: [], named: [] };
        e = { k: 'filter', e, name: name.value, args, at: name };
      } else e = { k: 'bin', op: op.value, l: e, r: this.expression(prec + 1), at: op };
    }
    if (min === 0 && this.is('punct', '?')) {
      const at = this.next();
      const a = this.expression();
      this.expect('punct', ':', "':' of the ternary");
      const b = this.expression();
      e = { k: 'tern', c: e, a, b, at };
    }
    return e;
  }

  primary(): Expr {
    const t = this.next();
    let e: Expr;
    switch (t.type) {
      case 'number':
        e = { k: 'lit', v: t.isDouble ? double(Number(t.value)) : long(t.value) };
        break;
      case 'string':
        e = t.parts
          ? { k: 'interp', parts: t.parts.map((p) => (typeof p === 'string' ? p : parseTokens(p))) }
          : { k: 'lit', v: t.value };
        break;
      case 'name':
        if (t.value === 'true' || t.value === 'false') e = { k: 'lit', v: t.value === 'true' };
        else if (t.value === 'null' || t.value === 'none') e = { k: 'lit', v: null };
        else if (this.is('punct', '(')) e = { k: 'call', name: t.value, args: this.args(), at: t };
        else e = { k: 'var', name: t.value, at: t };
        break;
      case 'punct':
        if (t.value === '[') {
          const items: Expr[] = [];
          while (!this.is('punct', ']')) {
            items.push(this.expression());
            if (!this.is('punct', ']')) this.expect('punct', ',', "',' or ']'");
          }
          this.next();
          e = { k: 'list', items };
          break;
        }
        if (t.value === '{') {
          const entries: [Expr, Expr][] = [];
          while (!this.is('punct', '}')) {
            const key = this.expression();
            this.expect('punct', ':', "':' after a map key");
            entries.push([key, this.expression()]);
            if (!this.is('punct', '}')) this.expect('punct', ',', "',' or '}'");
          }
          this.next();
          e = { k: 'map', entries };
          break;
        }
        return this.fail(`unexpected ${show(t)}; expected a value`, t);
      default:
        return this.fail(`unexpected ${show(t)}; expected a value`, t);
    }
    return this.postfix(e);
  }

  postfix(e: Expr): Expr {
    for (;;) {
      const t = this.peek;
      if (this.is('punct', '.')) {
        this.next();
        const n = this.next();
        if (n.type !== 'name' && n.type !== 'number')
          this.fail(`expected an attribute name after '.', found ${show(n)}`, n);
        const name: Expr = { k: 'lit', v: n.type === 'number' ? Number(n.value) : n.value };
        e = this.is('punct', '(')
          ? { k: 'attr', obj: e, name, args: this.args(), at: t }
          : { k: 'attr', obj: e, name, at: t };
      } else if (this.is('punct', '[')) {
        this.next();
        const name = this.expression();
        this.expect('punct', ']', "']'");
        e = { k: 'attr', obj: e, name, at: t };
      } else return e;
    }
  }

  args(): Args {
    this.expect('punct', '(', "'('");
    const args: Args = { positional: [], named: [] };
    while (!this.is('punct', ')')) {
      if (this.is('name') && this.is('punct', '=', 1)) {
        const n = this.next().value;
        this.next();
        args.named.push([n, this.expression()]);
      } else {
        if (args.named.length) this.fail('a positional argument cannot follow a named one');
        args.positional.push(this.expression());
      }
      if (!this.is('punct', ')')) this.expect('punct', ',', "',' or ')'");
    }
    this.next();
    return args;
  }
}
