import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/*
 * The layering of DEVELOPERS.md, checked on the import graph of src/ (type-only imports included:
 * they couple modules as much as any other). A folder may import only from folders of a lower rank;
 * two folders of the same rank (http/ and pebble/) know nothing of each other.
 */
const RANKS: Record<string, number> = {
  base: 0, // src/*.ts: errors, logger, masker, levels, diagnostics, files...
  http: 1,
  pebble: 1,
  fastly: 2,
  tasks: 3,
  flow: 4,
  runtime: 5,
  server: 6,
  cli: 7,
};
/** The simulator stands beside the layers (the CLI starts it): it shares only these modules with them. */
const SIMULATOR_MAY_IMPORT = new Set([
  'src/fastly/types.ts',
  'src/fastly/fields.ts',
  'src/fastly/errors.ts', // the TokenScope type
  'src/headers.ts',
]);
/** The package entry re-exports the layers; it is no layer itself. */
const ENTRY = 'src/index.ts';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

const IMPORT = /(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** file → the files it imports, paths relative to the repository (`src/...`). */
function importGraph(): Map<string, string[]> {
  const root = dirname(SRC);
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const from = relative(root, file);
    const targets: string[] = [];
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.endsWith('.css')) continue;
      targets.push(normalize(join(dirname(from), spec.replace(/\.js$/, '.ts'))));
    }
    graph.set(from, targets);
  }
  return graph;
}

const layerOf = (file: string) => {
  const parts = file.split('/');
  return parts.length === 2 ? 'base' : (parts[1] as string);
};

/** Every import that breaks the layering, as `from -> to (why)`. */
function layerViolations(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    if (from === ENTRY) continue;
    const a = layerOf(from);
    for (const to of targets) {
      const b = layerOf(to);
      if (a === b) continue;
      if (a === 'simulator') {
        if (!SIMULATOR_MAY_IMPORT.has(to)) out.push(`${from} -> ${to} (the simulator shares only types)`);
        continue;
      }
      if (b === 'simulator') {
        if (a !== 'cli') out.push(`${from} -> ${to} (only the CLI starts the simulator)`);
        continue;
      }
      const ra = RANKS[a];
      const rb = RANKS[b];
      if (ra === undefined) out.push(`${from}: folder ${a}/ has no place in the layering (add it to RANKS)`);
      else if (rb === undefined) out.push(`${from} -> ${to} (${b}/ is not a layer)`);
      else if (rb >= ra) out.push(`${from} -> ${to} (${a}/ may not import ${b}/)`);
    }
  }
  return [...new Set(out)];
}

/** Every import cycle between files (strongly connected components of more than one file). */
function importCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

test('the checks catch an upward import and a cycle (they can fail)', () => {
  const graph = new Map([
    ['src/logger.ts', ['src/flow/events.ts']],
    ['src/flow/events.ts', ['src/logger.ts']],
    ['src/simulator/server.ts', ['src/fastly/client.ts']],
    ['src/fastly/client.ts', ['src/http/transport.ts', 'src/tasks/task.ts']],
    ['src/http/transport.ts', ['src/pebble/index.ts']],
    ['src/server/index.ts', ['src/simulator/index.ts']],
    ['src/cli/commands/demo.ts', ['src/simulator/index.ts', 'src/server/index.ts']],
  ]);
  assert.deepEqual(layerViolations(graph), [
    'src/logger.ts -> src/flow/events.ts (base/ may not import flow/)',
    'src/simulator/server.ts -> src/fastly/client.ts (the simulator shares only types)',
    'src/fastly/client.ts -> src/tasks/task.ts (fastly/ may not import tasks/)',
    'src/http/transport.ts -> src/pebble/index.ts (http/ may not import pebble/)',
    'src/server/index.ts -> src/simulator/index.ts (only the CLI starts the simulator)',
  ]);
  assert.deepEqual(importCycles(graph), [['src/flow/events.ts', 'src/logger.ts']]);
});

test('src/ imports only downwards: base → http, pebble → fastly → tasks → flow → runtime → server → cli', () => {
  const graph = importGraph();
  assert.ok(graph.size > 100, `read ${graph.size} files`);
  assert.deepEqual(layerViolations(graph), []);
});

test('src/ has no import cycle between files', () => {
  assert.deepEqual(importCycles(importGraph()), []);
});

/** The dashboard's browser bundle: its own folder, with the DOM library and no Node. */
const BROWSER = 'src/server/dashboard/client/';

/**
 * What in a module would run (or pull in code that runs): every statement that is not an import or
 * export of types, an interface or a type alias. A module the browser bundle reaches outside its
 * folder must have none: the bundle cannot load Node's modules, and it should not carry the server's.
 */
function runtimeStatements(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
  const out: string[] = [];
  // Top-level statements start at column 0; members and continuation lines are indented.
  for (const line of code.split('\n')) {
    if (line === '' || /^[\s}\])]/.test(line)) continue;
    if (/^import type\s|^export type\s|^(export )?(interface|type)\s\w/.test(line)) continue;
    out.push(line.trim());
  }
  return out;
}

/** The modules outside its folder that the browser bundle imports, directly or through them. */
function browserReach(graph: Map<string, string[]>): string[] {
  const seen = new Set<string>();
  const walk = (file: string) => {
    for (const to of graph.get(file) ?? []) {
      if (to.startsWith(BROWSER) || seen.has(to)) continue;
      seen.add(to);
      walk(to);
    }
  };
  for (const file of graph.keys()) if (file.startsWith(BROWSER)) walk(file);
  return [...seen].sort();
}

test('the types-only check catches code, a value import and a re-export of values (it can fail)', () => {
  assert.deepEqual(
    runtimeStatements(
      [
        "import type { A } from './a.js';",
        "import { channel } from 'node:diagnostics_channel';",
        '/** doc */',
        'export interface B {',
        '  x: number;',
        '}',
        'export type C = A | B;',
        "export { d } from './d.js';",
        'export const e = 1;',
      ].join('\n'),
    ),
    [
      "import { channel } from 'node:diagnostics_channel';",
      "export { d } from './d.js';",
      'export const e = 1;',
    ],
  );
});

test("the dashboard's browser bundle reaches outside its folder only types-only modules (model.ts, the event types)", () => {
  const root = dirname(SRC);
  const reach = browserReach(importGraph());
  assert.ok(reach.includes('src/server/dashboard/model.ts'), reach.join(', '));
  for (const file of reach)
    assert.deepEqual(runtimeStatements(readFileSync(join(root, file), 'utf8')), [], `${file} runs code`);
});

/** A task type's own file (`src/tasks/purge/Keys.ts`) and the registry of types may name task types. */
const namesTypes = (file: string) =>
  /^src\/tasks\/[a-z]+\/[A-Z]\w*\.ts$/.test(file) || file === 'src/tasks/index.ts';

/** Code that branches on a task type's name: a full type name, or a type's suffix or family prefix. */
const TYPE_NAME = [
  /['"`]io\.kestra\.plugin(?:\.[a-z]\w*)+\.[A-Z]\w*['"`]/g,
  /\.endsWith\(\s*['"`]\.[A-Z]\w*['"`]\s*\)/g,
  /\.startsWith\(\s*['"`]io\.kestra\.plugin(?:\.[a-z]\w*){2,}\.['"`]\s*\)/g,
];

/** Every place outside a task's own file that picks behaviour by a type's name, as `file: text`. */
function typeNameBranches(files: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    if (namesTypes(file)) continue;
    // Comments and examples in them may name types; code may not.
    const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
    for (const pattern of TYPE_NAME) for (const m of code.matchAll(pattern)) out.push(`${file}: ${m[0]}`);
  }
  return out;
}

test('the type-name check catches a type name, a suffix and a family prefix (it can fail)', () => {
  const files = new Map([
    ['src/flow/executor.ts', "if (node.type === 'io.kestra.plugin.core.flow.Sequential') run();"],
    [
      'src/flow/load.ts',
      "if (type.endsWith('.Keys')) x(); if (type.startsWith('io.kestra.plugin.fastly.stats.')) y();",
    ],
    ['src/tasks/core/If.ts', "type: 'io.kestra.plugin.core.flow.If', // its own name"],
    ['src/server/api.ts', "// a comment may say 'io.kestra.plugin.core.trigger.Webhook'"],
  ]);
  assert.deepEqual(typeNameBranches(files), [
    "src/flow/executor.ts: 'io.kestra.plugin.core.flow.Sequential'",
    "src/flow/load.ts: .endsWith('.Keys')",
    "src/flow/load.ts: .startsWith('io.kestra.plugin.fastly.stats.')",
  ]);
});

test("no code outside a task's own file branches on its type name (the definition says: check, children, runNested)", () => {
  const root = dirname(SRC);
  const files = new Map(sources(SRC).map((f) => [relative(root, f), readFileSync(f, 'utf8')]));
  assert.deepEqual(typeNameBranches(files), []);
});

test('better-sqlite3 statements are prepared in one place, which keeps them (Node 24 aborts when one is collected)', () => {
  // better-sqlite3 12 on Node 24 asserts in Statement's destructor: every statement must come from
  // SqliteSync's cache (kept for the life of the process), never from a bare db.prepare elsewhere.
  const text = readFileSync(join(SRC, 'runtime', 'sqlite.ts'), 'utf8');
  // `this.#prepare(` is the cache; `.prepare(` is the database's own, called once, inside it.
  assert.equal([...text.matchAll(/\.prepare\(/g)].length, 1, 'only #prepare calls the database’s prepare');
});
