import { PebbleError, type Position } from './errors.js';

/**
 * Pebble's lexer (default syntax): text, `{{ }}` prints, `{% %}` tags, `{# #}` comments, `-` on a
 * delimiter trimming the whitespace beside it, `{% verbatim %}` and Kestra's `{% raw %}` kept as
 * text, strings with `#{…}` interpolation in double quotes. newLineTrimming is off (Kestra).
 */

export type TokenType =
  | 'text'
  | 'printStart'
  | 'printEnd'
  | 'tagStart'
  | 'tagEnd'
  | 'name'
  | 'number'
  | 'string'
  | 'operator'
  | 'punct'
  | 'eof';

export interface Token extends Position {
  type: TokenType;
  value: string;
  /** number: a long (no `.`) or a double. */
  isDouble?: boolean;
  /** string with interpolation: literal pieces and the tokens of each `#{…}`. */
  parts?: (string | Token[])[];
}

/** Binary operators and `is not`, longest first; word operators need a boundary after them. */
const OPERATORS = [
  'is not',
  'contains',
  'equals',
  '???',
  'and',
  'not',
  '==',
  '!=',
  '>=',
  '<=',
  '..',
  '??',
  'or',
  'is',
  '+',
  '-',
  '*',
  '/',
  '%',
  '|',
  '~',
  '>',
  '<',
];
const OPERATOR_RE = new RegExp(
  `^(?:${OPERATORS.map((op) => op.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(' ', '\\s+') + (/[a-z]$/.test(op) ? '(?![\\p{L}\\p{N}_])' : '')).join('|')})`,
  'u',
);
const NAME_RE = /^[\p{L}_][\p{L}\p{N}_]*/u;
const NUMBER_RE = /^[0-9]+(\.[0-9]+)?/;
const LONG_RE = /^[0-9]+L/;
const PUNCT = '()[]{}?:.,|=';
const CLOSING: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const VERBATIM = /^\{%(-?)\s*(raw|verbatim)\s*(-?)%\}/;

export function tokenize(source: string): Token[] {
  return new Lexer(source).run();
}

class Lexer {
  private pos = 0;
  private readonly tokens: Token[] = [];
  private trimNext = false;
  /** Offsets where each line starts. */
  private readonly lineStarts: number[] = [0];

  constructor(private readonly src: string) {
    for (let i = 0; i < src.length; i++) if (src[i] === '\n') this.lineStarts.push(i + 1);
  }

  at(offset: number): Position {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - (this.lineStarts[lo] as number) + 1 };
  }

  fail(message: string, offset: number): never {
    throw new PebbleError('syntax', message, this.at(offset));
  }

  push(type: TokenType, value: string, offset: number, extra?: Partial<Token>): void {
    this.tokens.push({ type, value, ...this.at(offset), ...extra });
  }

  pushText(text: string, offset: number, trimEnd: boolean): void {
    let t = text;
    if (this.trimNext) t = t.replace(/^\s+/, '');
    if (trimEnd) t = t.replace(/\s+$/, '');
    this.trimNext = false;
    if (t) this.push('text', t, offset);
  }

  run(): Token[] {
    const src = this.src;
    while (this.pos < src.length) {
      const next = src.indexOf('{', this.pos);
      let open = -1;
      for (let i = next; i !== -1 && i < src.length; i = src.indexOf('{', i + 1)) {
        const c = src[i + 1];
        if (c === '{' || c === '%' || c === '#') {
          open = i;
          break;
        }
      }
      if (open === -1) {
        this.pushText(src.slice(this.pos), this.pos, false);
        this.pos = src.length;
        break;
      }
      const kind = src[open + 1];
      const dash = src[open + 2] === '-';
      const verbatim = kind === '%' ? VERBATIM.exec(src.slice(open)) : null;
      // Kestra replaces raw blocks before Pebble sees them: a dash there trims nothing.
      const trimBefore = dash && !(verbatim && verbatim[2] === 'raw');
      this.pushText(src.slice(this.pos, open), this.pos, trimBefore);
      if (verbatim) {
        this.verbatim(open, verbatim);
        continue;
      }
      if (kind === '#') {
        this.comment(open);
        continue;
      }
      this.pos = open + 2 + (dash ? 1 : 0);
      this.push(kind === '{' ? 'printStart' : 'tagStart', kind === '{' ? '{{' : '{%', open);
      this.code(kind === '{' ? '}}' : '%}', open);
    }
    this.push('eof', '', src.length);
    return this.tokens;
  }

  verbatim(open: number, m: RegExpExecArray): void {
    const word = m[2] as string;
    const end = new RegExp(`\\{%(-?)\\s*end${word}\\s*(-?)%\\}`, 'g');
    end.lastIndex = open + m[0].length;
    const close = end.exec(this.src);
    if (!close) this.fail(`{% ${word} %} is not closed: expected {% end${word} %}`, open);
    let body = this.src.slice(open + m[0].length, close.index);
    if (word === 'verbatim') {
      if (m[3]) body = body.replace(/^\s+/, '');
      if (close[1]) body = body.replace(/\s+$/, '');
    }
    if (body) this.push('text', body, open + m[0].length);
    this.pos = close.index + close[0].length;
    this.trimNext = word === 'verbatim' && close[2] === '-';
  }

  comment(open: number): void {
    const close = this.src.indexOf('#}', open + 2);
    if (close === -1) this.fail('comment {# is not closed: expected #}', open);
    this.trimNext = this.src[close - 1] === '-';
    this.pos = close + 2;
  }

  /** Tokens between `{{`/`{%` and their closing delimiter. */
  code(close: string, open: number): void {
    const src = this.src;
    const brackets: { char: string; at: number }[] = [];
    for (;;) {
      while (this.pos < src.length && /\s/.test(src[this.pos] as string)) this.pos++;
      if (this.pos >= src.length)
        this.fail(`${close === '}}' ? '{{' : '{%'} is not closed: expected ${close}`, open);
      const inside = brackets.at(-1);
      if (
        inside &&
        inside.char !== '{' &&
        (src.startsWith(close, this.pos) || (src[this.pos] === '-' && src.startsWith(close, this.pos + 1)))
      )
        this.fail(
          `expected '${CLOSING[inside.char]}' to close the '${inside.char}' at column ${this.at(inside.at).col}, found '${close}'`,
          this.pos,
        );
      if (brackets.length === 0) {
        if (src.startsWith(close, this.pos)) {
          this.push(close === '}}' ? 'printEnd' : 'tagEnd', close, this.pos);
          this.pos += close.length;
          return;
        }
        if (src[this.pos] === '-' && src.startsWith(close, this.pos + 1)) {
          this.push(close === '}}' ? 'printEnd' : 'tagEnd', close, this.pos);
          this.pos += close.length + 1;
          this.trimNext = true;
          return;
        }
      }
      if (!this.expressionToken(brackets)) this.fail("unexpected '}': nothing to close", this.pos);
    }
  }

  /** One token of an expression; brackets tracks the open ones. Returns false at an unmatched `}` (end of `#{…}`). */
  expressionToken(brackets: { char: string; at: number }[]): boolean {
    const src = this.src;
    const rest = src.slice(this.pos, this.pos + 64);
    const start = this.pos;
    let m = OPERATOR_RE.exec(rest);
    if (m) {
      this.push('operator', m[0].replace(/\s+/, ' '), start);
      this.pos += m[0].length;
      return true;
    }
    m = NAME_RE.exec(src.slice(this.pos, this.pos + 256));
    if (m) {
      this.push('name', m[0], start);
      this.pos += m[0].length;
      return true;
    }
    m = LONG_RE.exec(rest);
    if (m) {
      this.push('number', m[0].slice(0, -1), start, { isDouble: false });
      this.pos += m[0].length;
      return true;
    }
    m = NUMBER_RE.exec(rest);
    if (m) {
      this.push('number', m[0], start, { isDouble: m[1] !== undefined });
      this.pos += m[0].length;
      return true;
    }
    const c = src[this.pos] as string;
    if (c === "'" || c === '"') {
      this.string(c);
      return true;
    }
    if (PUNCT.includes(c)) {
      if (c in CLOSING) brackets.push({ char: c, at: start });
      else if (c === ')' || c === ']' || c === '}') {
        const open = brackets.pop();
        if (!open) {
          if (c === '}') return false;
          this.fail(`unexpected '${c}': nothing to close`, start);
        }
        if (CLOSING[open.char] !== c)
          this.fail(
            `unexpected '${c}': expected '${CLOSING[open.char]}' to close '${open.char}' at column ${this.at(open.at).col}`,
            start,
          );
      }
      this.push('punct', c, start);
      this.pos++;
      return true;
    }
    return this.fail(`unexpected character '${c}'`, start);
  }

  string(quote: string): void {
    const src = this.src;
    const start = this.pos;
    let i = this.pos + 1;
    const parts: (string | Token[])[] = [];
    let piece = '';
    for (;;) {
      if (i >= src.length) this.fail(`string ${quote}… is not closed: expected ${quote}`, start);
      const c = src[i] as string;
      if (c === '\\' && i + 1 < src.length) {
        piece += src[i + 1] === quote ? quote : c + (src[i + 1] as string);
        i += 2;
        continue;
      }
      if (c === quote) break;
      if (quote === '"' && c === '#' && src[i + 1] === '{') {
        if (piece) parts.push(piece);
        piece = '';
        parts.push(this.interpolation(i + 2));
        i = this.pos;
        continue;
      }
      piece += c;
      i++;
    }
    if (piece || parts.length === 0) parts.push(piece);
    this.pos = i + 1;
    if (parts.length === 1 && typeof parts[0] === 'string') this.push('string', parts[0], start);
    else this.push('string', '', start, { parts });
  }

  /** Tokens of `#{…}` from `from` up to its `}`; leaves pos after the `}`. */
  interpolation(from: number): Token[] {
    const outer = this.tokens.length;
    this.pos = from;
    const brackets: { char: string; at: number }[] = [];
    for (;;) {
      while (this.pos < this.src.length && /\s/.test(this.src[this.pos] as string)) this.pos++;
      if (this.pos >= this.src.length) this.fail('#{ is not closed: expected }', from - 2);
      if (!this.expressionToken(brackets)) break;
    }
    const inner = this.tokens.splice(outer);
    inner.push({ type: 'eof', value: '', ...this.at(this.pos) });
    this.pos++;
    return inner;
  }
}
