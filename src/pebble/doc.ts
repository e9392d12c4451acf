import type { Callable } from './evaluate.js';
import { CALLABLE_TABLE } from './extensions.js';

/**
 * The README's list of filters, functions and tests, written from the same table the engine uses
 * (src/pebble/extensions.ts). test/pebble-readme.test.ts checks README.md holds exactly this text
 * between its `expressions:start` and `expressions:end` markers.
 */
export function expressionsMarkdown(table: readonly Callable[] = CALLABLE_TABLE): string {
  const origin = { pebble: 'Pebble', kestra: 'Kestra', here: 'kept from this project' } as const;
  const sig = (c: Callable) =>
    c.kind === 'test'
      ? `is ${c.name}`
      : c.args.length
        ? `${c.name}(${c.args.join(', ')})`
        : c.kind === 'function'
          ? `${c.name}()`
          : c.name;
  const line = (c: Callable) => `- \`${sig(c)}\` (${origin[c.origin]}): ${c.summary}`;
  const sorted = (kind: Callable['kind'], supported: boolean) =>
    table
      .filter((c) => c.kind === kind && Boolean(c.apply) === supported)
      .sort((a, b) => a.name.localeCompare(b.name, 'en'));
  const refused = table.filter((c) => !c.apply).sort((a, b) => a.name.localeCompare(b.name, 'en'));
  return [
    "<!-- expressions:start: written by expressionsMarkdown() (src/pebble/doc.ts) from the engine's table; do not edit by hand -->",
    '',
    `**Filters** (${sorted('filter', true).length}; \`{{ value | name(arguments) }}\`, arguments by position or by name):`,
    '',
    ...sorted('filter', true).map(line),
    '',
    `**Functions** (${sorted('function', true).length}):`,
    '',
    ...sorted('function', true).map(line),
    '',
    `**Tests** (\`{{ value is name }}\`, \`is not\`):`,
    '',
    ...sorted('test', true).map(line),
    '',
    `**Refused** before anything runs, with the reason (${refused.length}):`,
    '',
    ...refused.map(
      (c) => `- \`${sig(c)}\` (${c.kind}, ${origin[c.origin]}): ${c.summary}; refused: ${c.refused ?? ''}`,
    ),
    '',
    '<!-- expressions:end -->',
  ].join('\n');
}
