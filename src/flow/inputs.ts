import { InvalidInputError, oneLine, show } from '../errors.js';
import { parseDuration } from '../duration.js';
import { holdsJavaNumber, JavaDouble, javaFloat, javaInteger, parseJson, toJson } from '../pebble/index.js';
import type { InputDef, OutputDef } from './model.js';

const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2})(?::(\d{2}))?)$/;

/**
 * Kestra reads a DATETIME with Instant.parse (ISO_INSTANT: seconds required, a fraction of up to 9
 * digits, Z or an offset) and the value prints as Instant.toString: UTC, the fraction in groups of
 * 3 digits (none when whole). Undefined when the text is not one.
 */
export function javaInstant(text: string): string | undefined {
  const m = INSTANT.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', , sign, oh = '0', om = '0', os = '0'] = m;
  const [year, month, day, hour, minute, second] = [
    Number(y),
    Number(mo),
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    Number(oh) > 18 ||
    Number(om) > 59 ||
    Number(os) > 59
  )
    return undefined;
  const offset = (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60 + Number(os));
  const utc = new Date(date.getTime() - offset * 1000).toISOString().slice(0, 19);
  const nanos = frac.padEnd(9, '0');
  const shown = /^0+$/.test(nanos)
    ? ''
    : nanos.endsWith('000000')
      ? nanos.slice(0, 3)
      : nanos.endsWith('000')
        ? nanos.slice(0, 6)
        : nanos;
  return `${utc}${shown ? `.${shown}` : ''}Z`;
}

function coerce(
  def: Pick<InputDef, 'itemType' | 'values' | 'allowCustomValue'>,
  type: InputDef['type'],
  value: unknown,
  name: string,
  what: 'input' | 'output' = 'input',
): unknown {
  const bad = (expected: string) =>
    new InvalidInputError(
      `${name}: ${shown(value)} is not a valid ${type} ${what}; expected ${expected}`,
      name,
    );
  switch (type) {
    case 'INT': {
      const n =
        typeof value === 'number' ? value : /^-?\d+$/.test(String(value).trim()) ? Number(value) : Number.NaN;
      // Kestra reads an INT with Integer.valueOf: a Java int, so 3000000000 is refused there too,
      // and so is a double, whole or not: Integer.valueOf("5.0") refuses the 5.0 of a JSON body.
      if (!Number.isInteger(n) || n < -2147483648 || n > 2147483647)
        throw bad('a whole number from -2147483648 to 2147483647 (a Java Integer, as in Kestra)');
      // A flow output goes through JacksonMapper.toMap (typedOutputs): JSON numbers, not the input's Java classes.
      return what === 'input' ? javaInteger(n) : n;
    }
    case 'FLOAT': {
      const n =
        typeof value === 'number'
          ? value
          : /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(String(value))
            ? Number(value)
            : Number.NaN;
      if (!Number.isFinite(n)) throw bad('a number');
      // Kestra's FLOAT input is a Java Float: 2 is 2.0 in an expression, 1.1 is float32's 1.1.
      return what === 'input' ? javaFloat(n) : Number.isInteger(n) ? new JavaDouble(n) : n;
    }
    case 'BOOLEAN':
      if (value === true || value === 'true') return true;
      if (value === false || value === 'false') return false;
      throw bad('true or false');
    case 'ARRAY': {
      // As Kestra: a list, or text that is a JSON array; a bare word is not a one-item list.
      const expected = 'a list (a JSON array, e.g. ["a","b"])';
      let list = value;
      if (typeof value === 'string') {
        try {
          // As Jackson reads it: `[5.0]` holds a double, which an INT item refuses.
          list = parseJson(value);
        } catch {
          throw bad(expected);
        }
      }
      if (!Array.isArray(list)) throw bad(expected);
      return list.map((item, i) => coerce(def, def.itemType ?? 'STRING', item, `${name}[${i}]`, what));
    }
    case 'JSON':
      if (typeof value !== 'string') return value;
      try {
        // As Kestra's Jackson reads it: 1 a long, 1.0 a double (printed 1.0), keys in order.
        return parseJson(value);
      } catch {
        throw bad('JSON');
      }
    case 'DATETIME': {
      const text = value instanceof Date ? value.toISOString() : String(value);
      const instant = javaInstant(text);
      if (instant === undefined)
        throw bad(
          'an ISO-8601 instant with a time and a zone, e.g. 2026-11-21T10:00:00Z or 2026-11-21T12:00:00+02:00 (DATE is the type of a date alone)',
        );
      return instant;
    }
    case 'DURATION':
      parseDuration(value, name, { allowZero: true });
      return String(value);
    case 'SELECT':
      if (!def.values?.includes(String(value)) && !def.allowCustomValue)
        throw bad(`one of ${def.values?.join(', ')}`);
      return String(value);
    default:
      if (typeof value === 'object' && value !== null && !(value instanceof JavaDouble))
        throw bad('a string');
      return String(value);
  }
}

/** A value as a message shows it: Java numbers as Jackson writes them (5.0, 2^63-1 whole). */
const shown = (value: unknown): string => (holdsJavaNumber(value) ? oneLine(toJson(value), 80) : show(value));

/**
 * Where inputs come from, which says how to give a missing one or name a wrong one: `--input` flags
 * (`run`), the executions API (form fields, JSON properties), a Webhook's or Schedule's `inputs`.
 */
export type InputSource = 'cli' | 'api' | 'webhook' | 'schedule';

const HOW_TO_GIVE: Record<InputSource, (id: string) => string> = {
  cli: (id) => `pass --input ${id}=VALUE or give it defaults`,
  api: (id) => `send it as a form field or JSON property '${id}', or give it defaults in the flow`,
  webhook: (id) =>
    `map it in the Webhook trigger's inputs (e.g. ${id}: "{{ trigger.body.${id} }}") and send it, or give it defaults in the flow`,
  schedule: () => `set it in the Schedule trigger's inputs or give it defaults in the flow`,
};

/** Applies defaults, checks required inputs and converts each value to its declared type. */
export function resolveInputs(
  defs: InputDef[],
  given: Record<string, unknown>,
  source: InputSource = 'cli',
): Record<string, unknown> {
  const declared = new Set(defs.map((d) => d.id));
  for (const key of Object.keys(given)) {
    if (!declared.has(key)) {
      const list = defs.length ? defs.map((d) => d.id).join(', ') : 'none';
      throw new InvalidInputError(
        source === 'cli'
          ? `--input ${key}: the flow has no input '${key}'; it declares: ${list}`
          : `input '${key}': the flow has no such input; it declares: ${list}`,
        key,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const def of defs) {
    const value = given[def.id] ?? def.defaults;
    if (value === undefined || value === null) {
      if (def.required) {
        throw new InvalidInputError(
          `input '${def.id}' (${def.type}) is required; ${HOW_TO_GIVE[source](def.id)}`,
          def.id,
        );
      }
      continue;
    }
    out[def.id] = coerce(def, def.type, value, `input '${def.id}'`);
  }
  return out;
}

/**
 * An input's `defaults` converted as `resolveInputs` converts it when nothing is given, so that a
 * flow is refused at load, not at its first run; throws InvalidInputError.
 */
export function typedDefault(def: InputDef): unknown {
  return coerce(def, def.type, def.defaults, `input '${def.id}'`);
}

/**
 * A flow output's rendered value converted to its declared type, as Kestra's
 * FlowInputOutput.typedOutputs converts it (the inputs' conversions); throws InvalidInputError.
 */
export function typedOutput(def: OutputDef, value: unknown): unknown {
  return coerce(def, def.type, value, `output '${def.id}'`, 'output');
}

/** Parses repeated `--input key=value` flags. */
export function parseInputFlags(flags: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new InvalidInputError(`--input: ${show(flag)} is not key=value`, '--input');
    out[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return out;
}
