import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';
import { parseFlow } from '../src/flow/load.js';
import { flowJsonSchema } from '../src/flow/schema.js';

/**
 * The JSON Schema (`kestra-fastly schema`) checked by a real validator: every flow under
 * examples/ and test/fixtures/ (other tracks add more; they are found by walking the folders)
 * validates, and the loader and the schema agree on the keys each accepts.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function flowsUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return flowsUnder(path);
    return /\.ya?ml$/.test(e.name) ? [path] : [];
  });
}

let compiled: ReturnType<Ajv['compile']> | undefined;

/** Compiled once for the file: compiling was most of its CPU, and twice over. */
function validator() {
  if (compiled) return compiled;
  // Strict: an unknown keyword or a malformed schema is an error, not silently ignored. Refs are
  // compiled once each, not inlined at every use: the same checks, half the compile (1.05 s cold).
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, inlineRefs: false });
  ajv.addKeyword('secret'); // zod .meta({ secret: true }) on apiToken: an annotation for editors
  compiled = ajv.compile(flowJsonSchema());
  return compiled;
}

const describe = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? [])
    .map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    .join('\n');

test('every flow under examples/ and test/fixtures/ validates against the generated JSON Schema', () => {
  const validate = validator();
  const files = [...flowsUnder(join(ROOT, 'examples')), ...flowsUnder(join(ROOT, 'test', 'fixtures'))];
  assert.ok(files.filter((f) => f.includes(`${ROOT}examples`)).length >= 8, `found ${files.length} flows`);
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const name = relative(ROOT, file);
    assert.doesNotThrow(() => parseFlow(text, name), `${name} is a valid flow for the loader`);
    const ok = validate(parse(text));
    assert.ok(ok, `${name} fails the JSON Schema:\n${describe(validate.errors)}`);
  }
});

const base = `id: f
namespace: company.ops
`;
const purge = `  - id: p
    type: io.kestra.plugin.fastly.purge.Key
    apiToken: "{{ secret('T') }}"
    serviceId: svc
    surrogateKey: k
`;
const trigger = `triggers:
  - id: t
    type: io.kestra.plugin.fastly.stats.StatsTrigger
    apiToken: "{{ secret('T') }}"
    serviceId: svc
    field: status_5xx
    threshold: 5
`;

test('the loader and the schema agree: common keys both accept, mistakes both refuse', () => {
  const validate = validator();
  const accepted: [string, string][] = [
    [
      'task logToFile, workerGroup, logLevel, timeout, retry',
      `${base}tasks:\n${purge}    logToFile: true\n    workerGroup: { key: gpu }\n    logLevel: DEBUG\n    timeout: PT1M\n    retry: { type: constant, interval: PT1S, maxAttempts: 2 }\n`,
    ],
    [
      'trigger logLevel, stopAfter, disabled',
      `${base}${trigger}    logLevel: WARN\n    stopAfter: [FAILED]\n    disabled: false\ntasks:\n${purge}`,
    ],
    [
      'an expression where a number goes',
      `${base}${trigger.replace('threshold: 5', 'threshold: "{{ vars.t }}"')}tasks:\n${purge}`,
    ],
    [
      'inputs and If branches',
      `${base}inputs:\n  - id: keys\n    type: ARRAY\n    itemType: STRING\ntasks:\n  - id: check\n    type: io.kestra.plugin.core.flow.If\n    condition: "{{ true }}"\n    then:\n${purge.replace(/^/gm, '    ')}`,
    ],
  ];
  for (const [what, text] of accepted) {
    assert.doesNotThrow(() => parseFlow(text, 'f.yml'), `loader accepts ${what}`);
    assert.ok(validate(parse(text)), `schema accepts ${what}:\n${describe(validate.errors)}`);
  }
  const refused: [string, string][] = [
    ['an unknown task property', `${base}tasks:\n${purge}    urls: [x]\n`],
    ['an unknown task type', `${base}tasks:\n${purge.replace('purge.Key', 'purge.Everything')}`],
    ['a missing required property', `${base}tasks:\n${purge.replace('    surrogateKey: k\n', '')}`],
    ['a bad log level', `${base}tasks:\n${purge}    logLevel: LOUD\n`],
    ['a bad comparator', `${base}${trigger}    comparator: BIGGER\ntasks:\n${purge}`],
    ['an unknown flow key', `${base}task: []\ntasks:\n${purge}`],
    ['an upper-case namespace', `${base.replace('company.ops', 'Company')}tasks:\n${purge}`],
    ['no tasks', `${base}tasks: []\n`],
  ];
  for (const [what, text] of refused) {
    assert.throws(() => parseFlow(text, 'f.yml'), `loader refuses ${what}`);
    assert.equal(validate(parse(text)), false, `schema refuses ${what}`);
  }
});
