import type { Writable } from 'node:stream';
import { parseHistoricalPage, type RawStatsPage } from '../fastly/stats.js';
import { csvCell, csvHeader, formatPage, isoTime, type PointsFormatState, write } from './format.js';

/**
 * Historical stats pages straight from the API's JSON bytes to CSV or NDJSON lines, without building
 * a string per page or an object per point: a 35-day minute backfill is ~175 MB of JSON, and
 * `JSON.parse` plus the garbage it leaves (page-sized strings that only a full collection frees) was
 * most of its time and memory. The output is byte-for-byte what `formatPage` writes from
 * the parsed page (a property test holds the two to it); anything this scanner does not expect (escapes
 * in keys, nested values, duplicate keys, a non-success envelope, invalid JSON) makes it hand the page
 * to `JSON.parse` and `formatPage` instead.
 */
export async function writeRawPoints(
  pages: AsyncIterable<RawStatsPage>,
  format: 'csv' | 'ndjson',
  out: Writable,
  /** CSV columns already written (a resumed file's header): no header is written again. */
  columns?: string[],
): Promise<number> {
  const state: PointsFormatState = { columns };
  let rows = 0;
  for await (const page of pages) {
    const r = transcodePage(page, format, state);
    rows += r.rows;
    for (const part of r.parts) await write(out, part);
  }
  return rows;
}

/** One raw page as CSV or NDJSON lines; `state` carries the CSV columns across pages. */
export function transcodePage(
  page: RawStatsPage,
  format: 'csv' | 'ndjson',
  state: PointsFormatState,
): { parts: (Buffer | string)[]; rows: number; scanned: boolean } {
  const fast = new Scanner(page.body, format, state.columns).page(page.serviceId);
  if (fast) {
    state.columns = fast.columns;
    return { parts: fast.parts, rows: fast.rows, scanned: true };
  }
  const plain = formatPage(parseHistoricalPage(page), format, state);
  return { parts: [plain.text], rows: plain.rows, scanned: false };
}

/** Thrown inside the scanner for anything it leaves to JSON.parse. */
class Unexpected extends Error {
  override readonly name = 'Unexpected';
}

const enum Kind {
  Number,
  CanonicalNumber,
  /** Without escapes; `String` has bytes over 0x7f, re-encoded as the parsed path would. */
  AsciiString,
  String,
  EscapedString,
  True,
  False,
  Null,
}

const QUOTE = 34;
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');
const BACKSLASH = 92;

/** An array index as a key: `Object.entries` would put it first, out of text order. */
const INDEX_KEY = /^(0|[1-9]\d{0,9})$/;

class Scanner {
  readonly #b: Buffer;
  readonly #format: 'csv' | 'ndjson';
  #columns: string[] | undefined;
  #i = 0;
  readonly #out = new ByteSink();
  #rows = 0;
  // The key order of the last point, and each key's column (-1: none), reused while points repeat it.
  #template: string[] = [];
  #quoted: Buffer[] = [];
  #columnOf: number[] = [];
  #start = new Int32Array(0);
  #end = new Int32Array(0);
  #kind = new Uint8Array(0);
  #serviceIdAt = -1;
  /** The column after which the readable `time` goes (that of start_time), or -1 (see csvHeader). */
  #timeAfter = -1;
  /** Some key is an array index, which a parsed object lists first: NDJSON is then re-serialised. */
  #indexKeys = false;
  #indexed = false;

  constructor(body: Buffer, format: 'csv' | 'ndjson', columns: string[] | undefined) {
    this.#b = body;
    this.#format = format;
    this.#columns = columns;
  }

  page(
    serviceId: string | undefined,
  ): { parts: Buffer[]; rows: number; columns: string[] | undefined } | null {
    try {
      this.#envelope(serviceId);
      return { parts: this.#out.finish(), rows: this.#rows, columns: this.#columns };
    } catch (err) {
      if (err instanceof Unexpected) return null;
      throw err;
    }
  }

  #envelope(serviceId: string | undefined): void {
    const b = this.#b;
    this.#ws();
    this.#expect(123); // {
    let data = false;
    let status: string | undefined;
    const seen = new Set<string>();
    this.#ws();
    if ((b[this.#i] as number) !== 125) {
      for (;;) {
        this.#ws();
        const key = this.#keyString();
        if (seen.has(key)) throw new Unexpected();
        seen.add(key);
        this.#ws();
        this.#expect(58); // :
        this.#ws();
        if (key === 'data') {
          data = true;
          this.#data(serviceId);
        } else if (key === 'status') {
          const k = this.#value();
          if (k !== Kind.AsciiString && k !== Kind.String) throw new Unexpected();
          status = b.toString('utf8', this.#valueStart + 1, this.#i - 1);
        } else this.#skipValue();
        this.#ws();
        const c = b[this.#i++] as number;
        if (c === 125) break;
        if (c !== 44) throw new Unexpected();
      }
    } else this.#i++;
    this.#ws();
    if (this.#i !== b.length || status !== 'success' || !data) throw new Unexpected();
  }

  /** `data`: a list of points for one service, or service id → points. */
  #data(serviceId: string | undefined): void {
    if (serviceId !== undefined) {
      this.#points(serviceId);
      return;
    }
    const b = this.#b;
    this.#expect(123);
    this.#ws();
    if ((b[this.#i] as number) === 125) {
      this.#i++;
      return;
    }
    const services = new Set<string>();
    for (;;) {
      this.#ws();
      const id = this.#keyString();
      if (services.has(id) || INDEX_KEY.test(id)) throw new Unexpected();
      services.add(id);
      this.#ws();
      this.#expect(58);
      this.#ws();
      this.#points(id);
      this.#ws();
      const c = b[this.#i++] as number;
      if (c === 125) return;
      if (c !== 44) throw new Unexpected();
    }
  }

  #points(serviceId: string): void {
    const b = this.#b;
    this.#expect(91); // [
    this.#ws();
    if ((b[this.#i] as number) === 93) {
      this.#i++;
      return;
    }
    for (;;) {
      this.#ws();
      this.#point(serviceId);
      this.#rows++;
      this.#ws();
      const c = b[this.#i++] as number;
      if (c === 93) return;
      if (c !== 44) throw new Unexpected();
    }
  }

  #point(serviceId: string): void {
    const b = this.#b;
    const from = this.#i;
    this.#expect(123);
    let canonical = true;
    let n = 0;
    let sameOrder = true;
    this.#nonAscii = false;
    if (this.#ws()) canonical = false;
    if ((b[this.#i] as number) === 125) this.#i++;
    else {
      for (;;) {
        if (this.#ws()) canonical = false;
        if (sameOrder && n < this.#template.length && this.#at(this.#quoted[n] as Buffer)) {
          this.#i += (this.#quoted[n] as Buffer).length;
        } else {
          if (sameOrder) this.#retemplate(n);
          sameOrder = false;
          const key = this.#keyString();
          if (this.#template.includes(key)) throw new Unexpected();
          this.#template[n] = key;
        }
        if (this.#ws()) canonical = false;
        this.#expect(58);
        if (this.#ws()) canonical = false;
        this.#grow(n + 1);
        const k = this.#value();
        this.#start[n] = this.#valueStart;
        this.#end[n] = this.#i;
        this.#kind[n] = k;
        if (
          k !== Kind.CanonicalNumber &&
          k !== Kind.AsciiString &&
          k !== Kind.True &&
          k !== Kind.False &&
          k !== Kind.Null
        )
          canonical = false;
        n++;
        if (this.#ws()) canonical = false;
        const c = b[this.#i++] as number;
        if (c === 125) break;
        if (c !== 44) throw new Unexpected();
      }
    }
    if (!this.#indexed || !sameOrder || n !== this.#template.length) {
      this.#template.length = n;
      this.#index();
    }
    // Bytes over 0x7f are copied only after the parsed path's decoding (invalid UTF-8 becomes U+FFFD).
    if (this.#format === 'ndjson')
      this.#ndjson(from, this.#i, canonical && !this.#indexKeys && !this.#nonAscii, serviceId);
    else this.#csv(serviceId);
  }

  /** Key order changed at position `n`: keep the first `n` keys, rebuild the rest as they come. */
  #retemplate(n: number): void {
    this.#template.length = n;
    this.#quoted.length = n;
  }

  /** Rebuilds the quoted keys and column lookups for the current template. */
  #index(): void {
    this.#indexed = true;
    const keys = this.#template;
    if (new Set(keys).size !== keys.length) throw new Unexpected();
    this.#quoted = keys.map((k) => Buffer.from(`"${k}"`));
    this.#serviceIdAt = keys.indexOf('service_id');
    this.#indexKeys = keys.some((k) => INDEX_KEY.test(k));
    if (this.#format === 'csv') {
      if (!this.#columns) {
        const rest = keys.filter((k) => k !== 'service_id' && k !== 'start_time').sort();
        this.#columns = ['service_id', 'start_time', ...rest];
        this.#out.text(`${csvHeader(this.#columns).join(',')}\n`);
      }
      this.#timeAfter = this.#columns.includes('time') ? -1 : this.#columns.indexOf('start_time');
      this.#columnOf = this.#columns.map((c) => {
        const at = keys.indexOf(c);
        // A parsed point lacking `constructor` still has one (inherited): left to the parsed path.
        if (at < 0 && c !== 'service_id' && c in Object.prototype) throw new Unexpected();
        return at;
      });
    }
  }

  #grow(size: number): void {
    if (this.#start.length >= size) return;
    const cap = Math.max(size, this.#start.length * 2, 64);
    const start = new Int32Array(cap);
    start.set(this.#start);
    const end = new Int32Array(cap);
    end.set(this.#end);
    const kind = new Uint8Array(cap);
    kind.set(this.#kind);
    this.#start = start;
    this.#end = end;
    this.#kind = kind;
  }

  /** The point at bytes `from`–`to` as one NDJSON line: its own bytes when JSON.stringify would write them. */
  #ndjson(from: number, to: number, canonical: boolean, serviceId: string): void {
    const out = this.#out;
    if (!canonical) {
      const point = JSON.parse(this.#b.toString('utf8', from, to)) as Record<string, unknown>;
      if (point.service_id === undefined) point.service_id = serviceId;
      out.text(`${JSON.stringify(point)}\n`);
      return;
    }
    if (this.#serviceIdAt >= 0) {
      out.bytes(this.#b, from, to);
      out.byte(10);
      return;
    }
    const id = `"service_id":${JSON.stringify(serviceId)}}\n`;
    if (to - from === 2) out.text(`{${id}`);
    else {
      out.bytes(this.#b, from, to - 1);
      out.text(`,${id}`);
    }
  }

  #csv(serviceId: string): void {
    const cols = this.#columnOf;
    const out = this.#out;
    for (let c = 0; c < cols.length; c++) {
      const at = cols[c] as number;
      if (c) out.byte(44);
      if (at >= 0) this.#cell(at);
      else if (c === 0) out.text(csvCell(serviceId));
      if (c === this.#timeAfter) {
        out.byte(44);
        if (at >= 0) this.#time(at);
      }
    }
    out.byte(10);
  }

  /** The readable time of value `n` (start_time), as `formatPage` writes it from the parsed number. */
  #time(n: number): void {
    const b = this.#b;
    const from = this.#start[n] as number;
    const to = this.#end[n] as number;
    const kind = this.#kind[n] as Kind;
    let seconds: number;
    if (kind === Kind.CanonicalNumber) {
      // At most 15 digits: exact in a double, so the same number JSON.parse makes.
      let i = from;
      const negative = (b[i] as number) === 45;
      if (negative) i++;
      seconds = 0;
      for (; i < to; i++) seconds = seconds * 10 + ((b[i] as number) - 48);
      if (negative) seconds = -seconds;
    } else if (kind === Kind.Number) seconds = Number(b.toString('latin1', from, to));
    else return; // a string, boolean or null start_time has no readable time
    this.#out.text(isoTime(seconds));
  }

  /** Writes the CSV cell of value `n` of the current point, as `formatPage` writes its parsed value. */
  #cell(n: number): void {
    const b = this.#b;
    const out = this.#out;
    const from = this.#start[n] as number;
    const to = this.#end[n] as number;
    switch (this.#kind[n] as Kind) {
      case Kind.CanonicalNumber:
        out.bytes(b, from, to);
        return;
      case Kind.Number:
        out.text(String(Number(b.toString('latin1', from, to))));
        return;
      case Kind.String:
        out.text(csvCell(b.toString('utf8', from + 1, to - 1)));
        return;
      case Kind.AsciiString: {
        // Unescaped JSON holds no quote or line break; only a comma makes csvCell quote it.
        const comma = b.indexOf(44, from + 1);
        if (comma === -1 || comma >= to - 1) out.bytes(b, from + 1, to - 1);
        else out.text(csvCell(b.toString('ascii', from + 1, to - 1)));
        return;
      }
      case Kind.EscapedString:
        out.text(csvCell(JSON.parse(b.toString('utf8', from, to))));
        return;
      case Kind.True:
        out.text('true');
        return;
      case Kind.False:
        out.text('false');
        return;
      default:
        return;
    }
  }

  // --- JSON tokens ---

  #valueStart = 0;
  /** A string since the start of the current point had a byte over 0x7f. */
  #nonAscii = false;

  /** Whether `word` is at the cursor. */
  #at(word: Buffer): boolean {
    const b = this.#b;
    const i = this.#i;
    if (i + word.length > b.length) return false;
    for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return false;
    return true;
  }

  /** Skips whitespace; true if there was any. */
  #ws(): boolean {
    const b = this.#b;
    const from = this.#i;
    let c = b[this.#i] as number;
    while (c === 32 || c === 10 || c === 13 || c === 9) c = b[++this.#i] as number;
    return this.#i !== from;
  }

  #expect(code: number): void {
    if (this.#b[this.#i] !== code) throw new Unexpected();
    this.#i++;
  }

  /** An object key without escapes (a key with any goes to JSON.parse). */
  #keyString(): string {
    const from = this.#i;
    if (this.#string()) throw new Unexpected();
    return this.#b.toString('utf8', from + 1, this.#i - 1);
  }

  /** Skips a string; returns true if it has escapes. */
  #string(): boolean {
    const b = this.#b;
    if ((b[this.#i] as number) !== QUOTE) throw new Unexpected();
    let escaped = false;
    for (let i = this.#i + 1; i < b.length; i++) {
      const c = b[i] as number;
      if (c === QUOTE) {
        this.#i = i + 1;
        return escaped;
      }
      if (c < 32) throw new Unexpected();
      if (c > 127) this.#nonAscii = true;
      if (c === BACKSLASH) {
        escaped = true;
        const e = b[++i] as number;
        if (e === 117) {
          if (!/^[0-9a-fA-F]{4}$/.test(b.toString('latin1', i + 1, i + 5))) throw new Unexpected();
          i += 4;
        } else if (!(
          e === QUOTE ||
          e === BACKSLASH ||
          e === 47 ||
          e === 98 ||
          e === 102 ||
          e === 110 ||
          e === 114 ||
          e === 116
        ))
          throw new Unexpected();
      }
    }
    throw new Unexpected();
  }

  /** Skips a scalar value and says what it was; objects and arrays inside a point go to JSON.parse. */
  #value(): Kind {
    const b = this.#b;
    const i = this.#i;
    this.#valueStart = i;
    const c = b[i] as number;
    if (c === QUOTE) {
      const before = this.#nonAscii;
      this.#nonAscii = false;
      const escaped = this.#string();
      const kind = escaped ? Kind.EscapedString : this.#nonAscii ? Kind.String : Kind.AsciiString;
      this.#nonAscii ||= before;
      return kind;
    }
    if (c === 116 && this.#at(TRUE)) {
      this.#i += 4;
      return Kind.True;
    }
    if (c === 102 && this.#at(FALSE)) {
      this.#i += 5;
      return Kind.False;
    }
    if (c === 110 && this.#at(NULL)) {
      this.#i += 4;
      return Kind.Null;
    }
    return this.#number();
  }

  /** JSON's number grammar; canonical: an integer as `String(n)` writes it (no sign of zero, ≤ 15 digits). */
  #number(): Kind {
    const b = this.#b;
    let i = this.#i;
    const from = i;
    let c = b[i] as number;
    if (c === 45) c = b[++i] as number;
    const digitsFrom = i;
    if (c === 48) c = b[++i] as number;
    else if (c >= 49 && c <= 57) while (c >= 48 && c <= 57) c = b[++i] as number;
    else throw new Unexpected();
    const intDigits = i - digitsFrom;
    let integer = true;
    if (c === 46) {
      integer = false;
      c = b[++i] as number;
      if (!(c >= 48 && c <= 57)) throw new Unexpected();
      while (c >= 48 && c <= 57) c = b[++i] as number;
    }
    if (c === 101 || c === 69) {
      integer = false;
      c = b[++i] as number;
      if (c === 43 || c === 45) c = b[++i] as number;
      if (!(c >= 48 && c <= 57)) throw new Unexpected();
      while (c >= 48 && c <= 57) c = b[++i] as number;
    }
    this.#i = i;
    const negativeZero = (b[from] as number) === 45 && (b[digitsFrom] as number) === 48;
    return integer && intDigits <= 15 && !negativeZero ? Kind.CanonicalNumber : Kind.Number;
  }

  /** Skips any value (envelope fields other than data). */
  #skipValue(): void {
    const b = this.#b;
    const c = b[this.#i] as number;
    if (c !== 123 && c !== 91) {
      this.#value();
      return;
    }
    const close = c === 123 ? 125 : 93;
    this.#i++;
    this.#ws();
    if ((b[this.#i] as number) === close) {
      this.#i++;
      return;
    }
    for (;;) {
      this.#ws();
      if (close === 125) {
        this.#string();
        this.#ws();
        this.#expect(58);
        this.#ws();
      }
      this.#skipValue();
      this.#ws();
      const d = b[this.#i++] as number;
      if (d === close) return;
      if (d !== 44) throw new Unexpected();
    }
  }
}

/** Output bytes in 64 KB pieces: no page-sized string, no rope of a million cells. */
class ByteSink {
  static readonly SIZE = 64 * 1024;
  readonly #parts: Buffer[] = [];
  #buf = Buffer.allocUnsafe(ByteSink.SIZE);
  #len = 0;

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    this.#flush();
    if (n > this.#buf.length) this.#buf = Buffer.allocUnsafe(n);
  }

  #flush(): void {
    if (this.#len === 0) return;
    this.#parts.push(this.#buf.subarray(0, this.#len));
    this.#buf = Buffer.allocUnsafe(ByteSink.SIZE);
    this.#len = 0;
  }

  byte(c: number): void {
    this.#room(1);
    this.#buf[this.#len++] = c;
  }

  bytes(src: Buffer, from: number, to: number): void {
    this.#room(to - from);
    // Most cells are a few digits: a loop beats Buffer#copy's native call (~2× the whole transcode).
    if (to - from <= 32) {
      const buf = this.#buf;
      let j = this.#len;
      for (let i = from; i < to; i++) buf[j++] = src[i] as number;
      this.#len = j;
    } else this.#len += src.copy(this.#buf, this.#len, from, to);
  }

  text(s: string): void {
    this.#room(s.length * 3);
    this.#len += this.#buf.write(s, this.#len);
  }

  finish(): Buffer[] {
    this.#flush();
    return this.#parts;
  }
}
