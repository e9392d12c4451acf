/**
 * The Kestra bridge as docs/kestra.md documents it: each documented flow's script task is rendered
 * the way Kestra renders it (Pebble, here our engine with Kestra's filters) and its commands are run
 * under `/bin/sh -c`, as Kestra's script runner does, against the simulator. Hostile surrogate keys
 * must arrive unharmed and nothing they contain may execute.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { renderString } from '../src/flow/expressions.js';
import { JavaDouble, parseJson } from '../src/pebble/java.js';
import type { Simulator } from '../src/simulator/index.js';
import { cliHost } from './cli-host.js';
import { CLI, requests, runCli, SERVICE, sim } from './helpers.js';

/** The bridge's one-shot runs whose input is argv and the environment, in one process (cli-host.ts). */
const cli = cliHost();
const DOC = join(dirname(fileURLToPath(import.meta.url)), '../../docs/kestra.md');
const KESTRA_LINE = /^::(\{.*\})::$/;

/** Keys that break naive quoting; each one would leave a trace if any shell ran what it contains. */
const HOSTILE = [
  `x'$(echo\${IFS}INJECTED-RAN>&2)'y`,
  `a"b"c`,
  `$(touch\${IFS}PWNED-1)`,
  '`touch${IFS}PWNED-2`',
  `';touch\${IFS}PWNED-3;echo'`,
  `it's`,
  `back\\slash`,
  `{{7*7}}`,
];

interface ScriptTask {
  type: string;
  env?: Record<string, string>;
  inputFiles?: Record<string, string>;
  commands: string[];
  beforeCommands?: string[];
}

const yamlBlocks = (): unknown[] =>
  [...readFileSync(DOC, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1] ?? '') as unknown);

function documentedFlow(id: string): { tasks?: ScriptTask[]; triggers?: ScriptTask[] } {
  const flow = yamlBlocks().find((b) => (b as { id?: string })?.id === id);
  assert.ok(flow, `docs/kestra.md documents the flow ${id}`);
  return flow;
}

/** Renders a property as Kestra does: the Pebble template with the execution's variables. */
function render(template: string, context: Record<string, unknown>, secrets: Record<string, string>): string {
  return String(
    renderString(template, context, {
      where: 'docs/kestra.md',
      secret: (name) => {
        const v = secrets[name];
        assert.ok(v !== undefined, `secret ${name}`);
        return v;
      },
    }),
  );
}

interface ShellRun {
  code: number | null;
  stdout: string;
  stderr: string;
  dir: string;
}

/** A working directory and a PATH where `kestra-fastly` is this build (what `npm install -g` provides). */
function workspace(): { dir: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kestra-task-'));
  const bin = mkdtempSync(join(tmpdir(), 'kestra-bin-'));
  const shim = join(bin, 'kestra-fastly');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(shim, 0o755);
  return { dir, bin };
}

/** Runs one rendered command line as Kestra's script runner does: `/bin/sh -c <line>`. */
function sh(line: string, env: Record<string, string>, cwd: string): Promise<ShellRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', line], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, dir: cwd }));
  });
}

function protocol(stdout: string): Record<string, unknown>[] {
  const lines = stdout.trim().split('\n').filter(Boolean);
  return lines.map((l) => {
    const m = KESTRA_LINE.exec(l);
    assert.ok(m, `a line Kestra reads: ${l}`);
    // As Kestra's Jackson reads the line: 316.0 stays a Double.
    return parseJson(m[1] ?? '{}') as Record<string, unknown>;
  });
}

/** Renders and runs a documented script task (beforeCommands are the install step, replaced by PATH). */
async function runScriptTask(
  task: ScriptTask,
  context: Record<string, unknown>,
  secrets: Record<string, string>,
  s: Simulator,
): Promise<ShellRun> {
  const { dir, bin } = workspace();
  const env: Record<string, string> = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: dir,
    FASTLY_API_ENDPOINT: s.url,
  };
  for (const [k, v] of Object.entries(task.env ?? {})) env[k] = render(v, context, secrets);
  for (const [f, v] of Object.entries(task.inputFiles ?? {}))
    writeFileSync(join(dir, f), render(v, context, secrets));
  let last: ShellRun | undefined;
  for (const command of task.commands.filter((c) => !/^npm install\b/.test(c))) {
    last = await sh(render(command, context, secrets), env, dir);
    if (last.code !== 0) break;
  }
  assert.ok(last, 'the task runs a command');
  return last;
}

function assertNothingRan(run: ShellRun): void {
  assert.doesNotMatch(run.stderr + run.stdout, /^INJECTED-RAN$/m, 'the echo inside a key ran');
  for (const n of [1, 2, 3]) {
    assert.ok(!existsSync(join(run.dir, `PWNED-${n}`)), `PWNED-${n} was created in the task's directory`);
  }
}

async function purgeSim(t: TestContext) {
  return sim(t, { faults: { latencyMs: 100 } });
}

const SECRETS = { FASTLY_API_TOKEN: 'bridge-token', FASTLY_SERVICE_ID: SERVICE };

test('docs/kestra.md: the documented purge task passes hostile keys through inputFiles unharmed; nothing executes', async (t) => {
  const s = await purgeSim(t);
  const task = documentedFlow('purge_on_publish').tasks?.find((x) =>
    x.type.endsWith('scripts.node.Commands'),
  );
  assert.ok(task);
  for (const c of task.commands) assert.doesNotMatch(c, /\{\{/, 'no rendered value inside a command line');
  const run = await runScriptTask(task, { inputs: { keys: HOSTILE } }, SECRETS, s);
  assert.equal(run.code, 0, run.stderr);
  assertNothingRan(run);
  const outputs = protocol(run.stdout).find((p) => p.outputs)?.outputs as {
    purgeIds: Record<string, string>;
  };
  assert.deepEqual(Object.keys(outputs.purgeIds).sort(), [...HOSTILE].sort(), 'every key arrived as sent');
  assert.equal(s.log.filter((e) => e.path === `/service/${SERVICE}/purge`).length, 1);
});

/** The documented purge task with its `env` variant (KESTRA_FASTLY_PROPS, --props-env) instead of inputFiles. */
function envVariant(): ScriptTask {
  const base = documentedFlow('purge_on_publish').tasks?.find((x) =>
    x.type.endsWith('scripts.node.Commands'),
  );
  const variant = yamlBlocks().find(
    (b) => (b as ScriptTask)?.env?.KESTRA_FASTLY_PROPS !== undefined && !(b as { id?: string }).id,
  ) as ScriptTask | undefined;
  assert.ok(base && variant, 'docs/kestra.md documents an env variant');
  const { inputFiles: _files, ...rest } = base;
  return { ...rest, env: { ...base.env, ...variant.env }, commands: variant.commands };
}

test('docs/kestra.md: the env variant passes the same keys through the environment unharmed', async (t) => {
  const s = await purgeSim(t);
  const run = await runScriptTask(envVariant(), { inputs: { keys: HOSTILE } }, SECRETS, s);
  assert.equal(run.code, 0, run.stderr);
  assertNothingRan(run);
  const outputs = protocol(run.stdout).find((p) => p.outputs)?.outputs as {
    purgeIds: Record<string, string>;
  };
  assert.deepEqual(Object.keys(outputs.purgeIds).sort(), [...HOSTILE].sort());
});

test('docs/kestra.md: 20,000 keys (a 209 KB document) go through the documented inputFiles route; the env route cannot start, as documented', async (t) => {
  // The report: --props-env with 20,000 keys failed with "Argument list too long" before the process
  // started (Linux caps one environment variable at 128 KiB). The documented default now takes them.
  const s = await sim(t, {
    faults: {
      latencyMs: 100,
      latencyJitterMs: 200,
      rate5xx: 0.2,
      rate429: 0.1,
      retryAfterSeconds: 0,
      seed: 3,
    },
  });
  const keys = Array.from({ length: 20_000 }, (_, i) => `article-${String(i).padStart(5, '0')}`);
  const task = documentedFlow('purge_on_publish').tasks?.find((x) =>
    x.type.endsWith('scripts.node.Commands'),
  );
  assert.ok(task?.inputFiles, 'the documented task writes its properties with inputFiles');
  const run = await runScriptTask(task, { inputs: { keys } }, SECRETS, s);
  assert.equal(run.code, 0, run.stderr);
  const lines = protocol(run.stdout);
  const outputs = lines.find((p) => p.outputs)?.outputs as { purged: number; requests: number };
  assert.equal(outputs.purged, 20_000);
  assert.equal(outputs.requests, 79, 'one per batch of 256 keys');
  // The metric counts HTTP attempts under its own name: attempts = requests + retries, no `requests`.
  const metrics = lines.find((p) => p.metrics)?.metrics as { name: string; value: number }[];
  const metric = (name: string) => metrics.find((m) => m.name === name)?.value;
  assert.equal(metric('requests'), undefined, 'no metric shares the output name requests');
  assert.ok((metric('retries') ?? 0) > 0, 'the flaky API made some retries');
  assert.equal(metric('attempts'), 79 + (metric('retries') ?? 0));
  assert.equal(metric('attempts'), s.log.filter((e) => e.path === `/service/${SERVICE}/purge`).length);
  // The same document in one environment variable: the shell cannot even start the command.
  const variant = envVariant();
  const props = render(variant.env?.KESTRA_FASTLY_PROPS ?? '', { inputs: { keys } }, SECRETS);
  assert.ok(props.length > 131_072, `${props.length} bytes`);
  const { dir } = workspace();
  await assert.rejects(
    sh('true', { PATH: process.env.PATH ?? '', KESTRA_FASTLY_PROPS: props }, dir),
    /E2BIG/,
  );
});

test('--props-env near the 128 KiB cap, and a token on the command line, each get a WARN line for Kestra', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const keys = Array.from({ length: 8_000 }, (_, i) => `article-${i}`);
  const big = JSON.stringify({ surrogateKeys: keys });
  assert.ok(big.length > 98_304 && big.length < 131_072);
  const near = await cli.run(['task', 'purge.Keys', '--props-env', 'P'], { ...env, P: big });
  assert.equal(near.code, 0, near.stderr);
  const warns = (stdout: string) =>
    protocol(stdout)
      .flatMap((p) => (p.logs as { level: string; message: string }[] | undefined) ?? [])
      .filter((l) => l.level === 'WARN')
      .map((l) => l.message);
  assert.match(
    warns(near.stdout).join('\n'),
    /^the environment variable P holds 1\d\d KiB; Linux refuses one environment variable or argument over 128 KiB \("Argument list too long", before the task starts\): pass the properties with inputFiles and --props-file/,
  );
  const small = await cli.run(['task', 'purge.Keys', '--props-env', 'P'], {
    ...env,
    P: '{"surrogateKeys":["a"]}',
  });
  assert.deepEqual(warns(small.stdout), []);
  const b64 = Buffer.from(JSON.stringify({ apiToken: 'tok', surrogateKeys: ['a'] })).toString('base64');
  const inArgv = await cli.run(['task', 'purge.Keys', '--props-base64', b64], env);
  assert.equal(inArgv.code, 0, inArgv.stderr);
  const [warning] = warns(inArgv.stdout);
  assert.match(
    warning ?? '',
    /^apiToken came on the command line \(--props-base64\): every process of the host can read it/,
  );
  assert.ok(!inArgv.stdout.includes(b64) && !inArgv.stdout.includes('"tok"'), 'the token is not printed');
});

test('a key with a newline arrives intact too, and is refused by name (Fastly separates keys by spaces)', async (t) => {
  const s = await purgeSim(t);
  const task = documentedFlow('purge_on_publish').tasks?.find((x) =>
    x.type.endsWith('scripts.node.Commands'),
  );
  assert.ok(task);
  const keys = ['ok-key', 'line1\n$(touch PWNED-1)\nline3'];
  const run = await runScriptTask(task, { inputs: { keys } }, SECRETS, s);
  assert.equal(run.code, 2);
  assertNothingRan(run);
  assert.match(run.stderr, /"line1\\n\$\(touch PWNED-1\)\\nline3" contains whitespace/);
  assert.equal(s.log.length, 0, 'no request for invalid input');
});

test('docs/kestra.md: the Schedule alert keeps the token out of every command line; alerts on a 5xx spike only', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 150 } });
  const flow = documentedFlow('fastly_error_alert') as unknown as {
    triggers: { type: string }[];
    tasks: (ScriptTask & { id: string; runIf?: string; message?: string })[];
  };
  assert.ok(flow.triggers.every((x) => x.type === 'io.kestra.plugin.core.trigger.Schedule'));
  const check = flow.tasks.find((x) => x.type.endsWith('scripts.node.Commands'));
  const alert = flow.tasks.find((x) => x.type === 'io.kestra.plugin.core.log.Log');
  assert.ok(check && alert?.runIf && alert.message);
  // A token full of shell syntax, which must appear in no command line.
  const secrets = {
    FASTLY_API_TOKEN: `t'$(touch\${IFS}PWNED-1)"\`touch\${IFS}PWNED-2\`"`,
    FASTLY_SERVICE_ID: SERVICE,
  };
  for (const c of [...check.commands, ...(check.beforeCommands ?? [])]) {
    const line = render(c, {}, secrets);
    assert.ok(!line.includes(secrets.FASTLY_API_TOKEN), 'the token is not in the command line');
    assert.ok(!line.includes(Buffer.from(secrets.FASTLY_API_TOKEN).toString('base64')), 'nor its base64');
  }
  const evaluate = async () => {
    const run = await runScriptTask(check, {}, secrets, s);
    assertNothingRan(run);
    assert.equal(run.code, 0, `not fired is a success of the task too\n${run.stderr}`);
    const vars = protocol(run.stdout).find((p) => p.outputs)?.outputs as { matched: boolean; value: number };
    const runs = render(alert.runIf ?? '', { outputs: { check: { vars } } }, {});
    return { vars, alerted: runs === 'true' };
  };
  const quiet = await evaluate();
  assert.equal(quiet.vars.matched, false);
  assert.equal(quiet.alerted, false);
  const now = Math.floor(Date.now() / 1000);
  s.addScenario({ serviceId: SERVICE, field: 'status_5xx', from: now - 3600, to: now, perMinute: 30 });
  const spike = await evaluate();
  assert.equal(spike.vars.matched, true);
  assert.equal(spike.alerted, true);
  const message = render(alert.message ?? '', { outputs: { check: { vars: spike.vars } } }, {});
  // Doubles, as in Kestra: the Java plugin's StatsTrigger.Output has `Double value`, `Double threshold`.
  assert.match(message, /^5xx spike detected: \d+\.0 errors \(threshold: 50\.0\)$/);
  // A failure still fails the task: a bad token is exit 1, not "not fired".
  const failed = await runScriptTask(check, {}, { ...secrets, FASTLY_SERVICE_ID: 'NoSuchService0' }, s);
  assert.equal(failed.code, 1, failed.stderr);
});

test('docs/kestra.md: the CommandsTrigger alert (read-only token) fires on a 5xx spike (exit 0) and not otherwise (exit 3)', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 150 } });
  const trigger = documentedFlow('fastly_error_alert_edge').triggers?.find((x) =>
    x.type.endsWith('scripts.node.CommandsTrigger'),
  ) as (ScriptTask & { exitCondition: string; edge?: boolean }) | undefined;
  assert.ok(trigger);
  assert.equal(trigger.exitCondition, 'exit 0');
  // A token full of shell syntax: it travels base64-encoded, so the shell never parses it.
  const secrets = {
    FASTLY_READ_ONLY_TOKEN: `t'$(touch\${IFS}PWNED-1)"\`touch\${IFS}PWNED-2\`"`,
    FASTLY_SERVICE_ID: SERVICE,
  };
  const quiet = await runScriptTask(trigger, {}, secrets, s);
  assertNothingRan(quiet);
  assert.equal(quiet.code, 3, quiet.stderr);
  const now = Math.floor(Date.now() / 1000);
  s.addScenario({ serviceId: SERVICE, field: 'status_5xx', from: now - 3600, to: now, perMinute: 30 });
  const fired = await runScriptTask(trigger, {}, secrets, s);
  assert.equal(fired.code, 0, fired.stderr);
  assertNothingRan(fired);
  const vars = protocol(fired.stdout).find((p) => p.outputs)?.outputs as {
    value: JavaDouble;
    threshold: JavaDouble;
  };
  assert.ok(vars.value.value > 50, String(vars.value));
  assert.deepEqual(vars.threshold, new JavaDouble(50));
  // What the flow's task then renders from {{ trigger.vars.* }}.
  // The token came on the command line: said at each evaluation, as a WARN line of the trigger.
  assert.ok(
    protocol(fired.stdout).some((p) =>
      (p.logs as { level: string; message: string }[] | undefined)?.some(
        (l) => l.level === 'WARN' && l.message.startsWith('apiToken came on the command line'),
      ),
    ),
  );
  const flow = documentedFlow('fastly_error_alert_edge') as unknown as { tasks: { message: string }[] };
  const message = render(flow.tasks[0]?.message ?? '', { trigger: { vars } }, {});
  // Doubles, as in Kestra: the Java plugin's StatsTrigger.Output has `Double value`, `Double threshold`.
  assert.match(message, /^5xx spike detected: \d+\.0 errors \(threshold: 50\.0\)$/);
});

test('serviceId is filled from $FASTLY_SERVICE_ID only where the Java plugin requires it', async (t) => {
  const s = await sim(t);
  const env = {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_API_ENDPOINT: s.url,
    FAKE_PROPS: '{"by":"day","from":"2 days ago"}',
  };
  const stats = await cli.run(['task', 'stats.Stats', '--props-env', 'FAKE_PROPS'], env);
  assert.equal(stats.code, 0, stats.stderr);
  const data = (protocol(stats.stdout).find((p) => p.outputs)?.outputs as { data: object }).data;
  assert.equal(Object.keys(data).length, 3, 'stats.Stats without serviceId covers every service, as in Java');
  assert.ok(s.log.some((e) => e.path === '/stats'));
  const key = await cli.run(['task', 'purge.Key', '--props', '{"surrogateKey":"k"}'], env);
  assert.equal(key.code, 0, key.stderr);
  assert.ok(
    s.log.some((e) => e.path === `/service/${SERVICE}/purge/k`),
    'purge.Key takes the service from the env',
  );
});

test('log lines reach Kestra with their real level and no prefix of ours; deprecated names warn', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const r = await cli.run(['task', 'purge.PurgeKey', '--props', '{"surrogateKey":"k"}'], env);
  assert.equal(r.code, 0, r.stderr);
  const logs = protocol(r.stdout).flatMap(
    (p) => (p.logs as { level: string; message: string }[] | undefined) ?? [],
  );
  assert.deepEqual(
    logs.map((l) => l.level),
    ['WARN', 'INFO'],
  );
  assert.equal(
    logs[0]?.message,
    'type io.kestra.plugin.fastly.purge.PurgeKey is deprecated; use io.kestra.plugin.fastly.purge.Key',
  );
  for (const l of logs) assert.doesNotMatch(l.message, /^\[?\d{4}-\d\d-\d\d|^(INFO|WARN|DEBUG|ERROR)\b/);
  const both = await cli.run(['task', 'purge.Key', '--props', '{}', '--props-env', 'X'], env);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give the properties once/);
  const unset = await cli.run(['task', 'purge.Key', '--props-env', 'NOT_SET_ANYWHERE'], env);
  assert.equal(unset.code, 2);
  assert.match(unset.stderr, /--props-env: the environment variable "NOT_SET_ANYWHERE" is not set/);
});

/** The one stderr line (after `error: `) and the ERROR log lines Kestra reads from stdout. */
function failure(r: { stdout: string; stderr: string }): { line: string; errors: string[] } {
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on stderr:\n${r.stderr}`);
  const line = (lines[0] ?? '').replace(/^error: /, '');
  const errors = protocol(r.stdout)
    .flatMap((p) => (p.logs as { level: string; message: string }[] | undefined) ?? [])
    .filter((l) => l.level === 'ERROR')
    .map((l) => l.message);
  return { line, errors };
}

test('every failure the bridge prints on stderr is also an ERROR log line for Kestra, with the same text', async (t) => {
  const s = await sim(t, { tokens: { reader: ['global:read'] } });
  const env = { FASTLY_API_TOKEN: 'reader', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const cases: [string[], number, RegExp][] = [
    // Schema errors (before: stderr only).
    [['task', 'purge.Keys'], 2, /^purge\.Keys\.surrogateKeys: is missing; expected array$/],
    [
      ['task', 'purge.Keys', '--props', '{"surrogateKeys":["a"],"bogus":1}'],
      2,
      /^purge\.Keys: unknown property bogus; expected one of apiToken, baseUrl, options, serviceId, surrogateKeys, soft, concurrency$/,
    ],
    [
      ['task', 'purge.Keys', '--props', '{"surrogateKeys":["a"],"options":{"retries":1}}'],
      2,
      /^purge\.Keys\.options: unknown property retries; expected one of timeout, connectTimeout, /,
    ],
    [['task', 'purge.Nope'], 2, /^task: unknown type "purge\.Nope"; expected one of /],
    [['task', 'purge.Key', '--props-env', 'UNSET_HERE'], 2, /^--props-env: the environment variable/],
    // Usage errors, from commander.
    [['task', 'purge.Keys', '--bogus'], 2, /^unknown option '--bogus' \(see --help\)$/],
    [['task'], 2, /^missing required argument 'type' \(see --help\)$/],
    // A run-time failure: the token lacks the purge scope (403).
    [['task', 'purge.All'], 1, /HTTP 403/],
  ];
  for (const [args, code, expected] of cases) {
    const r = await cli.run(args, env);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    const { line, errors } = failure(r);
    assert.match(line, expected, args.join(' '));
    assert.deepEqual(errors, [line], `${args.join(' ')}: the ERROR log line Kestra reads\n${r.stdout}`);
  }
  assert.equal(requests(s, '/service').filter((e) => e.method === 'POST').length, 1, 'only purge.All sent');
});

test('an apiToken still reading {{ secret(...) }} is named an unrendered Kestra expression, not "whitespace"; nothing is sent', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const inProps = await cli.run(
    [
      'task',
      'purge.Keys',
      '--props',
      '{"surrogateKeys":["a"],"apiToken":"{{ secret(\\"FASTLY_API_TOKEN\\") }}"}',
    ],
    env,
  );
  const inEnv = await cli.run(['task', 'purge.Keys', '--props', '{"surrogateKeys":["a"]}'], {
    ...env,
    FASTLY_API_TOKEN: "{{ secret('FASTLY_API_TOKEN') }}",
  });
  for (const [r, name] of [
    [inProps, 'purge.Keys.apiToken'],
    [inEnv, 'FASTLY_API_TOKEN'],
  ] as const) {
    assert.equal(r.code, 2, r.stderr);
    const { line, errors } = failure(r);
    assert.ok(line.startsWith(`${name}: looks like an unrendered Kestra expression (value hidden); `), line);
    assert.match(
      line,
      /Kestra renders \{\{ … \}\} once, in the script task's own env, inputFiles and commands/,
    );
    assert.doesNotMatch(line, /whitespace|secret\("FASTLY_API_TOKEN"\)/);
    assert.deepEqual(errors, [line]);
  }
  assert.equal(s.log.length, 0, 'no request');
});

test('SIGTERM (Kestra killing the task) cancels the request in flight, exits 143 and tells Kestra', async (t) => {
  let arrived = () => {};
  const request = new Promise<void>((resolve) => (arrived = resolve));
  // An API that never answers: without the signal reaching the task, the purge would wait out its timeout.
  const server = createServer((req) => {
    req.resume();
    arrived();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const child = spawn(process.execPath, [CLI, 'task', 'purge.Key', '--props', '{"surrogateKey":"k"}'], {
    env: {
      PATH: process.env.PATH ?? '',
      FASTLY_API_TOKEN: 'tok',
      FASTLY_SERVICE_ID: SERVICE,
      FASTLY_API_ENDPOINT: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await request;
  child.kill('SIGTERM');
  assert.equal(await exited, 143, stderr);
  const { line, errors } = failure({ stdout, stderr });
  assert.equal(line, 'interrupted by SIGTERM');
  assert.deepEqual(errors, [line]);
});

test('task --props-file - reads the properties from stdin; a missing token names FASTLY_API_TOKEN', async () => {
  // Was: ENOENT for "-", and only `purge.Key.apiToken: is missing`.
  const r = await runCli(
    ['task', 'purge.Key', '--props-file', '-'],
    {},
    JSON.stringify({ surrogateKey: 'k1' }),
  );
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: purge\.Key\.apiToken: is missing; set FASTLY_API_TOKEN or give apiToken$/m);
  assert.match(r.stderr, /^purge\.Key\.serviceId: is missing; set FASTLY_SERVICE_ID or give serviceId$/m);
  assert.doesNotMatch(r.stderr, /surrogateKey|ENOENT/, 'the key was read from stdin');
});

test('task reads numbers as Kestra toJson writes them: keys 9007199254740993 and 1.0 arrive exact, by every route', async (t) => {
  // Was: JSON.parse made them 9007199254740992 and 1, and those keys were purged instead.
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const doc = '{"surrogateKeys": [9007199254740993, 1.0, "x"], "soft": true}';
  const file = join(mkdtempSync(join(tmpdir(), 'kestra-props-')), 'props.json');
  writeFileSync(file, doc);
  const routes: [string, string[], Record<string, string>][] = [
    ['--props-file', ['--props-file', file], {}],
    ['--props-env', ['--props-env', 'P'], { P: doc }],
    ['--props-base64', ['--props-base64', Buffer.from(doc).toString('base64')], {}],
    ['--props', ['--props', doc], {}],
  ];
  for (const [route, flags, extra] of routes) {
    const before = s.log.length;
    const r = await cli.run(['task', 'purge.Keys', ...flags], { ...env, ...extra });
    assert.equal(r.code, 0, `${route}: ${r.stderr}`);
    const sent = s.log.slice(before).flatMap((e) => e.surrogateKeys ?? []);
    assert.deepEqual(sent.sort(), ['1.0', '9007199254740993', 'x'], route);
    const outputs = protocol(r.stdout).find((p) => p.outputs)?.outputs as {
      purgeIds: Record<string, string>;
    };
    assert.deepEqual(Object.keys(outputs.purgeIds).sort(), ['1.0', '9007199254740993', 'x'], route);
  }
  writeFileSync(file, '{"surrogateKey": 9223372036854775807}');
  const one = await cli.run(['task', 'purge.Key', '--props-file', file], env);
  assert.equal(one.code, 0, one.stderr);
  assert.ok(
    requests(s, `/service/${SERVICE}/purge/9223372036854775807`).length === 1,
    'the exact key purged',
  );
  const info = protocol(one.stdout)
    .flatMap((p) => (p.logs as { level: string; message: string }[] | undefined) ?? [])
    .find((l) => l.level === 'INFO');
  assert.match(info?.message ?? '', /^Purged key 9223372036854775807 \(purge id /);
});
