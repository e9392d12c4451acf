// Loader hooks of test/module-probe.ts (they run off the main thread).
import { appendFileSync } from 'node:fs';

export async function load(
  url: string,
  context: unknown,
  next: (url: string, context: unknown) => Promise<unknown>,
): Promise<unknown> {
  if (process.env.MODULE_PROBE_OUT) appendFileSync(process.env.MODULE_PROBE_OUT, `${url}\n`);
  return next(url, context);
}
