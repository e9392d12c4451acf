/**
 * The Pebble conformance catalogue (test/fixtures/pebble-cases.json): templates and expected outputs
 * taken from Pebble's own test suite (PebbleTemplates/pebble) and Kestra's Pebble tests
 * (kestra-io/kestra), each citing its repository, file and test method. Each is rendered through
 * `renderText`, the entry Kestra's VariableRenderer.render corresponds to, and compared byte for
 * byte; a case marked `error` must fail. The catalogue was extracted from those sources by their
 * literal templates, contexts and assertions (see the file's `excluded` list for the ones left out).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderText } from '../src/flow/expressions.js';
import { JavaDouble } from '../src/pebble/index.js';

interface Case {
  id: string;
  source: { repo: string; file: string; test: string };
  template: string;
  context: Record<string, unknown>;
  expected?: string;
  error?: true;
}

const FILE = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/pebble-cases.json');
const catalogue = JSON.parse(readFileSync(FILE, 'utf8')) as { cases: Case[] };

/** `{"$double": 1}` in the data is Java's 1.0. */
function revive(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(revive);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.$double === 'number') return new JavaDouble(o.$double);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x)]));
  }
  return v;
}

/** An execution without failed tasks: errorLogs() is empty. */
const scope = {
  where: 'catalogue',
  errorLogs: () => [],
  secret: (name: string): string => {
    throw new Error(`no secret ${name} in the catalogue`);
  },
};

test('the catalogue has at least 300 cases, each citing its source', () => {
  assert.ok(catalogue.cases.length >= 300, String(catalogue.cases.length));
  for (const c of catalogue.cases) {
    assert.match(c.source.repo, /^(PebbleTemplates\/pebble|kestra-io\/kestra)$/, c.id);
    // A test (src/test/java) or, where no test states it, the code that decides it (src/main/java).
    assert.match(c.source.file, /src\/(test|main)\/java\/.+\.java$/, c.id);
    assert.ok(c.source.test, c.id);
    assert.ok((c.expected === undefined) !== (c.error === undefined), `${c.id}: expected or error`);
  }
  assert.equal(new Set(catalogue.cases.map((c) => c.id)).size, catalogue.cases.length, 'ids are unique');
});

test('every catalogue case renders byte for byte as its source states, or fails where it must', () => {
  const wrong: string[] = [];
  for (const c of catalogue.cases) {
    let out: string | undefined;
    let error: unknown;
    try {
      out = renderText(c.template, revive(c.context) as Record<string, unknown>, scope);
    } catch (err) {
      error = err;
    }
    if (c.error) {
      if (error === undefined) wrong.push(`${c.id}: rendered ${JSON.stringify(out)}, expected an error`);
    } else if (error !== undefined) wrong.push(`${c.id}: ${(error as Error).message}`);
    else if (out !== c.expected)
      wrong.push(`${c.id}: ${JSON.stringify(out)} !== ${JSON.stringify(c.expected)}`);
  }
  assert.deepEqual(wrong, []);
});
