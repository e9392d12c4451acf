/**
 * Every command in a real pseudo-terminal (util-linux `script`), as a user runs it: it must exit with
 * the right code soon after its last request (a hang detector: a progress bar's redraw timer once kept
 * the process alive for good), restore the cursor, and draw no bar after its result. The purges run
 * as processes of their own (the bar's race was with its lazy load in a fresh process), as do those
 * that read what is typed; the other commands in one CLI host per terminal size (pty-host.ts: a
 * process start each, 0.3 to 0.9 s of CPU, was most of this file's time), where "exits" is "leaves
 * nothing that would keep a process alive".
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Simulator } from '../src/simulator/index.js';
import { CLI, SERVICE, sim, waitForRequests } from './helpers.js';
import { type PtyHost, ptyHost } from './pty-host.js';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '../../examples');
/** Far above any real exit delay; only a hang reaches it. */
const HANG_MS = 15_000;
const HIDE = '\x1b[?25l';
const SHOW = '\x1b[?25h';
const BAR = /[█░]/g;

const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

interface PtyRun {
  code: number | null;
  /** Everything the terminal showed (stdout and stderr, as the user saw them). */
  screen: string;
}

/**
 * Runs the CLI in a pseudo-terminal; `typed.keys` are typed into it once `typed.when` resolves, or
 * once the screen shows what `typed.when` (a pattern) matches. A hang detector, an event with a
 * deadline: it rejects if the process has not exited HANG_MS after the simulator's last logged
 * request (a redraw timer that kept it alive for good), or HANG_MS × 4 after its start.
 */
function inPty(
  s: Simulator | undefined,
  args: string[],
  env: Record<string, string>,
  typed?: { when: Promise<void> | RegExp; keys: string },
  size = 'cols 120 rows 40',
): Promise<PtyRun> {
  const command = `stty ${size}; exec ${q(process.execPath)} ${q(CLI)} ${args.map((a) => (a.includes('*') ? a : q(a))).join(' ')}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  let shown: (() => void) | undefined;
  const when =
    typed?.when instanceof RegExp ? new Promise<void>((resolve) => (shown = resolve)) : typed?.when;
  const seen = (d: Buffer) => {
    screen += d.toString();
    if (typed?.when instanceof RegExp && typed.when.test(screen)) shown?.();
  };
  child.stdout.on('data', seen);
  child.stderr.on('data', seen);
  when?.then(
    () => child.stdin.write(typed?.keys ?? ''),
    () => {},
  );
  return new Promise((resolve, reject) => {
    const hung = (what: string) => () => {
      child.kill('SIGKILL');
      reject(new Error(`hung: kestra-fastly ${args.join(' ')} did not exit ${what}\n${screen}`));
    };
    const timer = setTimeout(hung(`within ${HANG_MS * 4} ms`), HANG_MS * 4);
    let afterRequest: NodeJS.Timeout | undefined;
    const state = s?.state;
    const record = state?.record.bind(state);
    if (state && record) {
      state.record = (entry) => {
        record(entry);
        clearTimeout(afterRequest);
        afterRequest = setTimeout(hung(`within ${HANG_MS} ms of its last request`), HANG_MS);
      };
    }
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(afterRequest);
      if (state && record) state.record = record;
      child.stdin.destroy();
      resolve({ code, screen });
    });
  });
}

function assertTerminalClean(name: string, r: PtyRun, result: RegExp): void {
  const hidden = r.screen.lastIndexOf(HIDE);
  if (hidden >= 0) assert.ok(r.screen.lastIndexOf(SHOW) > hidden, `${name}: cursor restored\n${r.screen}`);
  const at = r.screen.search(result);
  assert.ok(at >= 0, `${name}: shows its result ${result}\n${r.screen}`);
  const bars = [...r.screen.matchAll(BAR)];
  const lastBar = bars.at(-1)?.index ?? -1;
  assert.ok(lastBar < at, `${name}: no bar drawn after the result\n${JSON.stringify(r.screen.slice(at))}`);
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/**
 * The commands that need a terminal of a size but not a fresh process, in one CLI host per size
 * (pty-host.ts) for the whole file: a process start each was 0.3 to 0.9 s of CPU. Started here, at
 * the top level, so that they stop after the file's tests, not after the first test to use them.
 */
const hosts = new Map(
  ['cols 120 rows 40', 'cols 80 rows 40'].map((size) => {
    const host = ptyHost(undefined, size, HANG_MS * 4);
    host.catch(() => {});
    return [size, host];
  }),
);
const terminalOf = (size: 'cols 120 rows 40' | 'cols 80 rows 40') => hosts.get(size) as Promise<PtyHost>;

test('in a pseudo-terminal every command exits with the right code, restores the cursor, draws no bar after its result', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 100 } });
  const dir = await mkdtemp(join(tmpdir(), 'kf-pty-'));
  await writeFile(
    join(dir, 'bad.yml'),
    'id: f\nnamespace: a\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ unclosed "\n',
  );
  const env = {
    FASTLY_API_TOKEN: 'tok',
    FASTLY_SERVICE_ID: SERVICE,
    FASTLY_API_ENDPOINT: s.url,
    SECRET_FASTLY_API_TOKEN: b64('tok'),
    SECRET_FASTLY_SERVICE_ID: b64(SERVICE),
  };
  const keys = Array.from({ length: 5000 }, (_, i) => `k${i}`);
  const window = ['--from', '1 day ago', '--by', 'hour'];
  const minuteAgo = Math.floor(Date.now() / 60_000) * 60 - 60;
  const formats = ['table', 'csv', 'ndjson', 'json'];
  const statsCommands: [string[], RegExp][] = [
    [['historical', ...window], /time \(UTC\)|service_id|"start_time"|"data"/],
    [['aggregate', ...window], /time \(UTC\)|start_time,|"start_time"|"data"/],
    [['usage', '--from', '2 days ago'], /region|"data"/],
    [['month-to-date'], /service|"data"/],
    [['regions'], /region|"data"/],
  ];
  const purges: [string, string[], number, RegExp][] = [
    ['purge url', ['purge', 'url', 'https://www.example.com/'], 0, /Purged https:\/\/www.example.com\//],
    ['purge key', ['purge', 'key', 'k1'], 0, /Purged key k1/],
    ['purge keys', ['purge', 'keys', ...keys, '--concurrency', '2'], 0, /Purged 5000 keys in 20 requests/],
    [
      'purge keys (unknown service)',
      ['purge', 'keys', ...keys, '-s', 'NoSuchService1'],
      1,
      /error: purge.Keys: 0 of 5000/,
    ],
    ['purge all', ['purge', 'all', '--yes'], 0, /Purged all content/],
  ];
  const hosted: [string, string[], number, RegExp][] = [
    ...statsCommands.flatMap(([args, result]) =>
      formats.map(
        (f) =>
          [`stats ${args[0]} --format ${f}`, ['stats', ...args, '--format', f], 0, result] as [
            string,
            string[],
            number,
            RegExp,
          ],
      ),
    ),
    [
      'stats historical -o',
      [
        'stats',
        'historical',
        '--by',
        'minute',
        // Whole minutes: with a relative "1 day ago" the last bucket is complete or not depending on
        // whether the minute turns while the pages are fetched (1440 or 1441 points, both right).
        '--from',
        String(minuteAgo - 86400),
        '--to',
        String(minuteAgo),
        '--concurrency',
        '1',
        '--format',
        'csv',
        '-o',
        join(dir, 'out.csv'),
      ],
      0,
      /Wrote 1440 points/,
    ],
    ['run', ['run', join(EXAMPLES, 'purge_homepage.yml')], 0, /SUCCESS/],
    // As the shell expands `examples/*.yml`.
    [
      'validate',
      ['validate', ...readdirSync(EXAMPLES).flatMap((f) => (f.endsWith('.yml') ? [join(EXAMPLES, f)] : []))],
      0,
      /✓ .*purge_homepage.yml/,
    ],
    ['validate (bad flow)', ['validate', join(dir, 'bad.yml')], 2, /error: .*cannot parse expression/],
    ['schema', ['schema'], 0, /"\$schema"/],
    ['executions', ['executions', '--state-dir', dir], 0, /no executions yet/],
    ['demo', ['demo'], 0, /The simulator answered \d+ API requests/],
  ];
  // Against an API that answers at once, a bulk purge ends before a lazily loaded bar would exist:
  // the bar's stop came first, then the bar started and its redraw timer kept the process alive.
  const fast = await sim(t);
  for (const n of [256, 4096, 20_000]) {
    const file = join(dir, `fast-${n}.txt`);
    await writeFile(file, Array.from({ length: n }, (_, i) => `fast-${i}`).join('\n'));
    const r = await inPty(fast, ['purge', 'keys', '--file', file], { ...env, FASTLY_API_ENDPOINT: fast.url });
    assert.equal(r.code, 0, r.screen);
    assertTerminalClean(`purge keys of ${n} keys, fast API`, r, new RegExp(`Purged ${n} keys`));
  }
  for (const [name, args, code, result] of purges) {
    const r = await inPty(s, args, env);
    assert.equal(r.code, code, `${name}: exit ${r.code}\n${r.screen}`);
    assertTerminalClean(name, r, result);
  }
  const terminal = await terminalOf('cols 120 rows 40');
  for (const [name, args, code, result] of hosted) {
    const r = await terminal.run(args, env);
    assert.equal(r.code, code, `${name}: exit ${r.code}\n${r.screen}`);
    assertTerminalClean(name, r, result);
  }
});

test('Ctrl-C in a pseudo-terminal during purge keys: the account, the cursor back, exit 130', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 200 } });
  const keys = Array.from({ length: 5000 }, (_, i) => `k${i}`);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const started = waitForRequests(s, (p) => p === `/service/${SERVICE}/purge`, 2);
  const r = await inPty(s, ['purge', 'keys', ...keys, '--concurrency', '1'], env, {
    when: started,
    keys: '\x03',
  });
  assert.equal(r.code, 130, r.screen);
  assertTerminalClean('purge keys + Ctrl-C', r, /✗ Purged \d+ keys; \d+ not purged/);
  assert.match(r.screen, /error: purge.Keys: \d+ of 5000 keys purged; sending interrupted by SIGINT/);
});

test('--chart in a pseudo-terminal of 0 columns (script without stty) is drawn 80 columns wide, as for a pipe', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  // 180 minutes: more points than columns, so the plot is as wide as the chart may be.
  const args = ['stats', 'historical', '--by', 'minute', '--from', '3 hours ago', '--chart', 'requests'];
  /** The plot's columns: the time axis's length after its corner. */
  const plotColumns = (screen: string) => {
    const axis = screen.split(/\r?\n/).find((line) => line.includes('└')) ?? '';
    return [...(axis.split('└')[1] ?? '').replace(/\x1b\[[\d;]*m/g, '').trimEnd()].length;
  };
  const unsized = await inPty(s, args, env, undefined, 'cols 0 rows 0');
  assert.equal(unsized.code, 0, unsized.screen);
  // 80 columns, less the 14 of the labels.
  assert.equal(plotColumns(unsized.screen), 66, unsized.screen);
  const sized = await (await terminalOf('cols 120 rows 40')).run(args, env);
  assert.equal(sized.code, 0, sized.screen);
  assert.equal(plotColumns(sized.screen), 100, sized.screen);
});

test('purge all on a terminal asks first: y purges, n or Ctrl-D purges nothing (exit 1), -y asks nothing', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 100 }, purgeAllIntervalSeconds: 0 });
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const question = new RegExp(`Purge ALL cached content of ${SERVICE} \\(FASTLY_SERVICE_ID\\)\\? \\[y/N\\] `);
  const purges = () => s.log.filter((e) => e.path === `/service/${SERVICE}/purge_all`).length;
  for (const [answer, code, before] of [
    ['n\n', 1, 0],
    ['\n', 1, 0],
    ['\x04', 1, 0],
    ['yes\n', 0, 1],
  ] as const) {
    const r = await inPty(s, ['purge', 'all'], env, { when: question, keys: answer });
    assert.equal(r.code, code, `${JSON.stringify(answer)}: exit ${r.code}\n${r.screen}`);
    assert.match(r.screen, question);
    // The question and the error fit an 80-column terminal (were 87 and 82 characters).
    for (const line of r.screen.split(/\r?\n/)) assert.ok(line.length <= 80, `${line.length}: ${line}`);
    if (code === 1)
      assert.match(r.screen, /error: purge all: not confirmed; nothing purged \(-y skips the question\)/);
    else assert.match(r.screen, /✓ Purged all content/);
    assert.equal(purges(), before, `${JSON.stringify(answer)}: purge_all requests`);
    s.clearLog();
  }
  const terminal = await terminalOf('cols 80 rows 40');
  for (const flag of ['-y', '--auto-yes', '--yes']) {
    const r = await terminal.run(['purge', 'all', flag], env);
    assert.equal(r.code, 0, r.screen);
    assert.doesNotMatch(r.screen, /\[y\/N\]/, flag);
    assert.match(r.screen, /✓ Purged all content/, flag);
  }
  // Ctrl-C at the question: interrupted, nothing sent.
  s.clearLog();
  const r = await inPty(s, ['purge', 'all', '-s', SERVICE], env, { when: /\[y\/N\] /, keys: '\x03' });
  assert.equal(r.code, 130, r.screen);
  // The error starts a line of its own (was `^Cerror: …` on the question's line).
  assert.match(r.screen, /\[y\/N\] (\^C)?\r?\nerror: /);
  assert.doesNotMatch(
    r.screen,
    /FASTLY_SERVICE_ID/,
    'a service given by -s is not said to come from the environment',
  );
  assert.equal(purges(), 0);
});

test('purge keys --file - on a terminal says it reads keys and how to end; the typed keys are purged', async (t) => {
  const s = await sim(t, { faults: { latencyMs: 100 } });
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const hint = /Reading keys from the terminal, one per line; end with Ctrl-D \(Ctrl-C cancels\)/;
  const r = await inPty(s, ['purge', 'keys', '--file', '-'], env, { when: hint, keys: 'k1\nk2\n\x04' });
  assert.equal(r.code, 0, r.screen);
  assert.match(r.screen, /✓ Purged 2 keys in 1 request/);
});

test('stats historical in an 80-column terminal: no line wraps; left-out fields are named on stderr', async (t) => {
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_SERVICE_ID: SERVICE, FASTLY_API_ENDPOINT: s.url };
  const window = ['--by', 'hour', '--from', '6 hours ago'];
  const strip = (text: string) => text.replace(/\x1b\[[\d;?]*[A-Za-z]/g, '');
  const terminal = await terminalOf('cols 80 rows 40');
  const many = await terminal.run(['stats', 'historical', '--all-services', ...window], env);
  assert.equal(many.code, 0, many.screen);
  for (const line of strip(many.screen).split(/\r?\n/))
    assert.ok([...line].length <= 80, `${[...line].length}: ${line}`);
  assert.match(many.screen, /note: status_5xx left out to fit 80 columns \(see --field, --format csv\)/);
  const one = await terminal.run(['stats', 'historical', ...window], env);
  assert.equal(one.code, 0, one.screen);
  assert.match(
    strip(one.screen),
    /^time \(UTC\)\s+requests\s+hits\s+miss\s+hit_ratio\s+bandwidth\s+status_5xx$/m,
  );
  assert.doesNotMatch(one.screen, /left out/);
});

test('stats month-to-date in an 80-column terminal: no line wraps, with --billable-units too', async (t) => {
  // Was: 87 and 102 columns, each row wrapping; fitted as the historical tables are.
  const s = await sim(t);
  const env = { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url };
  const strip = (text: string) => text.replace(/\x1b\[[\d;?]*[A-Za-z]/g, '');
  for (const extra of [[], ['--billable-units']]) {
    const r = await (await terminalOf('cols 80 rows 40')).run(['stats', 'month-to-date', ...extra], env);
    assert.equal(r.code, 0, r.screen);
    const lines = strip(r.screen).split(/\r?\n/);
    for (const line of lines) assert.ok([...line].length <= 80, `${[...line].length}: ${line}`);
    assert.ok(
      lines.some((l) => /^SU1Z0isxP… +www +usa /.test(l)),
      'the service id cut with an ellipsis',
    );
    if (extra.length)
      assert.match(r.screen, /note: compute_requests left out to fit 80 columns \(see --format csv\)/);
    else assert.doesNotMatch(r.screen, /left out/);
  }
});

test('executions in an 80-column terminal: no line wraps; the id cut, the trigger value named on stderr', async () => {
  // Was: 93 columns at `stty cols 80`, each row wrapping at its `value=326`.
  const dir = await mkdtemp(join(tmpdir(), 'kf-pty-executions-'));
  const id = '4wjLmNbQ2kR9sT7uVxYz1a';
  const record = {
    id,
    namespace: 'company.ops',
    flowId: 'purge_spike',
    state: 'SUCCESS',
    outputs: {},
    startDate: '2026-11-21T10:00:05.000Z',
    endDate: '2026-11-21T10:00:06.000Z',
    durationMs: 1000,
    trigger: { value: 326 },
  };
  await writeFile(join(dir, 'executions.jsonl'), `${JSON.stringify(record)}\n`);
  const strip = (text: string) => text.replace(/\x1b\[[\d;?]*[A-Za-z]/g, '');
  const narrow = await (await terminalOf('cols 80 rows 40')).run(['executions', '--state-dir', dir], {});
  assert.equal(narrow.code, 0, narrow.screen);
  const lines = strip(narrow.screen).split(/\r?\n/);
  for (const line of lines) assert.ok([...line].length <= 80, `${[...line].length}: ${line}`);
  assert.ok(
    lines.some((l) => /^2026-11-21T10:00:05\.000Z +SUCCESS +company\.ops\.purge_spike +4wjLmNbQ2…$/.test(l)),
    strip(narrow.screen),
  );
  assert.match(narrow.screen, /note: trigger value and error left out to fit 80 columns \(see --json\)/);
  // A terminal wide enough shows the row whole, as a pipe does (cli-executions.test.ts).
  const wide = await (await terminalOf('cols 120 rows 40')).run(['executions', '--state-dir', dir], {});
  assert.equal(wide.code, 0, wide.screen);
  assert.match(strip(wide.screen), new RegExp(`purge_spike  ${id}  value=326\\r?$`, 'm'));
  assert.doesNotMatch(wide.screen, /left out/);
});
