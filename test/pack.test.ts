import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type TS from 'typescript';
import { packed } from './support/package.js';

/**
 * The package as a user gets it: `npm pack` (the suite's one pack of this build,
 * test/support/package.ts), the tarball unpacked into a fresh project's node_modules, its declared
 * dependencies (and nothing else) linked from this repository's node_modules (no network), then
 * every entry imported from ESM and type-checked from TypeScript.
 */

const run = promisify(execFile);
/**
 * TypeScript (9 MB of CommonJS) required, not imported: an ESM import ran Node's CommonJS export
 * lexer and its format detection over the whole file first, ~0.7 s of this file's 7 s of CPU.
 */
const ts = createRequire(import.meta.url)('typescript') as typeof TS;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  exports: Record<string, unknown>;
};

/** Runtime names each entry must export; internals must not leak. */
const FASTLY = [
  'FastlyClient',
  'FastlyApiError',
  'FastlyNetworkError',
  'FastlyProxyError',
  'FastlyResponseError',
  'PurgeTooLargeError',
  'envProxyPolicy',
  'fixedProxyPolicy',
  'parseProxyUrl',
  'InvalidInputError',
  'RunFailedError',
  'KestraFastlyError',
  'purgeUrl',
  'purgeKey',
  'purgeKeys',
  'purgeAll',
  'historical',
  'historicalPages',
  'aggregate',
  'usage',
  'usageByMonth',
  'getRegions',
  'verifyPurge',
  'HttpTransport',
  'OneShotTransport',
  'resolveWindow',
  'parseTime',
  'STATS_FIELDS',
];
const EXPECTED: Record<string, string[]> = {
  '.': FASTLY,
  './fastly': FASTLY,
  './tasks': [
    'TASKS',
    'FASTLY_TASKS',
    'TRIGGERS',
    'PurgeKeys',
    'Stats',
    'StatsTrigger',
    'runTask',
    'parseProps',
  ],
  './flow': [
    'parseFlow',
    'loadFlowFile',
    'runFlow',
    'Scheduler',
    'flowJsonSchema',
    'FlowError',
    'createLogger',
  ],
  './simulator': ['Simulator', 'startSimulator', 'DEMO_SERVICES'],
};
const INTERNAL = [
  'isLoopbackHost',
  'sharedDispatcher',
  'closeSharedDispatcher',
  'splitWindow',
  'AttemptError',
];

const ESM_CONSUMER = `
import { startSimulator } from 'kestra-plugin-fastly/simulator';
import { FastlyClient, purgeKeys, FastlyApiError, purgeAll } from 'kestra-plugin-fastly';
const expected = JSON.parse(process.argv[2]);
const internal = JSON.parse(process.argv[3]);
const report = {};
for (const [entry, names] of Object.entries(expected)) {
  const mod = await import(entry === '.' ? 'kestra-plugin-fastly' : 'kestra-plugin-fastly' + entry.slice(1));
  report[entry] = {
    missing: names.filter((n) => mod[n] === undefined),
    leaked: internal.filter((n) => n in mod),
    count: Object.keys(mod).length,
  };
}
const sim = await startSimulator({ tokens: { t0ken: ['purge_select'] } });
try {
  const client = new FastlyClient({ token: 't0ken', baseUrl: sim.url });
  const result = await purgeKeys(client, 'SU1Z0isxPaozGVKXdv0eY', ['a', 'b', 'a']);
  report.purge = { purged: Object.keys(result.purgeIds).sort(), duplicatesRemoved: result.duplicatesRemoved };
  const refused = await purgeAll(client, 'SU1Z0isxPaozGVKXdv0eY').catch((e) => e);
  report.refused = { isApiError: refused instanceof FastlyApiError, name: refused.name, code: refused.code, status: refused.status };
} finally {
  await sim.close();
}
console.log(JSON.stringify(report));
`;

const TS_CONSUMER = `
import { FastlyApiError, FastlyClient, purgeKeys, type PurgeKeysResult } from 'kestra-plugin-fastly';
import { FastlyClient as SameClient } from 'kestra-plugin-fastly/fastly';
import { PurgeKeys, TASKS, type TaskContext, type TaskDefinition } from 'kestra-plugin-fastly/tasks';
import { flowJsonSchema, parseFlow, runFlow, type Execution } from 'kestra-plugin-fastly/flow';
import { Simulator } from 'kestra-plugin-fastly/simulator';

export async function purge(client: FastlyClient): Promise<string[]> {
  const result: PurgeKeysResult = await purgeKeys(client, 'service', ['a']);
  // @ts-expect-error the keys are a list of strings: proves the types resolved (not any)
  await purgeKeys(client, 'service', 42);
  return result.failed.map((f) => f.key);
}

export function describe(err: unknown): string | undefined {
  if (err instanceof FastlyApiError) return \`\${err.request.method} \${err.request.path} -> \${err.response.status}\`;
  return undefined;
}

export const sameClass: typeof FastlyClient = SameClient;
export const def: TaskDefinition | undefined = TASKS[PurgeKeys.type];
export const ctx: Pick<TaskContext, 'env'> = { env: {} };
export const schema: Record<string, unknown> = flowJsonSchema();
export async function runIt(text: string): Promise<Execution['state']> {
  return (await runFlow(parseFlow(text, 'flow.yml'))).state;
}
export const sim: Promise<Simulator> = new Simulator().start();
`;

/** The type errors `tsc -p` would report in the files `own` takes, as `file(line,col): message`. */
function typeErrors(tsconfig: string, own: (file: string) => boolean): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    tsconfig,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) =>
        assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  );
  assert.ok(config, tsconfig);
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const files = program.getSourceFiles().filter((f) => own(f.fileName));
  return [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...files.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ].map((d) => {
    const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const where = d.file ? `${d.file.fileName}(${(at?.line ?? 0) + 1},${(at?.character ?? 0) + 1}): ` : '';
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

test('the packed package installs in a fresh project and every entry imports from ESM and TypeScript', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kf-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const { tarball, files } = await packed();
  const shipped = new Set(files);
  for (const target of Object.values(pkg.exports).flatMap((e) =>
    typeof e === 'string' ? [e] : Object.values(e as Record<string, string>),
  )) {
    assert.ok(
      shipped.has(target.replace(/^\.\//, '')),
      `exports names ${target}, which is not in the package`,
    );
  }

  const home = join(dir, 'node_modules', pkg.name);
  mkdirSync(home, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', home, '--strip-components=1']);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  // Only the declared dependencies (a dependency missing from package.json fails the imports below).
  for (const dep of [...Object.keys(pkg.dependencies), '@types/node']) {
    mkdirSync(dirname(join(dir, 'node_modules', dep)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir');
  }

  // Source maps must not point at files the package does not ship.
  const maps = files.filter((f) => f.endsWith('.js.map'));
  for (const m of maps) {
    const map = JSON.parse(readFileSync(join(home, m), 'utf8')) as {
      sources: string[];
      sourcesContent?: (string | null)[];
    };
    const complete = map.sources.every(
      (s, i) => typeof map.sourcesContent?.[i] === 'string' || shipped.has(s),
    );
    assert.ok(complete, `${m} points at sources the package does not ship: ${map.sources.join(', ')}`);
  }

  writeFileSync(join(dir, 'consumer.mjs'), ESM_CONSUMER);
  const esm = await run(
    process.execPath,
    ['consumer.mjs', JSON.stringify(EXPECTED), JSON.stringify(INTERNAL)],
    { cwd: dir },
  );
  const report = JSON.parse(esm.stdout) as Record<string, { missing: string[]; leaked: string[] }> & {
    purge: unknown;
    refused: unknown;
  };
  for (const entry of Object.keys(EXPECTED)) {
    assert.deepEqual(report[entry]?.missing, [], `${entry}: missing exports`);
    assert.deepEqual(report[entry]?.leaked, [], `${entry}: internals exported`);
  }
  assert.deepEqual(report.purge, { purged: ['a', 'b'], duplicatesRemoved: 1 });
  assert.deepEqual(report.refused, {
    isApiError: true,
    name: 'FastlyApiError',
    code: 'FASTLY_API_ERROR',
    status: 403,
  });

  writeFileSync(join(dir, 'consumer.ts'), TS_CONSUMER);
  // The README's library examples compile against the shipped types as written.
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = /\n## As a library\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
  const examples = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  assert.ok(examples.length >= 2, 'README.md has no ```ts blocks under "## As a library"');
  const readmeFiles = examples.map((code, i) => {
    writeFileSync(join(dir, `readme${i}.ts`), code);
    return `readme${i}.ts`;
  });
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        types: ['node'],
        // The consumer's own code is checked, and so are the package's declarations.
        skipLibCheck: false,
      },
      files: ['consumer.ts', ...readmeFiles],
    }),
  );
  // What `tsc -p dir` reports of the consumer's files and the package's declarations; not of the
  // other libraries' (Node's, zod's, hono's: 8 of its 10 s), which are theirs to check.
  const own = (file: string) => !file.includes('/node_modules/') || file.startsWith(`${home}/`);
  assert.deepEqual(typeErrors(join(dir, 'tsconfig.json'), own), [], 'tsc --noEmit on the consumer files');

  const bin = await run(process.execPath, [join(home, 'dist', 'bundle', 'main.cjs'), '--version'], {
    cwd: dir,
  });
  assert.equal(bin.stdout.trim(), pkg.version);
  assert.ok(readdirSync(home).includes('README.md'));
});
