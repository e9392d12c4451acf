import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { InvalidInputError, KestraFastlyError } from '../../errors.js';
import { Masker } from '../../flow/logger.js';
import { runFlowFile } from '../../flow/run.js';
import { briefOutputs } from '../summary.js';

/** The package's examples/ folder, found upwards from this module (compiled or bundled). */
function examplesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'examples', 'purge_homepage.yml')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'examples');
}
const DEMO_TOKEN = 'demo-token-not-a-real-secret';

/** The main job: the simulator in-process, and every example flow against it, outputs printed. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Start the built-in simulator and run every example flow against it')
    .option('--examples <dir>', 'folder of flows to run (default: the package’s examples)')
    .action(async (opts: { examples?: string }) => {
      const examples = opts.examples ?? examplesDir();
      if (!statSync(examples, { throwIfNoEntry: false })?.isDirectory()) {
        throw new InvalidInputError(`--examples: ${examples} is not a folder of flows`, '--examples');
      }
      const { startSimulator, DEMO_SERVICES } = await import('../../simulator/index.js');
      const sim = await startSimulator();
      const service = DEMO_SERVICES[0]?.id ?? '';
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      Object.assign(process.env, {
        SECRET_FASTLY_API_TOKEN: b64(DEMO_TOKEN),
        SECRET_FASTLY_SERVICE_ID: b64(service),
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
              process.stdout.write(`  trigger: ${masker.maskCredentials(JSON.stringify(ex.trigger))}\n`);
          } catch (err) {
            if (!(err instanceof KestraFastlyError)) throw err;
            failed++;
            process.stdout.write(`  error: ${err.message}\n`);
          }
          process.stdout.write('\n');
        }
        process.stdout.write(`The simulator answered ${sim.log.length} API requests.\n`);
      } finally {
        await sim.close();
      }
      if (failed) process.exitCode = 1;
    });
}
