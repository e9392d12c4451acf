import type { Command } from 'commander';
import { PurgeAll, PurgeKey, PurgeKeys, PurgeUrl } from '../../tasks/index.js';
import { silentLogger, type TaskContext, type TaskDefinition } from '../../tasks/task.js';

/** The main job: the simulator in-process, and every example against it, outputs printed. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Start the built-in simulator and run the examples against it')
    .action(async () => {
      const { startSimulator, DEMO_SERVICES } = await import('../../simulator/index.js');
      const sim = await startSimulator();
      try {
        const service = DEMO_SERVICES[0]!.id;
        sim.seedObject('https://www.example.com/', ['html', 'all']);
        sim.seedObject('https://www.example.com/products/42', ['product-42', 'all']);
        const env = { ...process.env, FASTLY_API_ENDPOINT: sim.url, KESTRA_FASTLY_EDGE_ENDPOINT: sim.url };
        const ctx: TaskContext = { logger: silentLogger, env };
        const conn = { apiToken: 'demo-token', baseUrl: sim.url };
        const keys = Array.from({ length: 1000 }, (_, i) => `product-${i}`);
        const steps: [string, TaskDefinition, Record<string, unknown>][] = [
          ['purge url (verified)', PurgeUrl, { ...conn, url: 'https://www.example.com/', verify: true }],
          [
            'purge key (soft)',
            PurgeKey,
            { ...conn, serviceId: service, surrogateKey: 'product-42', soft: true },
          ],
          ['purge keys (1,000 keys)', PurgeKeys, { ...conn, serviceId: service, surrogateKeys: keys }],
          ['purge all', PurgeAll, { ...conn, serviceId: service }],
        ];
        for (const [label, task, props] of steps) {
          const out = (await task.run(task.props.parse(props), ctx)) as Record<string, unknown>;
          const shown =
            'purgeIds' in out
              ? { ...out, purgeIds: `{… ${Object.keys(out.purgeIds as object).length} keys}` }
              : out;
          process.stdout.write(`${label}: ${JSON.stringify(shown)}\n`);
        }
        process.stdout.write(`simulator saw ${sim.log.length} API requests\n`);
      } finally {
        await sim.close();
      }
    });
}
