import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const OUTPUT = fileURLToPath(new URL('../src/cli/output.js', import.meta.url));

test('-o leaves no file handle for the collector to close: written files, then GC, no EBADF or warning', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kf-handle-'));
  // In its own process, with the collector callable: a FileHandle left unclosed behind a stream is
  // closed when collected (a warning on Node 20, an uncaught EBADF on Node 24).
  const script = `
    const { withOutput, write } = await import(${JSON.stringify(OUTPUT)});
    for (let i = 0; i < 20; i++) {
      await withOutput(${JSON.stringify(dir)} + '/out' + i + '.csv', (out) => write(out, 'a,b\\n'.repeat(1000)));
    }
    for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
  `;
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /garbage collection|EBADF/, stderr);
  assert.equal((await readFile(join(dir, 'out19.csv'), 'utf8')).length, 4000);
});
