/**
 * The Pebble engine (src/pebble) on what issue 22 found twig.js got wrong, and properties of its
 * Java number model. The conformance catalogue (pebble-catalogue.test.ts) covers the rest.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { renderString, renderText, templateProblem } from '../src/flow/expressions.js';
import { JavaDouble, javaText, parseJson, PebbleEngine, PebbleError, toJson } from '../src/pebble/index.js';
import { writeJson } from '../src/pebble/java.js';

const engine = new PebbleEngine();
const render = (t: string, vars: Record<string, unknown> = {}) => engine.render(t, vars);
const scope = { where: 'test', secret: (n: string) => `s3cret-${n}` };

test('named arguments: dates with a time zone, abbreviate(length=…), replace(…, regexp=true), substringAfter(separator=…)', () => {
  const d = { d: '2026-11-01T00:30:00Z' };
  assert.equal(render("{{ d | dateAdd(-1, 'DAYS') | date('yyyy-MM-dd', timeZone='UTC') }}", d), '2026-10-31');
  assert.equal(
    render("{{ d | date('yyyy-MM-dd HH:mm', timeZone='America/New_York') }}", d),
    '2026-10-31 20:30',
  );
  assert.equal(render("{{ 'abcdefghijklmnopqrstuvwxyz' | abbreviate(length=16) }}", {}), 'abcdefghijklm...');
  assert.equal(render("{{ 'a1b22' | replace({'[0-9]+': '#'}, regexp=true) }}"), 'a#b#');
  assert.equal(render("{{ 'a.b.c' | substringAfter(separator='.') }}"), 'b.c');
  assert.throws(
    () => render("{{ 'a' | abbreviate(size=2) }}"),
    /has no argument 'size'; its arguments: length/,
  );
});

test('lexer: }} in a string, escaped quotes, {{ "{{" }}, raw and verbatim, #{…}, equals and contains', () => {
  assert.equal(render(`{{ fromJson('{"a":{}}') | toJson }}`), '{"a":{}}');
  assert.equal(render(`{{ "te\\"st" }}`), 'te"st');
  assert.equal(render(`{{ 'it\\'s' }}`), "it's");
  assert.equal(render('{{ "te\\\'st" }}'), "te\\'st", 'Pebble unescapes only the quote of the string');
  assert.equal(render('{{ "{{" }}'), '{{');
  assert.equal(render('{% raw %}{{ not rendered }}{% endraw %}'), '{{ not rendered }}');
  assert.equal(render('a {%- raw%}{{ x }}{% endraw %}'), 'a {{ x }}', "Kestra's raw: a dash trims nothing");
  assert.equal(render('{% verbatim %}{% if %}{% endverbatim %}'), '{% if %}');
  assert.equal(render('{{ "1 + 1 = #{1 + 1}" }}'), '1 + 1 = 2');
  assert.equal(
    render("{{ 'abc' equals 'abc' }} {{ [1, 2] contains 2 }} {{ {'k': 1} contains 'k' }}"),
    'true true true',
  );
  assert.equal(render('{{ "\\n" | length }}'), '2', 'a backslash-n stays two characters');
});

test("Java's numbers: long division, doubles printed as Java prints them, JSON keeps 1 and 1.0 apart", () => {
  assert.equal(
    render('{{ 11 / 3 }} {{ 11 % 3 }} {{ 11.0 / 4 }} {{ 10 * 2.5 }} {{ 2 * 3 }}'),
    '3 2 2.75 25.0 6',
  );
  assert.equal(
    render('{{ 10000000000.0 }} {{ 0.0001 * 1 }} {{ 1 / 3.0 }}'),
    '1.0E10 1.0E-4 0.3333333333333333',
  );
  assert.equal(render("{{ fromJson('[1, 1.0, 2.50, 1e2]') }}"), '[1,1.0,2.5,100.0]');
  assert.throws(() => render('{{ 1 / 0 }}'), /division by zero/);
  assert.equal(render('{{ 1.0 / 0 }}'), 'Infinity');
});

test('range(): inclusive, stepped, counted down; a range of more than a million numbers is refused, not built', () => {
  assert.equal(
    render('{{ range(1, 5) }} {{ range(0, 10, 5) }} {{ range(3, 1, -1) }}'),
    '[1,2,3,4,5] [0,5,10] [3,2,1]',
  );
  assert.equal(render('{{ range(1, 1000000) | length }}'), '1000000');
  // A trial's input n=3000000000 made the process die on V8's heap limit, and the server again on resume.
  assert.throws(
    () => render('{{ range(1, 3000000000) | length }}'),
    /range\(1, 3000000000\) would hold 3000000000 numbers; at most 1000000 are accepted/,
  );
});

test('for: loop.index from 0, loop.first/last/length, else, and a map iterated as entries', () => {
  assert.equal(
    render('{% for x in items %}{{ loop.index }}{{ x }}{% if loop.last %}!{% endif %}{% endfor %}', {
      items: ['a', 'b'],
    }),
    '0a1b!',
  );
  assert.equal(render('{% for x in [] %}x{% else %}empty{% endfor %}'), 'empty');
  assert.equal(render("{% for e in {'a': 1, 'b': 2} %}{{ e.key }}={{ e.value }};{% endfor %}"), 'a=1;b=2;');
});

test("strict variables: undefined names fail with their position; ??, ???, default and 'is defined' allow for them", () => {
  assert.throws(
    () => render('x\n  {{ nope }}'),
    (err: unknown) =>
      err instanceof PebbleError &&
      err.kind === 'undefined' &&
      err.position?.line === 2 &&
      err.position.col === 6,
  );
  assert.throws(() => render('{{ missing ?? missing2 }}'), /'missing2' is not defined/);
  assert.equal(
    render(
      "{{ missing ?? 'x' }} {{ missing ??? 'y' }} {{ missing | default('z') }} {{ missing is defined }}",
    ),
    'x y z false',
  );
  assert.equal(render("{{ m.a ?? 'none' }}", { m: { a: null } }), 'none');
  assert.throws(() => render('{{ m.b }}', { m: { a: 1 } }), /attribute 'b' of Map does not exist/);
});

test('tags: if/elseif/else, set, filter, macro with defaults, block; whitespace control; comments', () => {
  assert.equal(render('{% if n > 2 %}big{% elseif n > 1 %}mid{% else %}small{% endif %}', { n: 2 }), 'mid');
  assert.equal(render("{% set x = 'a' ~ 'b' %}{{ x | upper }}"), 'AB');
  assert.equal(render('{% filter upper | trim %}  hi  {% endfilter %}'), 'HI');
  assert.equal(
    render(
      "{% macro greet(name, greeting='Hi') %}{{ greeting }} {{ name }}{% endmacro %}{{ greet('Ann') }}, {{ greet('Bo', greeting='Yo') }}",
    ),
    'Hi Ann, Yo Bo',
  );
  assert.equal(render('{% block b %}in{% endblock %}'), 'in');
  assert.equal(render('a  {{- 1 -}}  b {#- c -#} d'), 'a1bd');
  assert.equal(render('{% if true %}\nx\n{% endif %}\n'), '\nx\n\n', 'newLineTrimming(false)');
});

test("Kestra's extensions: urlencode, numberFormat, jq, yaml, indent/nindent, className, escapeChar, render(), printContext()", () => {
  assert.equal(render("{{ 'a b&c' | urlencode }}"), 'a+b%26c');
  assert.equal(render("{{ 1234567.891 | numberFormat('#,##0.00') }}"), '1,234,567.89');
  assert.equal(
    render("{{ data | jq('.items[] | select(.n > 1) | .name') }}", {
      data: {
        items: [
          { n: 1, name: 'a' },
          { n: 2, name: 'b' },
        ],
      },
    }),
    '["b"]',
  );
  assert.throws(() => render("{{ 1 | jq('reduce .[] as $x (0; . + $x)') }}"), /jq: /);
  assert.equal(render("{{ {'a': [1, 2], 'b': 'x'} | yaml }}"), 'a:\n - 1\n - 2\nb: x\n');
  assert.equal(render("{{ 'a\nb' | indent(2) }}|{{ 'a\nb' | nindent(2) }}"), 'a\n  b|\n  a\n  b');
  assert.equal(render("{{ 'x' | className }} {{ 1 | className }}"), 'java.lang.String java.lang.Long');
  assert.equal(render(`{{ "it's" | escapeChar('single') }}`), "it\\'s");
  assert.equal(render("{{ render('{{ a }}-{{ b }}') }}", { a: 1, b: 'two' }), '1-two');
  assert.equal(render('{{ printContext() | keys }}', { a: 1 }), '["a"]');
  assert.match(render('{{ now() }}'), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
});

test('flows: one expression keeps its type, text is text, secrets resolve, refused functions are named before a run', () => {
  assert.deepEqual(renderString('{{ [1, 2.5] }}', {}, scope), [1, 2.5]);
  assert.equal(renderString("  {{ secret('K') }} ", {}, scope), 's3cret-K');
  assert.equal(renderText('{{ 10 * 2.5 }}', {}, scope), '25.0');
  assert.match(
    templateProblem("{{ kv('x') }}") ?? '',
    /function 'kv\(\)' .* is not supported here: there is no KV store/,
  );
  assert.match(templateProblem('{{ x | nosuch }}') ?? '', /unknown filter 'nosuch'/);
  assert.match(templateProblem('{{ x is nosuch }}') ?? '', /unknown test 'nosuch'/);
  assert.match(
    templateProblem('{{ f( }}') ?? '',
    /cannot parse expression .*expected '\)' to close the '\(' at column 5, found '}}'/,
  );
});

test('property: a long divided by a long is the truncated quotient; a double prints as text that reads back to it', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -1e6, max: 1e6 }),
      fc.integer({ min: -1e4, max: 1e4 }).filter((b) => b !== 0),
      (a, b) => {
        assert.equal(render('{{ a / b }}', { a, b }), String(Math.trunc(a / b) || 0));
      },
    ),
  );
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
      const text = javaText(new JavaDouble(x));
      assert.ok(Object.is(Number(text), x), text);
      assert.match(text, /^-?\d+\.\d+(E-?\d+)?$/, text);
    }),
  );
});

test('property: JSON read by fromJson and written by toJson comes back byte for byte', () => {
  const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
  fc.assert(
    fc.property(json, (text) => {
      const once = toJson(parseJson(text));
      assert.equal(toJson(parseJson(once)), once);
      assert.deepEqual(JSON.parse(once), JSON.parse(text));
    }),
  );
});

test('className of JSON numbers: what Jackson reads them to (1.0 Double, 1 and 2^63-1 Long, beyond BigInteger)', () => {
  // Kestra's ClassNameFilter is input.getClass().getName(); Jackson reads a decimal as a Double, an
  // integer beyond 64 bits as a BigInteger (its Integer for a small integer is a Long here).
  const body = '{"d": 1.0, "e": 1e3, "l": 1, "max": 9223372036854775807, "huge": 92233720368547758070}';
  assert.equal(
    render(
      `{% set j = fromJson(body) %}{{ j.d | className }} {{ j.e | className }} {{ j.l | className }} {{ j.max | className }} {{ j.huge | className }}`,
      { body },
    ),
    'java.lang.Double java.lang.Double java.lang.Long java.lang.Long java.math.BigInteger',
  );
  assert.equal(render('{{ v | className }} {{ v }}', { v: new JavaDouble(50) }), 'java.lang.Double 50.0');
});

/** A JSON value as our Java model holds it: longs (BigInt past 2^53), doubles (JavaDouble when whole). */
const javaValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.integer(),
    fc
      .double({ noNaN: true, noDefaultInfinity: true })
      .map((x) => (Number.isInteger(x) ? new JavaDouble(x) : x)),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).filter((b) => b > 2n ** 53n || b < -(2n ** 53n)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

test('property: writeJson then parseJson gives back the same Java values (1.0 a double, 2^63-1 exact)', () => {
  fc.assert(
    fc.property(javaValue, fc.integer({ min: 0, max: 4 }), (v, indent) => {
      const text = writeJson(v, indent);
      const back = parseJson(text);
      assert.deepEqual(back, v);
      assert.equal(writeJson(back, indent), text);
    }),
  );
  assert.equal(
    writeJson({ a: new JavaDouble(1), b: 2n ** 63n - 1n, c: [0.5, new JavaDouble(1e21)] }),
    '{"a":1.0,"b":9223372036854775807,"c":[0.5,1.0E21]}',
  );
});

test('property: writeJson writes what JSON.stringify writes for values with no Java number', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), fc.integer({ min: 0, max: 4 }), (v, indent) => {
      assert.equal(writeJson(v, indent), JSON.stringify(v, null, indent));
    }),
  );
  const odd = { u: undefined, f: () => 1, d: new Date(0), l: [undefined, () => 1], n: NaN };
  assert.equal(writeJson(odd, 2), JSON.stringify(odd, null, 2));
  assert.equal(writeJson({ x: 1n, odd }, 2), JSON.stringify({ x: 1, odd }, null, 2));
});

test('property: parseJson types each number by its text, whichever path reads the text', () => {
  // Number texts among strings that look like numbers: the reader types by the number's text only.
  const token = fc.oneof(
    fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
    fc
      .tuple(fc.integer({ min: -999, max: 999 }), fc.stringMatching(/^[0-9]{1,20}$/))
      .map(([a, b]) => `${a}.${b}`),
    fc
      .tuple(fc.integer({ min: -99, max: 99 }), fc.integer({ min: -30, max: 30 }))
      .map(([a, e]) => `${a}e${e}`),
    fc.stringMatching(/^-?[0-9.eE]{0,6}$/).map((t) => JSON.stringify(t)),
  );
  fc.assert(
    fc.property(fc.array(token, { maxLength: 8 }), (tokens) => {
      const got = parseJson(`[${tokens.join(', ')}]`) as unknown[];
      tokens.forEach((t, i) => {
        const v = got[i];
        if (t.startsWith('"')) return assert.equal(v, JSON.parse(t));
        if (/[.eE]/.test(t)) {
          const n = Number(t);
          return Number.isInteger(n) ? assert.deepEqual(v, new JavaDouble(n)) : assert.equal(v, n);
        }
        return Number.isSafeInteger(Number(t)) ? assert.equal(v, Number(t)) : assert.equal(v, BigInt(t));
      });
    }),
  );
});

test('property: parseJson accepts what JSON.parse accepts, and no more', () => {
  const near = fc
    .tuple(fc.jsonValue({ maxDepth: 2 }), fc.nat(), fc.nat(), fc.string({ maxLength: 3 }))
    .map(([v, a, b, ins]) => {
      const t = JSON.stringify(v);
      const at = a % (t.length + 1);
      return t.slice(0, at) + ins + t.slice(Math.min(t.length, at + (b % 3)));
    });
  fc.assert(
    fc.property(fc.oneof(fc.string(), near), (text) => {
      let native = true;
      try {
        JSON.parse(text);
      } catch {
        native = false;
      }
      let ours = true;
      try {
        parseJson(text);
      } catch (err) {
        assert.ok(err instanceof SyntaxError);
        ours = false;
      }
      assert.equal(ours, native, text);
    }),
    { numRuns: 2000 },
  );
  for (const bad of ['01', '1.', '-', '[1,]', '{"a":1,}', '"\t	"', '.5', '1e'])
    assert.throws(() => parseJson(bad), SyntaxError, bad);
  const obj = parseJson('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(obj), Object.prototype);
  assert.deepEqual(Object.keys(obj), ['__proto__']);
});

test("a flow's tasks see Kestra's `task` variable and Java's numbers in their messages", async () => {
  const { parseFlow } = await import('../src/flow/load.js');
  const { runFlow } = await import('../src/flow/executor.js');
  const f = parseFlow(
    `id: f\nnamespace: company.test\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ task.id }} ({{ task.type }}): {{ 10 * 2.5 }} {{ 11 / 3 }}"\n`,
    'inline.yml',
  );
  const lines: string[] = [];
  const ex = await runFlow(f, { inputs: {}, write: (l) => lines.push(l), env: {} });
  assert.equal(ex.state, 'SUCCESS');
  assert.ok(
    lines.some((l) => l.includes('hello (io.kestra.plugin.core.log.Log): 25.0 3')),
    lines.join('\n'),
  );
});
