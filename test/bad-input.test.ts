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
    error: /surrogateKey: "a b" contains whitespace/,
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
    error: /surrogateKeys\[5000\] "bad key" contains whitespace/,
  },
  {
    name: 'CRLF key file with a bad key',
    args: ['purge', 'keys', '--file', '-'],
    stdin: 'a\r\nb c\r\n',
    error: /surrogateKeys\[1\] "b c"/,
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
    error: /baseUrl: "api fastly" is not a URL/,
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
  { name: 'unknown command', args: ['purge', 'everything'], error: /unknown command 'everything'/ },
  { name: 'unknown flag', args: ['purge', 'key', 'k', '--hard'], error: /unknown option '--hard'/ },
  {
    name: 'from after to',
    args: ['stats', 'historical', '--from', 'now', '--to', 'yesterday'],
    error: /from: .* is not before to/,
  },
  {
    name: 'unparseable from',
    args: ['stats', 'historical', '--from', 'the other day'],
    error: /from: cannot read "the other day" as a time/,
  },
  {
    name: 'milliseconds for seconds',
    args: ['stats', 'historical', '--from', '1700000000000'],
    error: /looks like milliseconds/,
  },
  {
    name: 'by=second',
    args: ['stats', 'historical', '--by', 'second'],
    error: /by: "second" is not a resolution; expected minute, hour or day/,
  },
  {
    name: 'minute data older than 35 days',
    args: ['stats', 'historical', '--by', 'minute', '--from', '40 days ago'],
    error: /older than 35 days/,
  },
  {
    name: 'unknown region',
    args: ['stats', 'historical', '--region', 'mars'],
    error: /region: "mars" is not a Fastly region/,
  },
  {
    name: 'bad field name',
    args: ['stats', 'historical', '--field', 'Status 5xx'],
    error: /field: "Status 5xx" is not a stats field name/,
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
    name: 'malformed stats field name in a trigger',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': trigger('    field: Status 5xx\n    threshold: 5') },
    error: /field: got "Status 5xx"; expected a stats field name/,
  },
  {
    name: 'threshold that is a list',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': trigger('    field: requests\n    threshold: [5]') },
    error: /threshold: got \[5\]; expected number/,
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
];

test(`bad-input catalogue: ${CASES.length} cases, each exit 2 with one clear line, no stack trace, no request`, async (t) => {
  assert.ok(CASES.length >= 40);
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
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('(add --help'));
    assert.equal(r.code, 2, `${c.name}: exit ${r.code}\n${r.stderr}`);
    assert.equal(
      lines.filter((l) => l.startsWith('error: ')).length,
      1,
      `${c.name}: one error line\n${r.stderr}`,
    );
    assert.match(r.stderr, c.error, c.name);
    assert.ok(!/^\s+at /m.test(r.stderr), `${c.name}: no stack trace`);
    const sent = s.log.filter((e) => e.path !== '/stats/regions');
    assert.deepEqual(sent, [], `${c.name}: no request sent`);
  }
});
