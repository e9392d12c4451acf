import { isScalar, parse, type ScalarTag, type Tags } from 'yaml';
import { JavaDouble } from './java.js';

const INT = 'tag:yaml.org,2002:int';
const FLOAT = 'tag:yaml.org,2002:float';
const DECIMAL = /^[-+]?[0-9]+$/;

/** A number of a YAML scalar as Jackson's YAML reader types it for Kestra. */
function javaNumber(tag: string, source: string, value: unknown): unknown {
  if (typeof value !== 'number') return value;
  // `1.0`, `1e3`: a Double, which a JS number would make indistinguishable from the long 1.
  if (tag === FLOAT) return Number.isInteger(value) ? new JavaDouble(value) : value;
  // Past 2^53 a JS number rounds: Jackson keeps a Long (or a BigInteger) with every digit.
  if (DECIMAL.test(source) && !Number.isSafeInteger(value)) return BigInt(source);
  return value;
}

/**
 * The YAML library's int and float tags, resolving as Jackson does: a float written with a point or
 * an exponent and whole (`1.0`) a `JavaDouble`, a decimal integer beyond 2^53 a BigInt with every
 * digit; the rest (small integers, `1.5`, hex, `.inf`) as the library resolves them. For
 * `customTags` of `parseDocument` (the flow loader) and `parse` (the `yaml` function).
 */
export function javaNumberTags(tags: Tags): Tags {
  return tags.map((t) => {
    if (typeof t !== 'object' || !('resolve' in t) || (t.tag !== INT && t.tag !== FLOAT)) return t;
    const scalar = t as ScalarTag;
    const resolve: ScalarTag['resolve'] = (source, onError, options) => {
      const res = scalar.resolve(source, onError, options);
      if (isScalar(res)) {
        res.value = javaNumber(scalar.tag, source, res.value);
        return res;
      }
      return javaNumber(scalar.tag, source, res);
    };
    return { ...scalar, resolve };
  });
}

/** YAML text read as Kestra's Jackson reads it (numbers typed by `javaNumberTags`). */
export function parseYamlJava(text: string): unknown {
  return parse(text, { customTags: javaNumberTags });
}
