import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { TriggerEvaluationEvent } from '../src/diagnostics.js';
import { createLogger } from '../src/logger.js';
import { Masker } from '../src/masker.js';
import { startServer } from '../src/server/index.js';
import { browser, screenshotPath } from './browser.js';
import { SERVICE, sim } from './helpers.js';
import { ServerProcess } from './server-process.js';

const TOKEN = 'CANARY-dashboard-token-4e1a9c';
const SECRET = 'CANARY-dashboard-secret-b7d3';
/** The page's document, inside page.evaluate callbacks (this file is compiled without the DOM library). */
declare const document: {
  querySelector(
    selector: string,
  ): { getAttribute(name: string): string | null; textContent: string | null } | null;
};
const INTERVAL_MS = 10_000;
const b64 = (s: string) => Buffer.from(s).toString('base64');

const ALERT = `id: fastly_error_alert
namespace: company.ops
description: Logs a 5xx spike
triggers:
  - id: high_error_rate
    type: io.kestra.plugin.fastly.stats.StatsTrigger
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    field: status_5xx
    threshold: 50
    window: PT1H
    interval: PT10S
    fireOn: CROSSING
tasks:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    message: "5xx spike: {{ trigger.value }} errors (threshold: {{ trigger.threshold }}), key {{ secret('CANARY') }}"
`;

const PURGE = `id: purge_articles_on_publish
namespace: company.cms
inputs:
  - id: article_ids
    type: ARRAY
    itemType: STRING
    defaults: ["article-1001"]
  - id: soft
    type: BOOLEAN
    defaults: true
tasks:
  - id: purge_articles
    type: io.kestra.plugin.fastly.purge.Keys
    apiToken: "{{ secret('FASTLY_API_TOKEN') }}"
    serviceId: ${SERVICE}
    surrogateKeys: "{{ inputs.article_ids }}"
    soft: "{{ inputs.soft }}"
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "Purged {{ inputs.article_ids | length }} key(s) with token {{ secret('FASTLY_API_TOKEN') }}"
`;

/** Resolves with the first message on a diagnostics channel that matches; fails at the deadline. */
function next<T>(channel: string, match: (m: T) => boolean, deadlineMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe(channel, on);
      reject(new Error(`no matching ${channel} message within ${deadlineMs} ms`));
    }, deadlineMs);
    function on(m: unknown) {
      if (!match(m as T)) return;
      clearTimeout(timer);
      unsubscribe(channel, on);
      resolve(m as T);
    }
    subscribe(channel, on);
  });
}

async function flowsAndSimulator(t: TestContext) {
  // Fastly's usual latency: the page must cope with evaluations that take a while.
  const s = await sim(t, { faults: { latencyMs: 150 } });
  const now = Math.floor(Date.now() / 1000);
  s.addScenario({ serviceId: SERVICE, field: 'status_5xx', from: now - 1800, to: now - 1200, perMinute: 30 });
  const dir = await mkdtemp(join(tmpdir(), 'kf-dash-'));
  await mkdir(join(dir, 'flows'));
  await writeFile(join(dir, 'flows', 'alert.yml'), ALERT);
  await writeFile(join(dir, 'flows', 'purge.yml'), PURGE);
  const env = { FASTLY_API_TOKEN: TOKEN, FASTLY_API_ENDPOINT: s.url, SECRET_CANARY: b64(SECRET) };
  return { s, dir, env };
}

/** The server as `kestra-fastly server` runs it, in this process so that the test can watch its events. */
async function startInProcess(t: TestContext) {
  const { s, dir, env } = await flowsAndSimulator(t);
  const masker = new Masker();
  const server = await startServer({
    paths: [join(dir, 'flows')],
    stateDir: join(dir, 'state'),
    logger: createLogger({ write: () => {}, masker }),
    write: () => {},
    masker,
    env,
    listen: { host: '127.0.0.1', port: 0 },
  });
  t.after(() => server.stop(5000));
  return { s, url: server.http.url };
}

test('the dashboard shows the trigger chart with its threshold, the firing within one interval, run-now with inputs, and never the token', async (t) => {
  const KEY = 'company.ops.fastly_error_alert.high_error_rate';
  const fired = next<TriggerEvaluationEvent>(
    'kestra-fastly:trigger-evaluation',
    (e) => e.key === KEY && e.fired,
    30_000,
  );
  const b = await browser(t);
  const { s, url } = await startInProcess(t);
  const page = await b.newPage({ viewport: { width: 1400, height: 1000 } });
  const bodies: string[] = [];
  const pending: Promise<void>[] = [];
  page.on('response', (res) => {
    if (res.url().includes('/ui/api/events')) return; // a stream: read below through the page itself
    pending.push(
      res.text().then(
        (text) => void bodies.push(`${res.url()}\n${JSON.stringify(res.headers())}\n${text}`),
        () => undefined,
      ),
    );
  });
  await page.goto(`${url}/ui/`);

  const firing = await fired;
  assert.ok(firing.executionId);

  // The firing's execution is on the page within one interval (PT10S) of the firing: a deadline, not a measurement.
  const row = page.locator(`[data-testid="execution"][data-id="${firing.executionId}"]`);
  await row.waitFor({ timeout: INTERVAL_MS });
  await page
    .locator(`[data-testid="execution"][data-id="${firing.executionId}"][data-state="SUCCESS"]`)
    .waitFor();

  // The chart: points of the value, the threshold line, the firing marked.
  const chart = page.locator(`[data-testid="chart-${KEY}"]`);
  await page.waitForFunction(
    (key) => Number(document.querySelector(`[data-testid="chart-${key}"]`)?.getAttribute('data-points')) >= 2,
    KEY,
    { timeout: 30_000 },
  );
  assert.equal(await chart.getAttribute('data-firings'), '1');
  assert.equal(await chart.getAttribute('data-threshold'), '50');
  const pixels = await chart.locator('canvas').evaluate((canvas) => {
    const c = canvas as unknown as {
      width: number;
      height: number;
      getContext(k: '2d'): {
        getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
      };
    };
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let blue = 0;
    const redRows = new Map<number, number>();
    let orange = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b2] = [data[i] as number, data[i + 1] as number, data[i + 2] as number];
      if (b2 > 150 && r < 90 && g > 60 && g < 150) blue++;
      if (r > 180 && g < 80 && b2 < 80) {
        const y = Math.floor(i / 4 / c.width);
        redRows.set(y, (redRows.get(y) ?? 0) + 1);
      }
      if (r > 230 && g > 110 && g < 170 && b2 < 60) orange++;
    }
    return { blue, widestRed: Math.max(0, ...redRows.values()), width: c.width, orange };
  });
  assert.ok(pixels.blue > 20, `the value line is drawn: ${JSON.stringify(pixels)}`);
  // A dashed horizontal line across the plot: one pixel row holds red over a good part of the width.
  assert.ok(pixels.widestRed > pixels.width / 3, `the threshold line is drawn: ${JSON.stringify(pixels)}`);
  assert.ok(pixels.orange > 20, `the firing is marked: ${JSON.stringify(pixels)}`);
  const trigger = page.locator(`[data-testid="trigger-${KEY}"]`);
  assert.match(await trigger.locator('[data-testid="last-value"]').innerText(), /^\d+$/);
  assert.equal(await trigger.locator('[data-testid="fired"]').innerText(), '1');
  assert.match(await trigger.locator('[data-testid="next-due"]').innerText(), /^(in \d+ s|\d+ s ago)$/);

  // Run now with inputs: the execution starts, purges the given keys, and shows up with its logs.
  const form = page.locator('[data-testid="run-company.cms.purge_articles_on_publish"]');
  await form.locator('[data-testid="input-article_ids"]').fill('["article-7", "article-8"]');
  await form.locator('[data-testid="input-soft"]').uncheck();
  const before = s.log.filter((e) => e.path.includes('/purge')).length;
  await form.getByRole('button', { name: 'Run now' }).click();
  const result = form.locator('[data-testid="run-result"]');
  await result.waitFor();
  const started = /started execution (\S+)/.exec(await result.innerText());
  assert.ok(started, await result.innerText());
  const runRow = page.locator(`[data-testid="execution"][data-id="${started[1]}"][data-state="SUCCESS"]`);
  await runRow.waitFor({ timeout: 30_000 });
  const purges = s.log.filter((e) => e.path.includes('/purge')).slice(before);
  assert.equal(purges.length, 1);
  assert.equal(purges[0]?.keys, 2, 'the two keys typed in the form');
  assert.equal(purges[0]?.soft, false, 'the unchecked soft box');
  await runRow.locator('tr.row').click();
  const logs = await runRow.locator('[data-testid="logs"]').innerText();
  assert.match(logs, /Purged 2 key\(s\) with token \*{6}/);
  // The detail is the execution as the API answers it: each task run, its state and outputs.
  const taskRun = runRow.locator('[data-testid="taskruns"] tr[data-task="purge_articles"]');
  await taskRun.waitFor();
  assert.equal(await taskRun.getAttribute('data-state'), 'SUCCESS');
  assert.match(await taskRun.innerText(), /"purged": 2/);
  // The page lists each execution in the one shape, exactly as executions/search answers it.
  const listed = (
    (await (await fetch(`${url}/ui/api/state`)).json()) as {
      executions: ({ id: string; logs: unknown[] } & Record<string, unknown>)[];
    }
  ).executions.find((e) => e.id === started[1]);
  const searched = (
    (await (await fetch(`${url}/api/v1/main/executions/search?size=100`)).json()) as {
      results: { id: string }[];
    }
  ).results.find((e) => e.id === started[1]);
  assert.ok(listed && searched);
  const { logs: _logs, ...shape } = listed;
  assert.deepEqual(shape, searched);

  // The purge budget that run spent (issue 24), as the page shows it: the account is its endpoint and
  // a number, never the token.
  const budget = page.locator(`[data-testid="purge-budgets"] [data-testid="budget-${s.url}-1"]`);
  await budget.getByText('2 of 100,000 purges').waitFor({ timeout: 30_000 });
  const shown = await budget.innerText();
  assert.match(shown, new RegExp(`account\\s+${s.url.replace(/[.]/g, '\\.')} #1`));
  assert.match(shown, /0 in flight, 0 request\(s\) waiting/);
  assert.match(shown, /0 waited for budget, 0 got 429/);

  // Bad input is refused with the flow's own message: a list is JSON, as in Kestra, the API and --input.
  const listField = form.locator('[data-testid="input-article_ids"]');
  await listField.fill('k-a, k-b');
  await form.getByRole('button', { name: 'Run now' }).click();
  await page.waitForFunction(() =>
    /article_ids': "k-a, k-b" is not a valid ARRAY input; expected a list \(a JSON array/.test(
      document.querySelector(
        '[data-testid="run-company.cms.purge_articles_on_publish"] [data-testid="run-result"]',
      )?.textContent ?? '',
    ),
  );
  // What the placeholder shows is what the field takes.
  const placeholder = await listField.getAttribute('placeholder');
  assert.equal(placeholder, '["a", "b"]');
  await listField.fill(placeholder);
  await form.getByRole('button', { name: 'Run now' }).click();
  await page.waitForFunction(() =>
    /started execution/.test(
      document.querySelector(
        '[data-testid="run-company.cms.purge_articles_on_publish"] [data-testid="run-result"]',
      )?.textContent ?? '',
    ),
  );

  // Filter by flow and state.
  await page.locator('[data-testid="filter-flow"]').selectOption('company.cms.purge_articles_on_publish');
  const flowsShown = await page
    .locator('[data-testid="execution"]')
    .evaluateAll((rows: { getAttribute(name: string): string | null }[]) =>
      rows.map((r) => r.getAttribute('data-flow')),
    );
  assert.ok(flowsShown.length >= 1 && flowsShown.every((f) => f === 'company.cms.purge_articles_on_publish'));
  await page.locator('[data-testid="filter-flow"]').selectOption('');
  await page.locator('[data-testid="filter-state"]').selectOption('SUCCESS');
  const states = await page
    .locator('[data-testid="execution"]')
    .evaluateAll((rows: { getAttribute(name: string): string | null }[]) =>
      rows.map((r) => r.getAttribute('data-state')),
    );
  assert.ok(states.length >= 2 && states.every((x) => x === 'SUCCESS'), states.join(','));
  await page.locator('[data-testid="filter-state"]').selectOption('');

  // The alert's log shows the secret masked. The numbers are Doubles, as in Kestra: the Java plugin's
  // StatsTrigger.Output has `Double value`, `Double threshold`.
  const alertRow = page.locator(`[data-testid="execution"][data-id="${firing.executionId}"]`);
  await alertRow.locator('tr.row').click();
  assert.match(
    await alertRow.locator('[data-testid="logs"]').innerText(),
    /5xx spike: \d+\.0 errors \(threshold: 50\.0\), key \*{6}/,
  );

  // No token or secret anywhere: DOM, every response, the event stream as the page receives it, /metrics.
  const stream = await page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const es = new EventSource('/ui/api/events');
        es.addEventListener('state', (e) => {
          es.close();
          resolve((e as unknown as { data: string }).data);
        });
      }),
  );
  await Promise.all(pending);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const dom = await page.content();
  for (const [where, text] of [
    ['DOM', dom],
    ['event stream', stream],
    ['/metrics', metrics],
    ...bodies.map((b) => ['response', b]),
  ] as [string, string][]) {
    for (const canary of [TOKEN, SECRET, b64(TOKEN), b64(SECRET)])
      assert.ok(!text.includes(canary), `${where} contains a canary`);
  }
  assert.ok(bodies.length >= 4, `responses seen: ${bodies.length}`);

  await runRow.locator('tr.row').click();
  await page.screenshot({ path: screenshotPath('dashboard.png'), fullPage: true });
});

const DAILY = `id: daily_report
namespace: company.analytics
triggers:
  - id: morning
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 6 * * *"
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: report
`;

const ISO_SECOND = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

test('after a restart the chart keeps its points and firing marker; a fired CROSSING trigger reads "fired — waiting to re-arm"; times are UTC ISO; a Schedule shows its next run; /favicon.ico is an icon', async (t) => {
  const KEY = 'company.ops.fastly_error_alert.high_error_rate';
  const fired = next<TriggerEvaluationEvent>(
    'kestra-fastly:trigger-evaluation',
    (e) => e.key === KEY && e.fired,
    30_000,
  );
  const b = await browser(t);
  const { dir, env } = await flowsAndSimulator(t);
  await writeFile(join(dir, 'flows', 'daily.yml'), DAILY);
  const start = () => {
    const masker = new Masker();
    return startServer({
      paths: [join(dir, 'flows')],
      stateDir: join(dir, 'state'),
      logger: createLogger({ write: () => {}, masker }),
      write: () => {},
      masker,
      env,
      listen: { host: '127.0.0.1', port: 0 },
    });
  };
  const first = await start();
  const firing = await fired;
  await first.stop(5000); // waits for the firing's execution
  const second = await start();
  t.after(() => second.stop(5000));
  const url = second.http.url;

  const icon = await fetch(`${url}/favicon.ico`);
  assert.equal(icon.status, 200);
  assert.equal(icon.headers.get('content-type'), 'image/x-icon');
  const bytes = new Uint8Array(await icon.arrayBuffer());
  assert.deepEqual([...bytes.slice(0, 6)], [0, 0, 1, 0, 1, 0], 'an ICO header with one image');

  const page = await b.newPage({ viewport: { width: 1400, height: 1000 } });
  const iconLoads: number[] = [];
  page.on('response', (r) => {
    if (r.url().endsWith('/favicon.ico')) iconLoads.push(r.status());
  });
  await page.goto(`${url}/ui/`);
  const chart = page.locator(`[data-testid="chart-${KEY}"]`);
  await chart.waitFor();
  // The firing of the previous run is still marked, and the count agrees with it.
  assert.equal(await chart.getAttribute('data-firings'), '1');
  assert.ok(Number(await chart.getAttribute('data-points')) >= 1);
  const trigger = page.locator(`[data-testid="trigger-${KEY}"]`);
  assert.equal(await trigger.locator('[data-testid="fired"]').innerText(), '1');
  const legend = chart.locator('.u-legend .u-series');
  assert.equal(await legend.filter({ hasText: 'fired' }).locator('.u-value').innerText(), '1 time(s)');
  // Fired and not re-armed yet: the badge says it waits for the value to recover, not "disarmed".
  const badge = trigger.locator('[data-testid="trigger-status"]');
  assert.equal(await badge.innerText(), 'fired — waiting to re-arm');
  assert.match((await badge.getAttribute('title')) ?? '', /fires again once the condition has been false/);

  // Times: the legend under the cursor and the executions list are ISO-8601 UTC, never "12/7/26 1:01am".
  await chart.locator('.u-over').hover();
  const time = await legend.first().locator('.u-value').innerText();
  assert.match(time, ISO_SECOND, time);
  const row = page.locator(`[data-testid="execution"][data-id="${firing.executionId}"]`);
  assert.match(await row.locator('td').nth(2).innerText(), ISO_SECOND);
  // At 1400 px the executions list fits its column: no horizontal scrollbar hiding the id column
  // (was: the id behind a scrollbar). The section is what scrolls; the table must fit inside it.
  /** The little of an element these lines read (this file is compiled without the DOM library). */
  interface Box {
    scrollWidth: number;
    clientWidth: number;
    getBoundingClientRect(): { width: number; right: number };
    querySelector(selector: string): Box | null;
    querySelectorAll(selector: string): Iterable<Box>;
  }
  const fit = await page.locator('section.executions').evaluate((element) => {
    const section = element as unknown as Box;
    const table = section.querySelector('table') as Box;
    const cells = [...table.querySelectorAll('tbody tr.row td')];
    return {
      sectionScroll: section.scrollWidth,
      sectionClient: section.clientWidth,
      tableScroll: table.scrollWidth,
      tableClient: table.clientWidth,
      sectionRight: section.getBoundingClientRect().right,
      idRight: Math.max(...cells.map((c) => c.getBoundingClientRect().right)),
      cells: cells.map((c) => Math.round(c.getBoundingClientRect().width)),
    };
  });
  const said = JSON.stringify(fit);
  assert.ok(fit.tableScroll <= fit.tableClient, `the table is wider than its box: ${said}`);
  assert.ok(fit.sectionScroll <= fit.sectionClient, `the executions section scrolls sideways: ${said}`);
  assert.ok(fit.idRight <= fit.sectionRight, `the id column is cut off: ${said}`);
  assert.match(await row.locator('td').nth(5).innerText(), /^\S{8}…$/);
  assert.match((await trigger.locator('[data-testid="next-due"]').getAttribute('title')) ?? '', ISO_SECOND);

  // The Schedule trigger's next run: the next 06:00 UTC.
  const now = new Date();
  const six = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 6);
  const expected = new Date(six > now.getTime() ? six : six + 86_400_000).toISOString().replace('.000Z', 'Z');
  const schedule = page.locator('[data-testid="other-trigger-morning"]');
  assert.equal(await schedule.locator('[data-testid="next-run"]').innerText(), expected);
  assert.match(
    await schedule.innerText(),
    /trigger morning: Schedule 0 6 \* \* \* — next run \S+ \(in \d+ (s|min|h)\)/,
  );
  assert.ok(
    iconLoads.every((status) => status === 200),
    `favicon answers: ${iconLoads.join(',')}`,
  );
});

test('/metrics: trigger value, evaluations and firings, API requests by status with latency and retries, executions by state; a Prometheus parser accepts it', async (t) => {
  const { dir, env } = await flowsAndSimulator(t);
  const server = new ServerProcess(
    [join(dir, 'flows'), '--state-dir', join(dir, 'state'), '--listen', '127.0.0.1:0'],
    env,
  );
  t.after(() => server.stop());
  await server.waitFor(/HTTP API on http:\/\/\S+/);
  const url = /HTTP API on (http:\/\/\S+)/.exec(server.output)?.[1] as string;
  await server.waitFor(/fastly_error_alert ended SUCCESS/, 30_000);
  // The CLI as shipped serves the page and its bundled assets (no CDN), with a strict policy.
  const pageRes = await fetch(`${url}/ui/`);
  assert.equal(pageRes.status, 200);
  assert.match(pageRes.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  assert.match(await pageRes.text(), /<script type="module" src="\/ui\/app\.js">/);
  const js = await fetch(`${url}/ui/app.js`);
  assert.equal(js.status, 200);
  assert.ok((await js.text()).length > 10_000, 'the bundled page script');
  assert.equal((await fetch(`${url}/ui/app.css`)).status, 200);
  // What `curl /metrics` shows while the server runs.
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const families = parsePrometheusTextFormat(text);
  const family = (name: string) => {
    const f = families.find((x) => x.name === name);
    assert.ok(f, `${name} is exposed`);
    return f;
  };
  const labels = { namespace: 'company.ops', flow: 'fastly_error_alert', trigger: 'high_error_rate' };
  const value = family('kestra_fastly_trigger_value');
  assert.equal(value.type, 'GAUGE');
  const v = value.metrics.find((m) => m.labels?.trigger === 'high_error_rate');
  assert.ok(v && Number(v.value) > 50, `trigger value above the threshold: ${JSON.stringify(v)}`);
  assert.equal(v.labels?.field, 'status_5xx');
  const one = (name: string) => family(name).metrics.find((m) => m.labels?.trigger === labels.trigger);
  assert.ok(Number(one('kestra_fastly_trigger_evaluations_total')?.value) >= 1);
  assert.equal(Number(one('kestra_fastly_trigger_firings_total')?.value), 1);
  assert.equal(family('kestra_fastly_trigger_errors_total').type, 'COUNTER');
  const requests = family('kestra_fastly_api_requests_total').metrics;
  assert.ok(
    requests.some((m) => m.labels?.status === '200' && m.labels?.operation && Number(m.value) >= 1),
    JSON.stringify(requests),
  );
  assert.equal(family('kestra_fastly_api_request_duration_seconds').type, 'HISTOGRAM');
  // The parser folds labelled histograms into one; read the samples themselves.
  const fast = [
    ...text.matchAll(
      /^kestra_fastly_api_request_duration_seconds_bucket\{le="0\.1",operation="(\w+)"\} (\d+)$/gm,
    ),
  ];
  const counts = [
    ...text.matchAll(/^kestra_fastly_api_request_duration_seconds_count\{operation="(\w+)"\} (\d+)$/gm),
  ];
  assert.ok(counts.length >= 1 && counts.every((m) => Number(m[2]) >= 1), text);
  assert.ok(
    fast.length === counts.length && fast.every((m) => m[2] === '0'),
    'no answer faster than the simulator’s 150 ms',
  );
  family('kestra_fastly_api_retries_total');
  family('kestra_fastly_api_ratelimit_remaining');
  const executions = family('kestra_fastly_executions_total').metrics;
  assert.ok(
    executions.some(
      (m) => m.labels?.flow === 'fastly_error_alert' && m.labels?.state === 'SUCCESS' && m.value === '1',
    ),
    JSON.stringify(executions),
  );
  assert.equal(family('kestra_fastly_execution_duration_seconds').type, 'HISTOGRAM');
  assert.ok(!text.includes(TOKEN));

  // An open dashboard does not hold a stopping server: its event stream ends and its socket closes.
  const events = await new Promise<IncomingMessage>((resolve) => get(`${url}/ui/api/events`, resolve));
  assert.equal(events.headers['connection'], 'close');
  assert.equal(events.headers['content-type'], 'text/event-stream');
  const first = await new Promise<string>((resolve) =>
    events.once('data', (d: Buffer) => resolve(String(d))),
  );
  assert.match(first, /^event: state\ndata: \{"flows":/);
  const ended = new Promise<void>((resolve) => events.on('end', resolve).resume());
  assert.equal(await server.stop(), 0, server.output);
  await ended;
});
