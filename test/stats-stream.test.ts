import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI, sim } from './helpers.js';

const PROBE = fileURLToPath(new URL('./module-probe.js', import.meta.url));

function syntheticServices(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: `svc${String(i + 1).padStart(19, '0')}`,
    name: `service-${i + 1}`,
    domains: [`s${i + 1}.example.com`],
  }));
}

test('50 services × 1 day by minute to CSV: one process, every point, peak RSS under 150 MB', async (t) => {
  const s = await sim(t, { services: syntheticServices(50) });
  const dir = await mkdtemp(join(tmpdir(), 'kf-stream-'));
  const probe = join(dir, 'probe.txt');
  const csv = join(dir, 'out.csv');
  const now = Math.floor(Date.now() / 60_000) * 60;
  const args = [
    'stats',
    'historical',
    '--all-services',
    '--by',
    'minute',
    '--from',
    String(now - 86400),
    '--to',
    String(now),
  ];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PROBE, CLI, ...args, '--format', 'csv', '-o', csv], {
      env: {
        PATH: process.env.PATH ?? '',
        FASTLY_API_TOKEN: 'tok',
        FASTLY_API_ENDPOINT: s.url,
        MODULE_PROBE_OUT: probe,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  assert.equal(code, 0);
  const lines = (await readFile(csv, 'utf8')).split('\n').filter(Boolean);
  assert.equal(lines.length, 1 + 50 * 1440, 'header and every point of every service');
  assert.equal(new Set(lines.slice(1).map((l) => l.slice(0, l.indexOf(',')))).size, 50);
  const report = await readFile(probe, 'utf8');
  assert.ok(report.includes('builtin:zlib'), 'the probe lists built-ins');
  assert.ok(!report.includes('spawned '), 'no process is launched');
  const maxRssKB = Number(/maxrss (\d+)/.exec(report)?.[1]);
  assert.ok(maxRssKB > 0 && maxRssKB < 150 * 1024, `peak RSS ${Math.round(maxRssKB / 1024)} MB`);
});
