import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium the browser tests drive: $CHROMIUM_PATH, else Debian's package. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

let launched: Promise<Browser> | undefined;
after(async () => {
  if (launched) await (await launched).close();
});

/**
 * Headless Chromium: launched once per test file (1.7 s of CPU a launch) and closed after its
 * tests; the pages a test opens (each `newPage` in a context of its own) are closed after it. Without
 * one the test fails (never skips) with one line saying how to get it; CI installs it in .ci/run.
 */
export async function browser(t: TestContext): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new Error(
      'no Chromium found for the browser tests: install it with `apt-get install -y chromium` (Debian/Ubuntu) or set CHROMIUM_PATH to a Chromium binary',
    );
  }
  launched ??= chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const b = await launched;
  t.after(() => Promise.all(b.contexts().map((c) => c.close())));
  return b;
}

/**
 * Where a test saves its screenshot: docs/ (shown in the README) with UPDATE_SCREENSHOTS=1, as
 * `npm run screenshots` sets; otherwise a temporary folder, so that an ordinary test run leaves the
 * work tree unchanged.
 */
export function screenshotPath(name: string): string {
  if (process.env.UPDATE_SCREENSHOTS === '1')
    return fileURLToPath(new URL(`../../docs/${name}`, import.meta.url));
  return join(mkdtempSync(join(tmpdir(), 'kf-shot-')), name);
}
