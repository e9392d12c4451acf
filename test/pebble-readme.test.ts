/**
 * The README's expressions section is the engine's table: what is supported and what is refused,
 * written by expressionsMarkdown() from src/pebble/extensions.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { expressionsMarkdown } from '../src/pebble/doc.js';
import { CALLABLE_TABLE } from '../src/pebble/index.js';

const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

test("the README's expressions section is the engine's table of filters, functions and tests", () => {
  const start = README.indexOf('<!-- expressions:start');
  const end = README.indexOf('<!-- expressions:end -->');
  assert.ok(start >= 0 && end > start, 'README.md has the expressions markers');
  const section = README.slice(start, end + '<!-- expressions:end -->'.length);
  assert.equal(
    section,
    expressionsMarkdown(),
    'README.md is out of date: replace its expressions section with expressionsMarkdown() from dist/src/pebble/doc.js',
  );
});

test('every filter, function and test of the table is listed under its kind, refused ones with their reason', () => {
  const section = README.slice(
    README.indexOf('<!-- expressions:start'),
    README.indexOf('<!-- expressions:end -->'),
  );
  const part = (title: string) => {
    const start = section.indexOf(`**${title}**`);
    const next = section.indexOf('**', section.indexOf('\n', start));
    return section.slice(start, next < 0 ? undefined : next);
  };
  const parts = {
    filter: part('Filters'),
    function: part('Functions'),
    test: part('Tests'),
    refused: part('Refused'),
  };
  for (const c of CALLABLE_TABLE) {
    const where = c.refused ? parts.refused : parts[c.kind];
    const shown = new RegExp(`^- \`(is )?${c.name}[(\`]`, 'gm');
    assert.equal(where.match(shown)?.length, 1, `${c.kind} ${c.name}`);
    if (c.refused) assert.ok(where.includes(c.refused), `${c.name}: its reason`);
  }
});
