import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeFlows } from '../src/server/index.js';
import { history, unfinished } from './history.js';
import { apiServerInProcess } from './api-server.js';
import { cliHost } from './cli-host.js';
import { requests, runCli, SERVICE, sim } from './helpers.js';

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
  /** What stdout must be, when it matters (validate's ✓ lines). */
  stdout?: string;
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
    error: /FASTLY_API_TOKEN: the variable is set but empty/,
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
    error: /^error: --file: \S+\/keys\.txt has no keys \(blank lines and # comments are skipped\)\n$/,
  },
  {
    name: 'empty stdin key file',
    args: ['purge', 'keys', '--file', '-'],
    stdin: '\n# none\n',
    error: /^error: --file: stdin has no keys/,
  },
  {
    name: 'bad keys among the arguments and in the file, each named where it was given',
    args: ['purge', 'keys', 'ok', 'x\u0001y', '--file', '$DIR/k.txt'],
    files: { 'k.txt': '# keys\ngood\n\nbad key\n' },
    error:
      /^error: keys\[1\] "x\\u0001y" contains a control character \(NUL, escape…\); --file \S+\/k\.txt:4 "bad key" contains whitespace \(Fastly separates keys by spaces\)\n$/,
  },
  {
    name: 'a key that is not valid UTF-8 (a replaced byte)',
    args: ['purge', 'keys', 'caf\uFFFD'],
    error: /^error: keys\[0\] \S+ is not valid UTF-8 \(U\+FFFD, a replaced byte\)\n$/,
  },
  {
    name: 'a URL with a newline in it',
    args: ['purge', 'url', 'https://www.example.com/a\nb'],
    error:
      /^error: url: \S+ contains a control character \(newline, tab, escape…\); expected a URL as sent over HTTP\n$/,
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
    error: /--file \S+\/k\.txt:5001 "bad key" contains whitespace/,
  },
  {
    name: 'CRLF key file with a bad key',
    args: ['purge', 'keys', '--file', '-'],
    stdin: 'a\r\nb c\r\n',
    error: /^error: --file stdin:2 "b c"/,
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
    error: /^error: --concurrency: "0" is out of range; expected a whole number from 1 to 64\n$/,
  },
  {
    name: 'timeout not a number',
    args: ['purge', 'key', 'k', '--timeout', 'soon'],
    error: /^error: --timeout: "soon" is not a whole number; expected a whole number from 1 to 600000\n$/,
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
    // In the CLI's syntax, not a flow's (was: `use by: hour or day`).
    error:
      /^error: --from: \S+ is older than 35 days; Fastly keeps minute data 35 days \(use --by hour or --by day\)\n$/,
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
    error: /^error: --month: "13" is out of range; expected a whole number from 1 to 12\n$/,
  },
  {
    name: 'two-digit year',
    args: ['stats', 'month-to-date', '--year', '26'],
    error: /^error: --year: "26" is out of range; expected a whole number from 2000 to 9999\n$/,
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
    name: "a webhook's responseCode that is not a status",
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml': `id: f\nnamespace: company.ops\ntriggers:\n  - id: hook\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: abcdefgh\n    wait: true\n    returnOutputs: true\n    responseCode: abc\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`,
    },
    error:
      /^error: \S+f\.yml:9:19: triggers\[0\]\.responseCode: got "abc"; expected an HTTP status \(a whole number from 100 to 599\) or an expression\n$/,
  },
  {
    name: "a webhook's responseCode out of range",
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml': `id: f\nnamespace: company.ops\ntriggers:\n  - id: hook\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: abcdefgh\n    wait: true\n    returnOutputs: true\n    responseCode: "700"\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`,
    },
    error:
      /triggers\[0\]\.responseCode: got "700"; expected an HTTP status \(a whole number from 100 to 599\)/,
  },
  {
    name: 'a flow output whose literal value is not of its type',
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml':
        task(`  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`) +
        `outputs:\n  - id: count\n    type: INT\n    value: "x"\n`,
    },
    error:
      /^error: \S+f\.yml:10:12: outputs\[0\]\.value: "x" is not a valid INT output; expected a whole number from -2147483648 to 2147483647 \(a Java Integer, as in Kestra\)\n$/,
  },
  {
    name: 'a flow output whose literal value is not a date-time',
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml':
        task(`  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`) +
        `outputs:\n  - id: count\n    type: DATETIME\n    value: yesterday\n`,
    },
    error:
      /outputs\[0\]\.value: "yesterday" is not a valid DATETIME output; expected an ISO-8601 instant with a time and a zone/,
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
    name: 'run: an undefined root variable is refused before the first task, naming what is defined',
    args: ['run', '$DIR/f.yml'],
    files: { 'f.yml': log('{{ nothing }}') },
    error:
      /f\.yml:6:14: tasks\[0\]\.message: "\{\{ nothing \}\}" uses 'nothing', which is not defined here; defined: flow, execution, inputs/,
  },
  {
    name: 'run: vars.<name> without a variables block is refused before the first task, as validate does',
    args: ['run', '$DIR/f.yml'],
    files: { 'f.yml': log('{{ vars.nothing }}') },
    error: /f\.yml:6:14: tasks\[0\]\.message: "\{\{ vars\.nothing \}\}" uses vars\.nothing/,
  },
  {
    name: 'validate: vars.<name> without a variables block, which run refuses at the task',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': log('{{ vars.nope }}') },
    error:
      /f\.yml:6:14: tasks\[0\]\.message: "\{\{ vars\.nope \}\}" uses vars\.nope, which the flow's variables do not define; it has no variables block/,
    stdout: '',
  },
  {
    name: 'validate: vars.<name> that the variables block does not define',
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml': `variables:\n  env: prod\n${log("{{ vars.envv }} {{ vars.env }} {{ vars.other ?? 'x' }}")}`,
    },
    error: /uses vars\.envv, which the flow's variables do not define; its variables: env\n$/,
  },
  {
    name: 'validate: a missing property whose type is a choice names what it accepts',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': task('  - id: log\n    type: io.kestra.plugin.core.log.Log\n') },
    error: /f\.yml:4:5: tasks\[0\]\.message: is missing; expected string or array\n$/,
  },
  {
    name: 'an input the flow does not declare',
    args: ['validate', '$DIR/f.yml'],
    files: { 'f.yml': log('{{ inputs.nothing }}') },
    error:
      /tasks\[0\]\.message: "\{\{ inputs\.nothing \}\}" uses input 'nothing', which the flow does not declare/,
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
    error: /^error: --limit: "0" is out of range; expected a whole number of 1 or more\n$/,
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
  // The stats trial: each ran with exit 0 before.
  {
    name: '--services with an empty entry',
    args: ['stats', 'historical', '--services', 'SU1Z0isxPaozGVKXdv0eY,,7i6HN3TK9wS159v2gPAZ8A'],
    error: /--services: ".*,,.*" has an empty entry; expected comma-separated service IDs/,
  },
  {
    name: '--services empty',
    args: ['stats', 'historical', '--services', ''],
    error: /^error: --services: "" is empty; expected a value \(<ids>\), or leave --services out\n$/,
  },
  {
    name: '--from empty',
    args: ['stats', 'historical', '--from', ''],
    error:
      /^error: --from: "" is empty; expected Unix seconds, ISO-8601 or e.g. "24 hours ago", or leave --from out\n$/,
  },
  {
    name: '--to empty',
    args: ['stats', 'aggregate', '--to', ' '],
    error: /--to: " " is empty/,
  },
  {
    name: '--datacenter not a POP code',
    args: ['stats', 'historical', '--datacenter', 'LHR,!!'],
    error: /--datacenter: "LHR,!!" has "!!", not a POP code; expected comma-separated three-letter POP codes/,
  },
  {
    name: '--datacenter with an empty entry',
    args: ['stats', 'aggregate', '--datacenter', 'LHR,'],
    error: /--datacenter: "LHR," has an empty entry/,
  },
  {
    name: 'month-to-date of a year not begun, month left out',
    args: ['stats', 'month-to-date', '--year', '2099'],
    error: /--year: 2099-\d\d has not begun; expected this month/,
  },
  {
    name: 'purge url --verify with an edge endpoint that is not a URL',
    args: ['purge', 'url', 'https://www.example.com/', '--verify'],
    env: { KESTRA_FASTLY_EDGE_ENDPOINT: 'notaurl' },
    error: /KESTRA_FASTLY_EDGE_ENDPOINT: "notaurl" is not an http\(s\) URL/,
  },
  {
    name: 'month-to-date of a month not begun',
    args: ['stats', 'month-to-date', '--year', '2099', '--month', '1'],
    error: /--month: 2099-01 has not begun; expected this month \(\d{4}-\d\d\) or an earlier one/,
  },
  { name: 'run on a folder', args: ['run', '$DIR'], error: /is a folder; expected a flow file/ },
  {
    name: 'validate a folder without flows',
    args: ['validate', '$DIR'],
    files: { 'notes.txt': 'x' },
    error: /: no flow files \(\*\.yml, \*\.yaml\) in this folder/,
  },
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
    name: 'empty --failed-keys',
    args: ['purge', 'keys', 'a', '--failed-keys', ''],
    error: /^error: --failed-keys: "" is empty; expected a value \(<file>\), or leave --failed-keys out\n$/,
  },
  {
    name: 'empty --file',
    args: ['purge', 'keys', '--file', ''],
    error: /^error: --file: "" is empty; expected a value \(<path>\), or leave --file out\n$/,
  },
  {
    name: 'empty --endpoint',
    args: ['purge', 'key', 'k1', '--endpoint', ''],
    error: /^error: --endpoint: "" is empty; expected a value \(<url>\), or leave --endpoint out\n$/,
  },
  {
    name: 'simulator latency jitter not a number',
    args: ['simulator', '--latency-jitter', 'lots'],
    error:
      /^error: --latency-jitter: "lots" is not a whole number; expected a whole number from 0 to 60000\n$/,
  },
  {
    name: 'simulator fault rate above 1',
    args: ['simulator', '--fail-5xx', '2'],
    error: /--fail-5xx: "2" is not a fraction; expected a number from 0 to 1/,
  },
  // cli19, finding 2: a chart is for the terminal; with another output asked for, one was dropped.
  ...(
    [
      [['--format', 'csv'], '--format csv'],
      [['--format', 'ndjson'], '--format ndjson'],
      [['--format', 'json'], '--format json'],
      [['--json'], '--json'],
      [['-o', '$DIR/chart.txt'], '-o/--output \\S+/chart\\.txt'],
    ] as const
  ).map(([extra, named]) => ({
    name: `--chart with ${extra.join(' ')}`,
    args: ['stats', 'historical', '--chart', 'requests', ...extra],
    error: new RegExp(
      `^error: --chart: conflicts with ${named}; a chart is drawn on the terminal only \\(leave out one of them\\)\\n$`,
    ),
  })),
  // cli19, finding 3: every number flag of every command in our words, not commander's.
  ...(
    [
      [['stats', 'historical', '--concurrency', '0'], '--concurrency', '0', 'out of range', '1 to 64'],
      [['stats', 'historical', '--timeout', '-5'], '--timeout', '-5', 'out of range', '1 to 600000'],
      [['stats', 'aggregate', '--max-attempts', '0'], '--max-attempts', '0', 'out of range', '1 to 20'],
      [['stats', 'month-to-date', '--year', 'abc'], '--year', 'abc', 'not a whole number', '2000 to 9999'],
      [['stats', 'month-to-date', '--month', '1.5'], '--month', '1.5', 'not a whole number', '1 to 12'],
      [['purge', 'keys', 'a', '--concurrency', '65'], '--concurrency', '65', 'out of range', '1 to 64'],
      [['purge', 'key', 'k', '--max-attempts', 'x'], '--max-attempts', 'x', 'not a whole number', '1 to 20'],
      [['simulator', '--port', '70000'], '--port', '70000', 'out of range', '0 to 65535'],
      [['simulator', '--seed', '-1'], '--seed', '-1', 'out of range', '0 to 2147483648'],
      [['simulator', '--latency', '1e3'], '--latency', '1e3', 'not a whole number', '0 to 60000'],
      [['simulator', '--services', '0'], '--services', '0', 'out of range', '1 to 10000'],
      [
        ['executions', '--state-dir', '$DIR', '-n', 'ten'],
        '--limit',
        'ten',
        'not a whole number',
        'of 1 or more',
      ],
    ] as const
  ).map(([args, flag, value, what, range]) => ({
    name: `${args.join(' ')}`,
    args: [...args],
    error: new RegExp(
      `^error: ${flag}: "${value.replace('.', '\\.')}" is ${what}; expected a whole number ${range.startsWith('of') ? range : `from ${range}`}\\n$`,
    ),
  })),
  // cli19, finding 4: a single-valued flag given twice, or given empty, is refused on every command.
  ...(
    [
      [['stats', 'historical', '--format', 'table', '--format', 'csv'], '--format', '"table", "csv"'],
      [['stats', 'historical', '--by', 'hour', '--by', 'day'], '--by', '"hour", "day"'],
      [['stats', 'historical', '--field', 'requests', '--field', 'hits'], '--field', '"requests", "hits"'],
      [['stats', 'aggregate', '-o', '$DIR/a', '--output', '$DIR/b'], '--output', '"\\S+/a", "\\S+/b"'],
      [['stats', 'usage', '--region', 'usa', '--region', 'europe'], '--region', '"usa", "europe"'],
      [['stats', 'month-to-date', '--month', '1', '--month', '2'], '--month', '"1", "2"'],
      [['stats', 'regions', '--token', 'secret-one', '--token', 'secret-two'], '--token', 'values hidden'],
      [['purge', 'key', 'k', '--timeout', '1000', '--timeout', '2000'], '--timeout', '"1000", "2000"'],
      [['purge', 'keys', 'a', '-s', 'svc1', '--service-id', 'svc2'], '--service-id', '"svc1", "svc2"'],
      [['schema', '-o', '$DIR/a', '-o', '$DIR/b'], '--output', '"\\S+/a", "\\S+/b"'],
      [['executions', '--state-dir', '$DIR', '--state-dir', '$DIR'], '--state-dir', '"\\S+", "\\S+"'],
      // T6: the passwords of database URLs given twice read *** as in every other database error.
      [
        [
          'server',
          '$DIR/f.yml',
          '--database-url',
          'postgres://a:pw1@h/d',
          '--database-url',
          'postgres://b@h/d?password=pw2',
        ],
        '--database-url',
        '"postgres://a:\\*\\*\\*@h/d", "postgres://b@h/d\\?password=\\*\\*\\*"',
      ],
      [['simulator', '--port', '1', '--port', '2'], '--port', '"1", "2"'],
      [
        ['run', '$DIR/f.yml', '--log-level', 'INFO', '--log-level', 'DEBUG'],
        '--log-level',
        '"INFO", "DEBUG"',
      ],
    ] as const
  ).map(([args, flag, values]) => ({
    name: `${args.join(' ')}`,
    args: [...args],
    error: new RegExp(`^error: ${flag}: given twice \\(${values}\\); expected once\\n$`),
  })),
  ...(
    [
      [['stats', 'historical', '--by', ''], '--by', '""', '<resolution>'],
      [['stats', 'historical', '-o', ''], '--output', '""', '<file>'],
      [['stats', 'historical', '--field', ''], '--field', '""', '<fields>'],
      [['stats', 'historical', '--chart', ' '], '--chart', '" "', '<field>'],
      [['stats', 'historical', '--region', ''], '--region', '""', '<region>'],
      [['stats', 'aggregate', '--datacenter', ''], '--datacenter', '""', '<pops>'],
      [['stats', 'usage', '--format', ''], '--format', '""', '<format>'],
      [['purge', 'key', 'k', '-s', ''], '--service-id', '""', '<id>'],
      [['schema', '-o', ''], '--output', '""', '<file>'],
      [['task', 'purge.Key', '--props', ''], '--props', '""', '<json>'],
      [['simulator', '--host', ''], '--host', '""', '<addr>'],
    ] as const
  ).map(([args, flag, value, placeholder]) => ({
    name: `${args.join(' ')} (empty)`,
    args: [...args],
    error: new RegExp(
      `^error: ${flag}: ${value} is empty; expected a value \\(${placeholder}\\), or leave ${flag} out\\n$`,
    ),
  })),
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
    error: /--file stdin:2 "b\\u0000c" contains a control character/,
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
    error: /f.yml:\d+:\d+: tasks\[0\].timeout: got "5m"; expected an ISO-8601 duration/,
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
    // Was: every service of the account, silently, though --help says one service; purge refuses.
    name: 'stats historical with neither -s nor FASTLY_SERVICE_ID',
    args: ['stats', 'historical', '--by', 'hour'],
    env: { FASTLY_SERVICE_ID: null },
    error:
      /^error: --service-id: no service ID; pass -s ID or set FASTLY_SERVICE_ID \(or --services A,B, or --all-services for every service\)$/m,
  },
  {
    name: '-s with --services',
    args: ['stats', 'historical', '-s', 'SU1Z0isxPaozGVKXdv0eY', '--services', '7i6HN3TK9wS159v2gPAZ8A'],
    error: /--services: conflicts with --service-id/,
  },
  {
    name: 'server --listen not HOST:PORT',
    args: ['server', '$DIR/f.yml', '--state-dir', '$DIR/s', '--listen', 'localhost'],
    files: { 'f.yml': log('hi') },
    error: /--listen: "localhost" is not HOST:PORT; expected e\.g\. 127\.0\.0\.1:8080/,
  },
  {
    name: 'server --listen port out of range',
    args: ['server', '$DIR/f.yml', '--state-dir', '$DIR/s', '--listen', '127.0.0.1:99999'],
    files: { 'f.yml': log('hi') },
    error:
      /^error: --listen: "127\.0\.0\.1:99999" is out of range \(port 99999\); expected a port from 0 to 65535 \(0 picks a free one\)\n$/,
  },
  {
    name: 'server --listen off loopback without a token',
    args: ['server', '$DIR/f.yml', '--state-dir', '$DIR/s', '--listen', '0.0.0.0:8080'],
    files: { 'f.yml': log('hi') },
    error: /--listen: "0\.0\.0\.0:8080" is not a loopback address; listening there requires --api-token/,
  },
  {
    name: 'server --database-url not PostgreSQL, its password never shown',
    args: [
      'server',
      '$DIR/f.yml',
      '--state-dir',
      '$DIR/s',
      '--database-url',
      'mysql://app:s3cret-pw@db.internal/kf',
    ],
    files: { 'f.yml': log('hi') },
    error:
      /^(?![^]*s3cret-pw)error: --database-url: "mysql:\/\/app:\*\*\*@db\.internal\/kf" is not allowed \(scheme mysql:\); expected postgres:\/\/USER\[:PASSWORD\]@HOST\[:PORT\]\/DATABASE \(or postgresql:\/\/\)\n$/,
  },
  {
    name: 'server KESTRA_FASTLY_DATABASE_URL without a database',
    args: ['server', '$DIR/f.yml', '--state-dir', '$DIR/s'],
    env: { KESTRA_FASTLY_DATABASE_URL: 'postgres://app:s3cret-pw@db.internal:5432' },
    files: { 'f.yml': log('hi') },
    error:
      /^(?![^]*s3cret-pw)error: KESTRA_FASTLY_DATABASE_URL: "postgres:\/\/app:\*\*\*@db\.internal:5432" is not allowed \(no database\); expected postgres:/,
  },
  {
    name: 'server --database-url with an sslmode pg does not know (pg would connect without TLS)',
    args: [
      'server',
      '$DIR/f.yml',
      '--state-dir',
      '$DIR/s',
      '--database-url',
      'postgres://app:s3cret-pw@db.internal/kf?sslmode=requre',
    ],
    files: { 'f.yml': log('hi') },
    error:
      /^(?![^]*s3cret-pw)error: --database-url sslmode: "requre" is not an sslmode pg takes; expected one of disable, prefer, require, verify-ca, verify-full, no-verify\n$/,
  },
  {
    name: 'server --database-url giving sslmode twice (pg would use the last, unchecked)',
    args: [
      'server',
      '$DIR/f.yml',
      '--state-dir',
      '$DIR/s',
      '--database-url',
      'postgres://app:s3cret-pw@db.internal/kf?sslmode=verify-full&sslmode=disable',
    ],
    files: { 'f.yml': log('hi') },
    error:
      /^(?![^]*s3cret-pw)error: --database-url: "postgres:\/\/app:\*\*\*@db\.internal\/kf\?sslmode=verify-full&sslmode=disable" gives sslmode 2 times; expected once\n$/,
  },
  {
    name: 'server KESTRA_FASTLY_DATABASE_URL with a bare % in the password',
    args: ['server', '$DIR/f.yml', '--state-dir', '$DIR/s'],
    env: { KESTRA_FASTLY_DATABASE_URL: 'postgres://app:s3c%ZZret@db.internal/kf' },
    files: { 'f.yml': log('hi') },
    error:
      /^(?![^]*s3c%ZZret)error: KESTRA_FASTLY_DATABASE_URL: "postgres:\/\/app:\*\*\*@db\.internal\/kf" is not allowed \(a % in the password that is not %XX: write a % as %25\); expected postgres:/,
  },
  {
    name: 'server PGSSLMODE not an sslmode',
    args: ['server', '$DIR/f.yml', '--state-dir', '$DIR/s'],
    env: { KESTRA_FASTLY_DATABASE_URL: 'postgres://app@db.internal/kf', PGSSLMODE: 'on' },
    files: { 'f.yml': log('hi') },
    error:
      /^error: PGSSLMODE: "on" is not an sslmode pg takes; expected one of disable, prefer, require, verify-ca, verify-full, no-verify\n$/,
  },
  {
    name: 'server --lease not a duration',
    args: [
      'server',
      '$DIR/f.yml',
      '--state-dir',
      '$DIR/s',
      '--database-url',
      'postgres://app@127.0.0.1:9/kf',
      '--lease',
      'soon',
    ],
    files: { 'f.yml': log('hi') },
    error: /^error: --lease: got "soon"; expected a duration from 1 s to 10 min, such as 3s, PT5S or 2m\n$/,
  },
  {
    name: 'server --lease below a second: the examples are all accepted',
    args: [
      'server',
      '$DIR/f.yml',
      '--state-dir',
      '$DIR/s',
      '--database-url',
      'postgres://app@127.0.0.1:9/kf',
      '--lease',
      '500ms',
    ],
    files: { 'f.yml': log('hi') },
    error: /^error: --lease: got "500ms"; expected a duration from 1 s to 10 min, such as 3s, PT5S or 2m\n$/,
  },
  {
    name: 'server --lease past 10 minutes',
    args: [
      'server',
      '$DIR/f.yml',
      '--state-dir',
      '$DIR/s',
      '--database-url',
      'postgres://app@127.0.0.1:9/kf',
      '--lease',
      '99999999s',
    ],
    files: { 'f.yml': log('hi') },
    error: /^error: --lease: got "99999999s"; expected a duration from 1 s to 10 min/,
  },
  {
    name: 'server --lease without --database-url',
    args: ['server', '$DIR/f.yml', '--state-dir', '$DIR/s', '--lease', '3s'],
    env: { KESTRA_FASTLY_DATABASE_URL: null },
    files: { 'f.yml': log('hi') },
    error:
      /^error: --lease: only replicas hold leases; give --database-url \(or \$KESTRA_FASTLY_DATABASE_URL\) too\n$/,
  },
  {
    name: 'server KESTRA_FASTLY_API_TOKEN too short: the variable is named',
    args: ['server', '$DIR/f.yml', '--state-dir', '$DIR/s', '--listen', '0.0.0.0:0'],
    env: { KESTRA_FASTLY_API_TOKEN: 'short' },
    files: { 'f.yml': log('hi') },
    error:
      /^error: KESTRA_FASTLY_API_TOKEN: the API token is invalid \(value hidden\); expected at least 16 characters/m,
  },
  {
    name: 'server --api-token too short: the flag is named, over the variable',
    args: ['server', '$DIR/f.yml', '--state-dir', '$DIR/s', '--listen', '0.0.0.0:0', '--api-token', 'short'],
    env: { KESTRA_FASTLY_API_TOKEN: 'a-long-enough-token-0123456789' },
    files: { 'f.yml': log('hi') },
    error: /^error: --api-token: the API token is invalid \(value hidden\); expected at least 16 characters/m,
  },
  {
    name: 'Schedule: cron not valid',
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml': `id: f\nnamespace: a\ntriggers:\n  - id: t\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "61 * * * *"\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`,
    },
    error: /triggers\[0\]\.cron: got "61 \* \* \* \*"; not a valid cron expression/,
  },
  {
    name: 'Schedule: seconds without withSeconds',
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml': `id: f\nnamespace: a\ntriggers:\n  - id: t\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "*/2 * * * * *"\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`,
    },
    error: /has 6 fields; a cron with seconds needs withSeconds: true/,
  },
  {
    name: 'Schedule: recoverMissedSchedules unknown',
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml': `id: f\nnamespace: a\ntriggers:\n  - id: t\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "@daily"\n    recoverMissedSchedules: SOME\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`,
    },
    error: /recoverMissedSchedules: got "SOME"; expected one of ALL, LAST, NONE/,
  },
  {
    name: 'Webhook: no key',
    args: ['validate', '$DIR/f.yml'],
    files: {
      'f.yml': `id: f\nnamespace: a\ntriggers:\n  - id: t\n    type: io.kestra.plugin.core.trigger.Webhook\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`,
    },
    error: /triggers\[0\]\.key: is missing; expected string/,
  },
  // Expressions `run` would fail on only when it reaches them, after the purge already ran.
  ...[
    [
      "{{ 'x' | nosuchfilter }}",
      /tasks\[1\]\.message: unknown filter 'nosuchfilter' in .*; expected one of .*dateAdd.* \(see README\)/,
    ],
    [
      '{{ nosuchfunction() }}',
      /tasks\[1\]\.message: unknown function 'nosuchfunction\(\)' in .*; expected one of .*errorLogs/,
    ],
    [
      '{{ outputs.missing.x }}',
      /f\.yml:11:\d+: tasks\[1\]\.message: .* uses outputs\.missing, but the flow has no task 'missing'; its tasks: purge, log/,
    ],
  ].flatMap(([message, error]) =>
    ['run', 'validate'].map((command) => ({
      name: `${command}: ${String(message)} after a purge`,
      args: [command, '$DIR/f.yml'],
      files: {
        'f.yml': task(
          `  - id: purge\n    type: io.kestra.plugin.fastly.purge.Key\n    apiToken: tok\n    serviceId: ${SERVICE}\n    surrogateKey: k\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: "${String(message)}"\n`,
        ),
      },
      error: error as RegExp,
    })),
  ),
  {
    name: 'validate: the same flow id in two files (no ✓ for either; a ✓ for the third)',
    args: ['validate', '$DIR/a.yml', '$DIR/b.yml', '$DIR/c.yml'],
    files: { 'a.yml': log('a'), 'b.yml': log('b'), 'c.yml': log('c').replace('id: f', 'id: g') },
    error:
      /b\.yml: flow company\.ops\.f is also defined in \S+a\.yml; expected one file per namespace and id/,
    stdout: '✓ $DIR/c.yml: company.ops.g (1 task(s), 0 trigger(s))\n',
  },
  {
    name: 'server: the same flow id in two files',
    args: ['server', '$DIR/a.yml', '$DIR/b.yml', '--state-dir', '$DIR/s'],
    files: { 'a.yml': log('a'), 'b.yml': log('b') },
    error:
      /b\.yml: flow company\.ops\.f is also defined in \S+a\.yml; expected one file per namespace and id/,
  },
  ...['validate', 'server'].map((command) => ({
    name: `${command}: a StatsTrigger interval under PT30S against api.fastly.com`,
    args: [command, '$DIR/f.yml', ...(command === 'server' ? ['--state-dir', '$DIR/s'] : [])],
    env: { FASTLY_API_ENDPOINT: null },
    files: { 'f.yml': trigger('    field: status_5xx\n    threshold: 10\n    interval: PT2S') },
    error:
      /f\.yml:10:\d+: triggers\[0\]\.interval: interval PT2S is below PT30S; allowed only against a loopback endpoint \(this one is https:\/\/api\.fastly\.com, default\); expected PT30S or more/,
  })),
];

/** Invocations of the catalogue also run as processes of the shipped bin: exit status, one line, no stack. */
/** The file's CLI host: the catalogue's invocations and the refused server's. */
const host = cliHost();

const SMOKE = new Set([
  'missing token',
  'unknown flag',
  'from after to',
  'unknown task type',
  'CRLF key file with a bad key',
  'server --listen not HOST:PORT',
]);

test(`bad-input catalogue: ${CASES.length} cases, each exit 2 with one clear line, no stack trace, no request`, async (t) => {
  assert.ok(CASES.length >= 75);
  assert.equal(
    CASES.filter((c) => SMOKE.has(c.name)).length,
    SMOKE.size,
    'every smoke case is in the catalogue',
  );
  const s = await sim(t);
  // Through the CLI's own dispatch in one process (cli-host.ts); the smoke cases again as processes.
  const runs = [
    ...CASES.map((c) => ({ c, how: 'in process', run: host.run.bind(host) })),
    ...CASES.filter((c) => SMOKE.has(c.name)).map((c) => ({ c, how: 'process', run: runCli })),
  ];
  for (const { c, how, run } of runs) {
    const name = `${c.name} (${how})`;
    const dir = await mkdtemp(join(tmpdir(), 'kf-bad-'));
    for (const [file, text] of Object.entries(c.files ?? {})) await writeFile(join(dir, file), text);
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
    const r = await run(
      c.args.map((a) => a.replace('$DIR', dir)),
      env,
      c.stdin,
    );
    assert.equal(r.code, 2, `${name}: exit ${r.code}\n${r.stderr}`);
    // A run streams the execution's log lines too; every other command prints the error line alone.
    const stderr =
      c.args[0] === 'run' ? r.stderr.replace(/^\d{4}-\d\d-\d\dT\S+ +[A-Z]+ .*\n/gm, '') : r.stderr;
    assert.match(stderr, /^error: [^\n]+\n$/, `${name}: exactly one line, the error\n${r.stderr}`);
    assert.match(r.stderr, c.error, name);
    assert.ok(!/^\s+at /m.test(r.stderr), `${name}: no stack trace`);
    if (c.stdout !== undefined) assert.equal(r.stdout, c.stdout.replaceAll('$DIR', dir), name);
    const sent = s.log.filter((e) => e.path !== '/stats/regions');
    assert.deepEqual(sent, [], `${name}: no request sent`);
  }
});

test('server refused for its flows (a folder that does not exist) creates no state folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-bad-flows-'));
  const r = await host.run(['server', join(dir, 'nope/'), '--state-dir', join(dir, 'w5')], {
    FASTLY_API_TOKEN: 'tok',
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: [^\n]*nope[^\n]*\n$/);
  assert.equal(existsSync(join(dir, 'w5')), false, 'no state folder, no runtime.db');
});

const API_TOKEN = 'catalogue-api-token-2f9c1d';
const HOOK_KEY = 'catalogue-hook-key';
const API_FLOW = `id: publish
namespace: company.cms
inputs:
  - id: article_ids
    type: ARRAY
    itemType: STRING
  - id: soft
    type: BOOLEAN
    defaults: true
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: "{{ secret('HOOK_KEY') }}"
    inputs:
      article_ids: "{{ trigger.body.article_ids }}"
tasks:
  - id: purge
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    surrogateKeys: "{{ inputs.article_ids }}"
`;
const HOOK = `/api/v1/main/executions/webhook/company.cms/publish/${HOOK_KEY}`;
const START = '/api/v1/main/executions/company.cms/publish';
const JSON_TYPE = { 'content-type': 'application/json' };

interface HttpCase {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | FormData;
  /** Authorization header to send instead of the right bearer token; null sends none. */
  auth?: string | null;
  status: number;
  error: RegExp;
}

/** The HTTP API's catalogue: each bad request gets its status and one clear message, and starts nothing. */
const HTTP_CASES: HttpCase[] = [
  {
    name: 'webhook: bad JSON',
    method: 'POST',
    path: HOOK,
    headers: JSON_TYPE,
    body: '{"article_ids": [',
    status: 400,
    error: /the request body is not valid JSON/,
  },
  {
    name: 'webhook: input of the wrong type',
    method: 'POST',
    path: HOOK,
    headers: JSON_TYPE,
    body: '{"article_ids": 42}',
    status: 422,
    error: /input 'article_ids': 42 is not a valid ARRAY input; expected a list/,
  },
  {
    name: 'webhook: body without the input',
    method: 'POST',
    path: HOOK,
    headers: JSON_TYPE,
    body: '{"ids": ["a"]}',
    status: 422,
    error: /undefined variable 'trigger\.body\.article_ids'/,
  },
  {
    name: 'webhook: PATCH (Kestra takes GET, POST and PUT)',
    method: 'PATCH',
    path: HOOK,
    body: '{}',
    status: 405,
    error: /method PATCH is not allowed on a webhook; expected GET, POST or PUT/,
  },
  {
    name: 'webhook: unknown flow',
    method: 'POST',
    path: HOOK.replace('/publish/', '/nope/'),
    body: '{}',
    status: 404,
    error: /no webhook for flow company\.cms\.nope with this key/,
  },
  {
    name: 'webhook: wrong key',
    method: 'POST',
    path: HOOK.replace(HOOK_KEY, 'guess'),
    body: '{}',
    status: 404,
    error: /no webhook for flow company\.cms\.publish with this key/,
  },
  {
    name: 'webhook: 2 MB body',
    method: 'POST',
    path: HOOK,
    headers: JSON_TYPE,
    body: `{"article_ids":["${'k'.repeat(2 * 1024 * 1024)}"]}`,
    status: 413,
    error: /request body too large; the limit is 2 MiB \(2097152 bytes\)/,
  },
  {
    name: 'webhook: unknown tenant',
    method: 'POST',
    path: HOOK.replace('/main/', '/acme/'),
    body: '{}',
    status: 404,
    error: /no route for POST the webhook/,
  },
  {
    name: 'start: bad JSON',
    method: 'POST',
    path: START,
    headers: JSON_TYPE,
    body: '{nope',
    status: 400,
    error: /the request body is not valid JSON/,
  },
  {
    name: 'start: JSON not an object',
    method: 'POST',
    path: START,
    headers: JSON_TYPE,
    body: '["a"]',
    status: 400,
    error: /the request body must be a JSON object of inputs/,
  },
  {
    name: 'start: input of the wrong type',
    method: 'POST',
    path: START,
    headers: JSON_TYPE,
    body: '{"article_ids": ["a"], "soft": "perhaps"}',
    status: 422,
    error: /input 'soft': "perhaps" is not a valid BOOLEAN input; expected true or false/,
  },
  {
    name: 'start: unknown input',
    method: 'POST',
    path: START,
    headers: JSON_TYPE,
    body: '{"article_ids": ["a"], "colour": "red"}',
    status: 422,
    error: /input 'colour': the flow has no such input; it declares: article_ids, soft/,
  },
  {
    name: 'start: required input missing',
    method: 'POST',
    path: START,
    headers: JSON_TYPE,
    body: '{}',
    status: 422,
    error: /input 'article_ids' \(ARRAY\) is required/,
  },
  {
    name: 'start: unknown flow',
    method: 'POST',
    path: '/api/v1/main/executions/company.cms/nope',
    body: '',
    status: 404,
    error: /flow company\.cms\.nope not found/,
  },
  {
    name: 'start: unsupported body type',
    method: 'POST',
    path: START,
    headers: { 'content-type': 'text/plain' },
    body: 'article_ids=a',
    status: 415,
    error: /unsupported Content-Type "text\/plain"/,
  },
  {
    name: 'start: 2 MB body',
    method: 'POST',
    path: START,
    headers: JSON_TYPE,
    body: `{"article_ids":["${'k'.repeat(2 * 1024 * 1024)}"]}`,
    status: 413,
    error: /request body too large/,
  },
  {
    name: 'start: wait not a boolean',
    method: 'POST',
    path: `${START}?wait=maybe`,
    headers: JSON_TYPE,
    body: '{"article_ids":["a"]}',
    status: 400,
    error: /wait: "maybe" is not allowed; expected true or false/,
  },
  {
    name: 'get: unknown execution',
    method: 'GET',
    path: '/api/v1/main/executions/NoSuchExecution',
    status: 404,
    error: /execution "NoSuchExecution" not found/,
  },
  {
    name: 'search: size 0',
    method: 'GET',
    path: '/api/v1/main/executions/search?size=0',
    status: 400,
    error: /size: "0" is not allowed; expected a whole number from 1 to 1000/,
  },
  {
    name: 'search: page not a number',
    method: 'GET',
    path: '/api/v1/main/executions/search?page=two',
    status: 400,
    error: /page: "two" is not allowed/,
  },
  {
    name: 'missing bearer token',
    method: 'GET',
    path: '/api/v1/main/executions/search',
    auth: null,
    status: 401,
    error: /missing credentials: send Authorization: Bearer <api token>/,
  },
  {
    name: 'wrong bearer token',
    method: 'POST',
    path: START,
    auth: 'Bearer wrong-token-000000000',
    headers: JSON_TYPE,
    body: '{"article_ids":["a"]}',
    status: 401,
    error: /the credentials are wrong/,
  },
  {
    name: 'Basic without basic-auth users',
    method: 'GET',
    path: '/api/v1/main/executions/search',
    auth: 'Basic dXNlcjpwYXNz',
    status: 401,
    error: /the credentials are wrong/,
  },
  {
    name: 'unknown route',
    method: 'GET',
    path: '/api/v1/main/flows',
    status: 404,
    error: /no route for GET \/api\/v1\/main\/flows/,
  },
];

test(`HTTP API bad-input catalogue: ${HTTP_CASES.length} cases, each its status and one clear message, nothing started`, async (t) => {
  const s = await sim(t);
  const dir = await mkdtemp(join(tmpdir(), 'kf-bad-api-'));
  await writeFile(join(dir, 'publish.yml'), API_FLOW);
  const state = join(dir, 'state');
  // The server in this process: the answers are the HTTP API's, over real HTTP; a process of its
  // own proves nothing more here.
  const { url, logs, server } = await apiServerInProcess(t, {
    paths: [join(dir, 'publish.yml')],
    stateDir: state,
    env: { FASTLY_API_TOKEN: 'tok', FASTLY_API_ENDPOINT: s.url, HOOK_KEY },
    apiToken: API_TOKEN,
  });
  for (const c of HTTP_CASES) {
    const auth = c.auth === undefined ? `Bearer ${API_TOKEN}` : c.auth;
    let r: Response;
    try {
      r = await fetch(url + c.path, {
        method: c.method,
        headers: { ...(c.headers ?? {}), ...(auth === null ? {} : { authorization: auth }) },
        ...(c.body === undefined ? {} : { body: c.body }),
      });
    } catch (err) {
      throw new Error(`${c.name}: ${String((err as Error).cause ?? err)}`);
    }
    const text = await r.text();
    assert.equal(r.status, c.status, `${c.name}: ${text}`);
    if (c.status === 405) assert.equal(r.headers.get('allow'), 'GET, POST, PUT', c.name);
    const { message } = JSON.parse(text) as { message: string };
    assert.match(message, c.error, c.name);
    assert.ok(!message.includes('\n') && !/\bat .*:\d+:\d+/.test(message), `${c.name}: one line, no stack`);
    assert.ok(
      !message.includes(HOOK_KEY) && !message.includes(API_TOKEN),
      `${c.name}: no secret in the answer`,
    );
  }
  assert.deepEqual(history(state), [], 'no execution ran');
  assert.deepEqual(unfinished(state), [], 'none was queued');
  assert.deepEqual(requests(s, '/service'), [], 'no purge was sent');
  // What the server command prints at start (its flows, the webhook's route) and what it logged since.
  const started = describeFlows([join(dir, 'publish.yml')], server);
  assert.match(started.join('\n'), /webhook\/company\.cms\/publish\/<key>/);
  const log = [...started, ...logs].join('\n');
  assert.ok(!log.includes(HOOK_KEY) && !log.includes(API_TOKEN), 'no secret in the log');
});
