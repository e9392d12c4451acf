/**
 * Issue 22: the seed flows (examples/), examples/ and the 15 Java @Example flows render exactly as
 * before the Pebble engine, or as Kestra renders them where that differed (its `about` says which
 * and why). test/fixtures/example-renders.json holds what twig.js (main at c83e152) rendered each of
 * their expressions to, under two contexts; each is rendered here as the executor renders a property
 * (`renderString`, as text where the task's schema takes text) and compared.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { renderString } from '../src/flow/expressions.js';
import { parseJson } from '../src/pebble/java.js';
import { DEPRECATED_TYPES, TASKS, TRIGGERS } from '../src/tasks/index.js';
import { takesTextAt, type TaskDefinition } from '../src/tasks/task.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const DIRS = ['examples', 'test/fixtures/java-examples'];

interface Render {
  file: string;
  task: string;
  type: string;
  path: (string | number)[];
  template: string;
  expected: Record<string, unknown>;
}
// As Jackson reads it: the trigger's `87.0` stays a Double (the Java plugin's StatsTrigger.Output).
const record = parseJson(readFileSync(join(ROOT, 'test/fixtures/example-renders.json'), 'utf8')) as {
  secrets: Record<string, string>;
  contexts: Record<string, { variables: Record<string, unknown>; errorLogs: unknown[] }>;
  renders: Render[];
};

/** Every templated string of a flow file: its task or trigger, type and property path. */
function expressionsOf(file: string): Omit<Render, 'expected'>[] {
  const flow = parse(readFileSync(join(ROOT, file), 'utf8')) as Record<string, unknown>;
  const found: Omit<Render, 'expected'>[] = [];
  const walk = (v: unknown, path: (string | number)[], at: { task: string; type: string }) => {
    if (typeof v === 'string') {
      if (v.includes('{{') || v.includes('{%')) found.push({ file, ...at, path, template: v });
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i], at));
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k], at);
  };
  const items = (list: unknown) => {
    for (const item of (list ?? []) as Record<string, unknown>[]) {
      const { id, type, tasks, ...props } = item;
      walk(props, [], { task: String(id), type: String(type) });
      items(tasks);
    }
  };
  items(flow.tasks);
  items(flow.errors);
  items(flow.triggers);
  return found;
}

const key = (r: Omit<Render, 'expected'>) => `${r.file} ${r.task}.${r.path.join('.')}: ${r.template}`;

test('the record covers every expression of examples/ and the Java @Example flows, as they are written now', () => {
  const files = DIRS.flatMap((d) =>
    readdirSync(join(ROOT, d))
      .filter((f) => f.endsWith('.yml'))
      .map((f) => `${d}/${f}`),
  );
  assert.equal(files.filter((f) => f.startsWith('test/fixtures/java-examples/')).length, 15);
  const now = files.flatMap(expressionsOf).map(key).sort();
  assert.deepEqual(
    record.renders.map(key).sort(),
    now,
    'an expression of these flows changed: record what Kestra renders it to in test/fixtures/example-renders.json',
  );
  assert.ok(now.length >= 60, String(now.length));
});

test('each expression renders as recorded (twig.js, or Kestra where it differs), in every context', () => {
  const defOf = (type: string): TaskDefinition | undefined =>
    TASKS[type] ?? TASKS[DEPRECATED_TYPES[type] ?? ''] ?? TRIGGERS[type];
  const wrong: string[] = [];
  let compared = 0;
  for (const r of record.renders) {
    const def = defOf(r.type);
    assert.ok(def, `${r.file}: type ${r.type}`);
    for (const [name, c] of Object.entries(record.contexts)) {
      const scope = {
        where: r.task,
        secret: (n: string) => record.secrets[n] ?? assert.fail(`secret ${n}`),
        errorLogs: () => c.errorLogs,
      };
      const got = renderString(r.template, c.variables, scope, takesTextAt(def.props, r.path), r.path);
      compared++;
      try {
        assert.deepEqual(got, r.expected[name]);
      } catch {
        wrong.push(`${key(r)} [${name}]: ${JSON.stringify(got)} !== ${JSON.stringify(r.expected[name])}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
  assert.equal(compared, record.renders.length * Object.keys(record.contexts).length);
});
