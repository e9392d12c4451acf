import { z } from 'zod';
import type { FastlyClientOptions } from '../fastly/client.js';
import type { Logger } from '../logger.js';

/*
 * Kestra's HttpConfiguration (`options` on every task and trigger of the Java plugin), so that a
 * flow written for it loads here. Timeouts are honoured; the rest is accepted and reported as not
 * applied. Durations follow java.time.Duration.parse (PnDTnHnMn.nS), the form Kestra reads there.
 */
const JAVA_DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

export function javaDurationMs(text: string): number | undefined {
  const m = JAVA_DURATION.exec(text.trim());
  if (!m || /^PT?$/i.test(text.trim())) return undefined;
  const [, d = '0', h = '0', min = '0', s = '0'] = m;
  return ((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Number(s) * 1000;
}

const duration = z
  .string()
  .refine((v) => javaDurationMs(v) !== undefined, { error: 'expected an ISO-8601 duration such as PT10S' });
const ignored = z.unknown().optional();

export const httpOptions = z
  .strictObject({
    timeout: z
      .strictObject({ connectTimeout: duration.optional(), readIdleTimeout: duration.optional() })
      .optional(),
    // Older top-level names Kestra still reads.
    connectTimeout: duration.optional(),
    readTimeout: duration.optional(),
    readIdleTimeout: duration.optional(),
    proxy: ignored,
    ssl: ignored,
    auth: ignored,
    followRedirects: ignored,
    allowFailed: ignored,
    allowedResponseCodes: ignored,
    defaultCharset: ignored,
    logs: ignored,
    connectionPoolIdleTimeout: ignored,
    maxContentLength: ignored,
    proxyType: ignored,
    proxyAddress: ignored,
    proxyPort: ignored,
    proxyUsername: ignored,
    proxyPassword: ignored,
    basicAuthUser: ignored,
    basicAuthPassword: ignored,
  })
  .describe(
    "Kestra's HTTP options, as in the Java plugin. `timeout.connectTimeout` and `timeout.readIdleTimeout` " +
      '(or the older `connectTimeout`, `readTimeout`) bound each request; other settings (proxy, ssl…) are ' +
      'accepted and reported as not applied. Retries are set with the task’s `retry`.',
  );

export type HttpOptions = z.output<typeof httpOptions>;

/** The client settings `options` asks for; logs a warning for each setting that is not applied. */
export function clientOptionsOf(
  options: HttpOptions | undefined,
  logger: Logger,
): Partial<Pick<FastlyClientOptions, 'timeoutMs'>> {
  if (!options) return {};
  const ms = (v: string | undefined) => (v === undefined ? undefined : javaDurationMs(v));
  const connect = ms(options.timeout?.connectTimeout ?? options.connectTimeout);
  const read = ms(options.timeout?.readIdleTimeout ?? options.readIdleTimeout ?? options.readTimeout);
  const notApplied = Object.entries(options)
    .filter(
      ([k, v]) =>
        v !== undefined && !['timeout', 'connectTimeout', 'readTimeout', 'readIdleTimeout'].includes(k),
    )
    .map(([k]) => k);
  if (notApplied.length) {
    logger.warn(
      `options.${notApplied.join(', options.')}: accepted for the Java plugin's flows but not applied`,
    );
  }
  if (connect === undefined && read === undefined) return {};
  // The client has one per-attempt budget (connect, headers and body): both parts fit in it.
  return { timeoutMs: (connect ?? 0) + (read ?? 0) || undefined };
}
