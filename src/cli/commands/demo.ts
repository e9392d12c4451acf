import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { InvalidInputError, KestraFastlyError } from '../../errors.js';
import { Masker } from '../../masker.js';
import { parseJson, writeJson } from '../../pebble/java.js';
import { runFlowFile } from '../../flow/run-file.js';
import { command } from '../command.js';
import { addCommand } from '../flags.js';
import { briefOutputs } from '../summary.js';

/** The package's examples/ folder, found upwards from this module (compiled or bundled). */
function examplesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'examples', 'purge_homepage.yml')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'examples');
}
const DEMO_TOKEN = 'demo-token-not-a-real-secret';
const DEMO_WEBHOOK_KEY = 'demo-webhook-key';

/** A local stand-in for Slack/Teams/Discord: prints each message it receives. */
async function startReceiver(): Promise<{ url: string; received: string[]; close: () => Promise<void> }> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      received.push(body);
      let shown = body.trim();
      try {
        shown = writeJson(parseJson(body));
      } catch {
        // not JSON: shown as it came
      }
      process.stdout.write(`  ↳ the webhook receiver got ${req.method} ${req.url}: ${shown}\n`);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `demo`, the main job: the simulator in-process, and every example flow against it, outputs printed. */
const DEMO = command({
  name: 'demo',
  description: 'Start the built-in simulator and run every example flow against it',
  flags: [
    { flags: '--examples <dir>', description: 'folder of flows to run (default: the package’s examples)' },
  ],
  async action(_arg, opts) {
    const examples = opts.examples ?? examplesDir();
    if (!statSync(examples, { throwIfNoEntry: false })?.isDirectory()) {
      throw new InvalidInputError(`--examples: ${examples} is not a folder of flows`, '--examples');
    }
    const { startSimulator, DEMO_SERVICES } = await import('../../simulator/index.js');
    const sim = await startSimulator();
    const receiver = await startReceiver();
    const service = DEMO_SERVICES[0]?.id ?? '';
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    Object.assign(process.env, {
      SECRET_FASTLY_API_TOKEN: b64(DEMO_TOKEN),
      SECRET_FASTLY_SERVICE_ID: b64(service),
      SECRET_SLACK_WEBHOOK_URL: b64(`${receiver.url}/services/T0DEMO/B0DEMO/slack`),
      SECRET_CMS_WEBHOOK_KEY: b64(DEMO_WEBHOOK_KEY),
      FASTLY_API_ENDPOINT: sim.url,
      KESTRA_FASTLY_EDGE_ENDPOINT: sim.url,
    });
    // A 5xx spike in the last hour, so that fastly_error_alert has something to report.
    const now = Math.floor(Date.now() / 1000);
    sim.addScenario({
      serviceId: service,
      field: 'status_5xx',
      from: now - 1200,
      to: now - 600,
      perMinute: 40,
    });
    sim.seedObject('https://www.example.com/', ['html', 'all']);
    let failed = 0;
    try {
      process.stdout.write(`Fastly simulator on ${sim.url}; service ${service}\n\n`);
      for (const file of readdirSync(examples)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()) {
        const masker = new Masker();
        process.stdout.write(`▶ ${file}\n`);
        try {
          const result = await runFlowFile(join(examples, file), { masker, logLevel: 'INFO' });
          if (result.notFired) {
            process.stdout.write(`  ${result.notFired.message}\n\n`);
            continue;
          }
          const ex = result.execution;
          if (!ex) continue;
          if (ex.state === 'FAILED') failed++;
          process.stdout.write(`  ${ex.state}\n`);
          for (const [task, out] of Object.entries(ex.outputs)) {
            process.stdout.write(`  outputs.${task}: ${masker.maskCredentials(briefOutputs(out))}\n`);
          }
          if (ex.trigger)
            process.stdout.write(`  trigger: ${masker.maskCredentials(writeJson(ex.trigger))}\n`);
        } catch (err) {
          if (!(err instanceof KestraFastlyError)) throw err;
          failed++;
          process.stdout.write(`  error: ${err.message}\n`);
        }
        process.stdout.write('\n');
      }
      if (!opts.examples) failed += await serverDemo(examples, receiver.received);
      process.stdout.write(`The simulator answered ${sim.log.length} API requests.\n`);
    } finally {
      await receiver.close();
      await sim.close();
    }
    if (failed) process.exitCode = 1;
  },
});

export function registerDemo(program: Command): void {
  addCommand(program, DEMO);
}

/**
 * The examples under the server, as users run them: a CMS calls the webhook, a script uses the
 * executions API, the schedule says when the report runs, and the 5xx alert reaches "Slack".
 */
async function serverDemo(examples: string, slack: string[]): Promise<number> {
  const { startServer } = await import('../../server/index.js');
  const { createLogger } = await import('../../logger.js');
  const { nextSlot, Schedule, scheduleProps } = await import('../../tasks/core/Schedule.js');
  const stateDir = mkdtempSync(join(tmpdir(), 'kestra-fastly-demo-'));
  const masker = new Masker();
  process.stdout.write('▶ kestra-fastly server (HTTP API, Webhook, Schedule, StatsTrigger → Slack)\n');
  const server = await startServer({
    paths: [examples],
    stateDir,
    logger: createLogger({ level: 'WARN', masker }),
    masker,
    listen: { host: '127.0.0.1', port: 0 },
    write: () => {},
  });
  let failed = 0;
  const before = slack.length;
  const alerted = () => slack.slice(before).some((m) => m.includes('5xx spike'));
  try {
    const api = `${server.http.url}/api/v1/main/executions`;
    process.stdout.write(`  HTTP API on ${server.http.url}\n`);
    const hook = await fetch(`${api}/webhook/company.cms/purge_articles_on_publish/${DEMO_WEBHOOK_KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ article_ids: ['article-2001', 'article-2002'] }),
    });
    const accepted = (await hook.json()) as { id: string };
    process.stdout.write(
      `  POST …/webhook/company.cms/purge_articles_on_publish/<key> → ${hook.status}, execution ${accepted.id}\n`,
    );
    const form = new FormData();
    form.append('article_ids', '["article-3001"]');
    const started = await fetch(`${api}/company.cms/purge_articles_on_publish?wait=true`, {
      method: 'POST',
      body: form,
    });
    const ex = (await started.json()) as {
      id: string;
      state: { current: string };
      taskRunList?: { taskId: string; outputs?: unknown }[];
    };
    // Each task's outputs are in its task run (the execution's `outputs` are the flow's).
    const outputs = Object.fromEntries((ex.taskRunList ?? []).map((r) => [r.taskId, r.outputs]));
    process.stdout.write(
      `  POST …/executions/company.cms/purge_articles_on_publish?wait=true → ${ex.state.current}: ${briefOutputs(outputs)}\n`,
    );
    for (const t of server.scheduler.triggers().filter((t) => t.type === Schedule.type)) {
      const props = scheduleProps.parse(t.node.props);
      const next = nextSlot(props, Date.now());
      process.stdout.write(
        `  schedule ${t.flowId}.${t.triggerId} (${props.cron} ${props.timezone ?? ''}): next run ${next ? new Date(next).toISOString() : 'never'}\n`,
      );
    }
    // The alert's first evaluation happens at start-up; give it a bounded time to reach the receiver.
    const until = Date.now() + 15_000;
    while (!alerted() && Date.now() < until) await sleep(100);
    if (!alerted()) {
      failed++;
      process.stdout.write('  the 5xx alert did not reach the receiver\n');
    }
    await server.queue.idle();
    const list = (await (await fetch(`${api}/search`)).json()) as {
      results: { flowId: string; state: { current: string }; trigger?: { id: string } }[];
    };
    process.stdout.write(
      `  executions: ${list.results.map((r) => `${r.flowId} ${r.state.current}${r.trigger?.id ? ` (${r.trigger.id})` : ''}`).join('; ')}\n`,
    );
    if (list.results.some((r) => r.state.current === 'FAILED')) failed++;
  } finally {
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
  process.stdout.write('\n');
  return failed;
}
