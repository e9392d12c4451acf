import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium the browser tests drive: $CHROMIUM_PATH, else Debian's package. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

/**
 * Launches headless Chromium, closed after the test. Without one the test fails (never skips) with
 * one line saying how to get it; CI installs it in .ci/run.
 */
export async function browser(t: TestContext): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new Error(
      'no Chromium found for the browser tests: install it with `apt-get install -y chromium` (Debian/Ubuntu) or set CHROMIUM_PATH to a Chromium binary',
    );
  }
  const b = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  t.after(() => b.close());
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
