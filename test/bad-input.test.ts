import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, SERVICE, sim } from './helpers.js';

/** A flow file with a StatsTrigger whose properties are overridden by `over` (YAML lines). */
const trigger = (over: string) =>
  `id: f\nnamespace: company.ops\ntriggers:\n  - id: t\n    type: io.kestra.plugin.fastly.stats.StatsTrigger\n    apiToken: tok\n    serviceId: ${SERVICE}\n${over}\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ trigger.value }}"\n`;
const task = (body: string) => `id: f\nnamespace: company.ops\ntasks:\n${body}`;
const log = (message: string) =>
  task(`  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: "${message}"\n`);
const keys = (n: number, bad?: string) =>
  Array.from({ length: n }, (_, i) => (bad && i === n / 2 ? bad : `k${i % (n / 2)}`)).join('\n');

interface Case {
  name: string;
  args: string[];
  /** Environment on top of a valid one; null removes a variable. */
  env?: Record<string, string | null>;
  /** Files written to the case's folder ($DIR in args). */
  files?: Record<string, string>;
  stdin?: string;
  /** What the one error line must say. */
  error: RegExp;
}

/** The catalogue: one line (or a few) per bad input. Each must exit 2 with one clear line and send no request. */
const CASES: Case[] = [
  {
    name: 'missing token',
    args: ['purge', 'key', 'k'],
    env: { FASTLY_API_TOKEN: null },
    error: /FASTLY_API_TOKEN: no API token/,
  },
  {
    name: 'empty token',
    args: ['purge', 'key', 'k'],
    env: { FASTLY_API_TOKEN: '' },
    error: /FASTLY_API_TOKEN: no API token/,
  },
  {
    name: 'token with whitespace',
    args: ['purge', 'key', 'k'],
    env: { FASTLY_API_TOKEN: 'abc def' },
    error: /contains whitespace \(value hidden\)/,
  },
  {
    name: 'token with a newline',
    args: ['purge', 'key', 'k'],
    env: { FASTLY_API_TOKEN: 'abc\n' },
    error: /contains whitespace/,
  },
  {
    name: 'token not ASCII',
    args: ['purge', 'key', 'k'],
    env: { FASTLY_API_TOKEN: 'tøken' },
    error: /non-ASCII/,
  },
  {
    name: 'missing service id',
    args: ['purge', 'key', 'k'],
    env: { FASTLY_SERVICE_ID: null },
    error: /--service-id: no service ID/,
  },
  {
    name: 'service id with odd characters',
    args: ['purge', 'key', 'k', '-s', 'svc/../x'],
    error: /not a Fastly service ID/,
  },
  { name: 'empty key list', args: ['purge', 'keys'], error: /no keys given/ },
  {
    name: 'empty key file',
    args: ['purge', 'keys', '--file', '$DIR/keys.txt'],
    files: { 'keys.txt': '# nothing\n\n' },
    error: /no keys given/,
  },
  {
    name: 'missing key file',
    args: ['purge', 'keys', '--file', '$DIR/nope.txt'],
    error: /--file: cannot read .*ENOENT/,
  },
  {
    name: 'key with a space',
    args: ['purge', 'key', 'a b'],
    error: /^error: key: "a b" contains whitespace/,
  },
  {
    name: 'key over 1 KB',
    args: ['purge', 'key', 'x'.repeat(1025)],
    error: /1025 bytes; Fastly ignores keys over 1024/,
  },
  {
    name: '10,000 keys with duplicates and one bad key',
    args: ['purge', 'keys', '--file', '$DIR/k.txt'],
    files: { 'k.txt': keys(10_000, 'bad key') },
    error: /keys\[5000\] "bad key" contains whitespace/,
  },
  {
    name: 'CRLF key file with a bad key',
    args: ['purge', 'keys', '--file', '-'],
    stdin: 'a\r\nb c\r\n',
    error: /keys\[1\] "b c"/,
  },
  {
    name: 'URL without host',
    args: ['purge', 'url', 'https://'],
    error: /url: "https:\/\/" is not an absolute URL/,
  },
  { name: 'relative URL', args: ['purge', 'url', '/pricing'], error: /not an absolute URL/ },
  {
    name: 'ftp URL',
    args: ['purge', 'url', 'ftp://www.example.com/a'],
    error: /scheme "ftp"; only http and https/,
  },
  {
    name: 'non-loopback http endpoint',
    args: ['purge', 'key', 'k'],
    env: { FASTLY_API_ENDPOINT: 'http://api.example.net' },
    error: /plain http on a non-loopback host/,
  },
  {
    name: 'endpoint flag not a URL',
    args: ['purge', 'key', 'k', '--endpoint', 'api fastly'],
    error: /--endpoint: "api fastly" is not a URL/,
  },
  { name: 'soft purge-all', args: ['purge', 'all', '--soft'], error: /purge-all cannot be soft/ },
  {
    name: 'concurrency zero',
    args: ['purge', 'keys', 'a', '--concurrency', '0'],
    error: /--concurrency must be a whole number from 1 to 64/,
  },
  {
    name: 'timeout not a number',
    args: ['purge', 'key', 'k', '--timeout', 'soon'],
    error: /--timeout must be a whole number/,
  },
  {
    name: 'unknown command',
    args: ['purge', 'everything'],
    error: /unknown command 'everything'.*\(see --help\)$/m,
  },
  {
    name: 'unknown flag',
    args: ['purge', 'key', 'k', '--hard'],
    error: /unknown option '--hard'.*\(see --help\)$/m,
  },
  {
    name: 'from after to',
    args: ['stats', 'historical', '--from', 'now', '--to', 'yesterday'],
    error: /--from: .* is not before to/,
  },
  {
    name: 'unparseable from',
    args: ['stats', 'historical', '--from', 'the other day'],
    error: /--from: cannot read "the other day" as a time/,
  },
  {
    name: 'milliseconds for seconds',
    args: ['stats', 'historical', '--from', '1700000000000'],
    error: /looks like milliseconds/,
  },
  {
    name: 'by=second',
    args: ['stats', 'historical', '--by', 'second'],
    error: /--by: "second" is not a resolution; expected minute, hour or day/,
  },
  {
    name: 'minute data older than 35 days',
    args: ['stats', 'historical', '--by', 'minute', '--from', '40 days ago'],
    error: /older than 35 days/,
  },
  {
    name: 'unknown region',
    args: ['stats', 'historical', '--region', 'mars'],
    error: /--region: "mars" is not a Fastly region/,
  },
  {
    name: 'bad field name',
    args: ['stats', 'historical', '--field', 'Status 5xx'],
    error: /--field: "Status 5xx" is not a documented stats field/,
  },
  {
    name: 'unknown output format',
    args: ['stats', 'historical', '--format', 'xml'],
    error: /--format: "xml" is not a format/,
  },
  {
    name: 'month 13',
    args: ['stats', 'month-to-date', '--month', '13'],
    error: /--month must be a whole number from 1 to 12/,
  },
  {
    name: 'two-digit year',
    args: ['stats', 'month-to-date', '--year', '26'],
    error: /--year must be a whole number from 2000 to 9999/,
  },
  {
    name: 'unknown stats field in a trigger',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': trigger('    field: status_6xx\n    threshold: 5') },
    error: /field: got "status_6xx"; expected a documented stats field/,
  },
  {
    name: 'negative threshold',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': trigger('    field: requests\n    threshold: -1') },
    error: /threshold: got -1; expected a number ≥ 0/,
  },
  {
    name: 'non-numeric threshold',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': trigger('    field: requests\n    threshold: lots') },
    error: /threshold: got "lots"; expected number/,
  },
  {
    name: 'unknown comparator',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': trigger('    field: requests\n    threshold: 5\n    comparator: ABOVE') },
    error: /comparator: got "ABOVE"; expected one of GREATER_THAN/,
  },
  {
    name: 'interval 5m',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': trigger('    field: requests\n    threshold: 5\n    interval: 5m') },
    error: /interval: got "5m"; expected an ISO-8601 duration/,
  },
  {
    name: 'window of zero',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': trigger('    field: requests\n    threshold: 5\n    window: PT0S') },
    error: /window: got "PT0S"; expected a duration longer than zero/,
  },
  {
    name: 'unknown task type',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': task('  - id: a\n    type: io.kestra.plugin.fastly.purge.Everything\n') },
    error: /unknown Fastly task type/,
  },
  {
    name: 'duplicate task ids',
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml': task(
        '  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: x\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: y\n',
      ),
    },
    error: /duplicate task id 'a'/,
  },
  {
    name: 'undefined template variable',
    args: ['run', '$DIR/f.yml'],
    files: { 'f.yml': log('{{ inputs.nothing }}') },
    error: /task 'log'.*undefined variable 'inputs.nothing'/,
  },
  {
    name: 'missing secret',
    args: ['run', '$DIR/f.yml'],
    files: { 'f.yml': log("{{ secret('NOPE_NOT_SET') }}") },
    error: /Cannot find secret for key 'NOPE_NOT_SET'/,
  },
  {
    name: 'invalid base64 in SECRET_*',
    args: ['run', '$DIR/f.yml'],
    env: { SECRET_MY_KEY: '%%%notbase64' },
    files: { 'f.yml': log("{{ secret('MY_KEY') }}") },
    error: /SECRET_MY_KEY: the value is not valid base64/,
  },
  {
    name: 'YAML syntax error',
    args: ['run', '$DIR/f.yml'],
    files: { 'f.yml': 'id: f\nnamespace: a\ntasks:\n  - id: [x\n' },
    error: /f.yml:\d+:\d+: YAML syntax error/,
  },
  {
    name: 'a 50 MB flow file',
    args: ['run', '$DIR/big.yml'],
    files: { 'big.yml': `id: f\n# ${'x'.repeat(50 * 1024 * 1024)}\n` },
    error: /the flow file is 50.0 MB; the limit is 1 MB/,
  },
  {
    name: 'missing flow file',
    args: ['run', '$DIR/none.yml'],
    error: /cannot read the flow file \(ENOENT\)/,
  },
  {
    name: '--input without =',
    args: ['run', '$DIR/f.yml', '--input', 'x'],
    files: { 'f.yml': log('hi') },
    error: /--input: "x" is not key=value/,
  },
  {
    name: 'bad INT input',
    args: ['run', '$DIR/f.yml', '--input', 'n=ten'],
    files: {
      'f.yml': `id: f\nnamespace: a\ninputs:\n  - id: n\n    type: INT\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`,
    },
    error: /input 'n': "ten" is not a valid INT input; expected a whole number/,
  },
  {
    name: 'missing required input',
    args: ['run', '$DIR/f.yml'],
    files: {
      'f.yml': `id: f\nnamespace: a\ninputs:\n  - id: n\n    type: INT\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`,
    },
    error: /input 'n' \(INT\) is required/,
  },
  {
    name: 'log level unknown',
    args: ['run', '$DIR/f.yml', '--log-level', 'LOUD'],
    files: { 'f.yml': log('hi') },
    error: /--log-level: "LOUD" is not a level/,
  },
  {
    name: 'secrets file missing',
    args: ['run', '$DIR/f.yml', '--secrets-file', '$DIR/none.env'],
    files: { 'f.yml': log("{{ secret('X') }}") },
    error: /--secrets-file: cannot read/,
  },
  {
    name: 'bridge: unknown task type',
    args: ['task', 'purge.Everything'],
    error: /task: unknown type "purge.Everything"/,
  },
  {
    name: 'bridge: props not JSON',
    args: ['task', 'purge.Key', '--props', '{surrogateKey: k}'],
    error: /--props: not valid JSON/,
  },
  {
    name: 'bridge: missing property',
    args: ['task', 'purge.Key', '--props', '{}'],
    error: /purge.Key.surrogateKey: is missing; expected string/,
  },
  {
    name: 'bridge: unknown property',
    args: ['task', 'purge.Key', '--props', '{"surrogateKey":"k","hard":true}'],
    error: /unknown property hard/,
  },
  {
    name: 'executions --limit 0',
    args: ['executions', '--state-dir', '$DIR', '--limit', '0'],
    error: /--limit: "0" must be a whole number/,
  },
  // Issue 11, point 7: each reached the API or exited 1 (or 0) before.
  {
    name: 'unknown stats field',
    args: ['stats', 'historical', '--field', 'nosuch'],
    error: /--field: "nosuch" is not a documented stats field/,
  },
  {
    name: 'service id that walks up the path',
    args: ['stats', 'historical', '-s', '../purge_all'],
    error: /--service-id: "..\/purge_all" is not a Fastly service ID/,
  },
  {
    name: 'one of --services walks up the path',
    args: ['stats', 'historical', '--services', 'SU1Z0isxPaozGVKXdv0eY,../x'],
    error: /--services\[1\]: "..\/x" is not a Fastly service ID/,
  },
  { name: 'run on a folder', args: ['run', '$DIR'], error: /is a folder; expected a flow file/ },
  { name: 'validate a folder', args: ['validate', '$DIR'], error: /is a folder; expected a flow file/ },
  {
    name: 'schema into a missing folder',
    args: ['schema', '-o', '/nonexistent/s.json'],
    error: /--output: cannot write \/nonexistent\/s.json: the folder \/nonexistent does not exist/,
  },
  {
    name: 'stats output into a missing folder',
    args: ['stats', 'historical', '--format', 'csv', '-o', '/nonexistent/s.csv'],
    error: /--output: cannot write \/nonexistent\/s.csv/,
  },
  {
    name: 'stats output onto a folder',
    args: ['stats', 'usage', '-o', '$DIR'],
    error: /--output: cannot write .*: it is a folder/,
  },
  {
    name: '--failed-keys into a missing folder',
    args: ['purge', 'keys', 'a', '--failed-keys', '/nonexistent/retry.txt'],
    error: /--failed-keys: cannot write \/nonexistent\/retry.txt/,
  },
  {
    name: 'simulator fault rate above 1',
    args: ['simulator', '--fail-5xx', '2'],
    error: /--fail-5xx: "2" is not a fraction; expected a number from 0 to 1/,
  },
  {
    name: 'executions of a mistyped state folder',
    args: ['executions', '--state-dir', '/typo'],
    error: /--state-dir: \/typo is not a folder/,
  },
  {
    name: 'demo of a missing examples folder',
    args: ['demo', '--examples', '/nonexistent'],
    error: /--examples: \/nonexistent is not a folder of flows/,
  },
  {
    name: 'key with a NUL byte',
    args: ['purge', 'keys', '--file', '-'],
    stdin: 'a\nb\u0000c\n',
    error: /keys\[1\] "b\\u0000c" contains a control character/,
  },
  {
    name: 'empty serviceId from an empty secret',
    args: ['run', '$DIR/f.yml'],
    env: { EMPTY_SERVICE: '' },
    files: {
      'f.yml': task(
        '  - id: s\n    type: io.kestra.plugin.fastly.stats.Stats\n    apiToken: tok\n    serviceId: "{{ secret(\'EMPTY_SERVICE\') }}"\n',
      ),
    },
    error: /serviceId/,
  },
  {
    name: 'validate: timeout 5m',
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml': task('  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n    timeout: 5m\n'),
    },
    error: /f.yml:\d+:\d+: tasks\[0\].timeout: "5m" is not an ISO-8601 duration/,
  },
  {
    name: 'validate: from "fortnight"',
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml': task(
        '  - id: s\n    type: io.kestra.plugin.fastly.stats.Stats\n    apiToken: tok\n    from: fortnight\n',
      ),
    },
    error: /tasks\[0\].from: cannot read "fortnight" as a time/,
  },
  {
    name: 'validate: region mars',
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml': task(
        '  - id: s\n    type: io.kestra.plugin.fastly.stats.AggregateStats\n    apiToken: tok\n    region: mars\n',
      ),
    },
    error: /tasks\[0\].region: "mars" is not a Fastly region/,
  },
  {
    name: 'validate: unclosed expression',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': log('{{ unclosed ') },
    error: /tasks\[0\].message: cannot parse expression "\{\{ unclosed "/,
  },
  {
    name: 'run: an unclosed expression in a later task stops the run before the first task',
    args: ['run', '$DIR/f.yml'],
    files: {
      'f.yml': task(
        '  - id: purge\n    type: io.kestra.plugin.fastly.purge.Key\n    apiToken: tok\n    serviceId: SU1Z0isxPaozGVKXdv0eY\n    surrogateKey: k\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ unclosed "\n',
      ),
    },
    error: /tasks\[1\].message: cannot parse expression/,
  },
  // Point 8: conflicting flags are refused, not silently resolved.
  {
    name: '--format csv with --json',
    args: ['stats', 'historical', '--format', 'csv', '--json'],
    error: /--json: conflicts with --format csv/,
  },
  {
    name: '-s with --services',
    args: ['stats', 'historical', '-s', 'SU1Z0isxPaozGVKXdv0eY', '--services', '7i6HN3TK9wS159v2gPAZ8A'],
    error: /--services: conflicts with --service-id/,
  },
];

test(`bad-input catalogue: ${CASES.length} cases, each exit 2 with one clear line, no stack trace, no request`, async (t) => {
  assert.ok(CASES.length >= 75);
  const s = await sim(t);
  for (const c of CASES) {
    const dir = await mkdtemp(join(tmpdir(), 'kf-bad-'));
    for (const [name, text] of Object.entries(c.files ?? {})) await writeFile(join(dir, name), text);
    const env: Record<string, string> = {
      FASTLY_API_TOKEN: 'tok',
      FASTLY_SERVICE_ID: SERVICE,
      FASTLY_API_ENDPOINT: s.url,
    };
    for (const [k, v] of Object.entries(c.env ?? {})) {
      if (v === null) delete env[k];
      else env[k] = v;
    }
    s.clearLog();
    const r = await runCli(
      c.args.map((a) => a.replace('$DIR', dir)),
      env,
      c.stdin,
    );
    assert.equal(r.code, 2, `${c.name}: exit ${r.code}\n${r.stderr}`);
    // A run streams the execution's log lines too; every other command prints the error line alone.
    const stderr =
      c.args[0] === 'run' ? r.stderr.replace(/^\d{4}-\d\d-\d\dT\S+ +[A-Z]+ .*\n/gm, '') : r.stderr;
    assert.match(stderr, /^error: [^\n]+\n$/, `${c.name}: exactly one line, the error\n${r.stderr}`);
    assert.match(r.stderr, c.error, c.name);
    assert.ok(!/^\s+at /m.test(r.stderr), `${c.name}: no stack trace`);
    const sent = s.log.filter((e) => e.path !== '/stats/regions');
    assert.deepEqual(sent, [], `${c.name}: no request sent`);
  }
});
