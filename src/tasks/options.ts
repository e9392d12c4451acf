import { z } from 'zod';
import { durationMs, isoDuration } from '../duration.js';
import type { FastlyClientOptions } from '../fastly/client.js';
import { directPolicy, fixedProxyPolicy, HttpProxy } from '../http/proxy.js';
import type { Logger } from '../logger.js';

/*
 * Kestra's HttpConfiguration (`options` on every task and trigger of the Java plugin), so that a
 * flow written for it loads here. Timeouts and an HTTP proxy are honoured; the rest is accepted and
 * reported as not applied. Durations are the project's one ISO-8601 duration type (src/duration.ts).
 */
const duration = isoDuration();
const ignored = z.unknown().optional();

/** java.net.Proxy.Type; SOCKS is refused rather than silently sent direct. */
const proxyType = z.enum(['DIRECT', 'HTTP'], {
  error: (issue) =>
    issue.input === 'SOCKS'
      ? 'SOCKS proxies are not supported; expected DIRECT or HTTP (an HTTP proxy that accepts CONNECT)'
      : 'expected DIRECT or HTTP',
});
const proxyAddress = z
  .string()
  .regex(/^(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?)$/, {
    error: 'expected a host name or IP address, e.g. proxy.example.com (no scheme or port)',
  });
const proxyPort = z.number().int().min(1).max(65535);

export const httpOptions = z
  .strictObject({
    timeout: z
      .strictObject({ connectTimeout: duration.optional(), readIdleTimeout: duration.optional() })
      .optional(),
    // Older top-level names Kestra still reads.
    connectTimeout: duration.optional(),
    readTimeout: duration.optional(),
    readIdleTimeout: duration.optional(),
    proxy: z
      .strictObject({
        type: proxyType
          .optional()
          .describe(
            'DIRECT (no proxy, even if HTTPS_PROXY is set) or HTTP; default HTTP when an address is given.',
          ),
        address: proxyAddress.optional().describe('The HTTP proxy’s host name or IP address.'),
        port: proxyPort.optional().describe('The HTTP proxy’s port.'),
        username: z.string().optional().describe('User name for the proxy (Proxy-Authorization: Basic).'),
        password: z
          .string()
          .optional()
          .describe("Password for the proxy; pass it as {{ secret('PROXY_PASSWORD') }}.")
          .meta({ secret: true }),
      })
      .optional()
      .describe(
        'Proxy for this task’s Fastly requests (CONNECT tunnel); wins over HTTPS_PROXY / NO_PROXY. ' +
          'Loopback endpoints are never proxied. SOCKS is not supported.',
      ),
    ssl: ignored,
    auth: ignored,
    followRedirects: ignored,
    allowFailed: ignored,
    allowedResponseCodes: ignored,
    defaultCharset: ignored,
    logs: ignored,
    connectionPoolIdleTimeout: ignored,
    maxContentLength: ignored,
    // Older top-level proxy names; `proxy` wins when both are given.
    proxyType: proxyType.optional(),
    proxyAddress: proxyAddress.optional(),
    proxyPort: proxyPort.optional(),
    proxyUsername: z.string().optional(),
    proxyPassword: z.string().optional().meta({ secret: true }),
    basicAuthUser: ignored,
    basicAuthPassword: ignored,
  })
  .superRefine((o, ctx) => {
    const p = proxyOf(o);
    if (p?.type === 'DIRECT' || p === undefined) return;
    for (const [name, value] of [
      ['address', p.address],
      ['port', p.port],
    ] as const) {
      if (value === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: o.proxy ? ['proxy', name] : [`proxy${name[0]?.toUpperCase()}${name.slice(1)}`],
          message: `an HTTP proxy needs its ${name}; expected e.g. address: proxy.example.com, port: 3128`,
        });
      }
    }
  })
  .describe(
    "Kestra's HTTP options, as in the Java plugin. `timeout.connectTimeout` and `timeout.readIdleTimeout` " +
      '(or the older `connectTimeout`, `readTimeout`) bound each request; `proxy` (or the older ' +
      '`proxyType`, `proxyAddress`, `proxyPort`, `proxyUsername`, `proxyPassword`) sends them through an ' +
      'HTTP proxy; other settings (ssl, auth…) are accepted and reported as not applied. Retries are set ' +
      'with the task’s `retry`.',
  );

interface ProxyProps {
  type?: 'DIRECT' | 'HTTP' | undefined;
  address?: string | undefined;
  port?: number | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

/** The proxy `options` names (`proxy`, else the older top-level names), or undefined. */
function proxyOf(o: {
  proxy?: ProxyProps | undefined;
  proxyType?: ProxyProps['type'];
  proxyAddress?: string | undefined;
  proxyPort?: number | undefined;
  proxyUsername?: string | undefined;
  proxyPassword?: string | undefined;
}): ProxyProps | undefined {
  const p: ProxyProps = o.proxy ?? {
    type: o.proxyType,
    address: o.proxyAddress,
    port: o.proxyPort,
    username: o.proxyUsername,
    password: o.proxyPassword,
  };
  if (p.type === undefined && p.address === undefined && p.port === undefined) {
    return p.username === undefined && p.password === undefined ? undefined : { ...p, type: 'HTTP' };
  }
  return { ...p, type: p.type ?? 'HTTP' };
}

/** Keys of `options` this plugin applies. */
const APPLIED = new Set([
  'timeout',
  'connectTimeout',
  'readTimeout',
  'readIdleTimeout',
  'proxy',
  'proxyType',
  'proxyAddress',
  'proxyPort',
  'proxyUsername',
  'proxyPassword',
]);

export type HttpOptions = z.output<typeof httpOptions>;

/** The client settings `options` asks for; logs a warning for each setting that is not applied. */
export function clientOptionsOf(
  options: HttpOptions | undefined,
  logger: Logger,
): Partial<Pick<FastlyClientOptions, 'timeoutMs' | 'proxy'>> {
  if (!options) return {};
  const p = proxyOf(options);
  const proxy =
    p === undefined
      ? {}
      : p.type === 'DIRECT'
        ? { proxy: directPolicy }
        : {
            proxy: fixedProxyPolicy(
              new HttpProxy(
                'http:',
                (p.address ?? '').replace(/^\[|\]$/g, ''),
                p.port ?? 0,
                p.username,
                p.password,
              ),
            ),
          };
  warnNotApplied(options, APPLIED, logger);
  const timeoutMs = budgetMs(
    options.timeout?.connectTimeout ?? options.connectTimeout,
    options.timeout?.readIdleTimeout ?? options.readIdleTimeout ?? options.readTimeout,
  );
  return timeoutMs === undefined ? proxy : { ...proxy, timeoutMs };
}

/** Logs one warning naming every setting of `options` given but not in `applied`. */
function warnNotApplied(options: object, applied: ReadonlySet<string>, logger: Logger): void {
  const notApplied = Object.entries(options)
    .filter(([k, v]) => v !== undefined && !applied.has(k))
    .map(([k]) => k);
  if (notApplied.length) {
    logger.warn(
      `options.${notApplied.join(', options.')}: accepted for the Java plugin's flows but not applied`,
    );
  }
}

/**
 * The one per-attempt budget (connect, headers and body) a connect and a read timeout add up to, or
 * undefined when neither is given.
 */
function budgetMs(connect: string | undefined, read: string | undefined): number | undefined {
  const ms = (v: string | undefined) => (v === undefined ? 0 : (durationMs(v) ?? 0));
  return ms(connect) + ms(read) || undefined;
}

/*
 * Kestra's notification tasks (plugin-notifications' AbstractHttpOptionsTask.RequestOptions: Slack,
 * Teams, Discord… incoming webhooks) take a smaller `options`: timeouts and extra headers, no proxy.
 * A proxy for them comes from HTTPS_PROXY / NO_PROXY.
 */
export const notificationOptions = z
  .strictObject({
    connectTimeout: duration.optional(),
    readTimeout: duration.optional(),
    readIdleTimeout: duration.optional(),
    headers: z.record(z.string(), z.string()).optional().describe('Extra headers sent with the message.'),
    connectionPoolIdleTimeout: ignored,
    maxContentLength: ignored,
    defaultCharset: ignored,
  })
  .describe(
    "Kestra's notification options, as in plugin-notifications: `connectTimeout` and `readIdleTimeout` " +
      '(or `readTimeout`) bound the call, `headers` are added to it; the other settings are accepted and ' +
      'reported as not applied. The message goes through HTTPS_PROXY unless NO_PROXY names its host.',
  );

export type NotificationOptions = z.output<typeof notificationOptions>;

/** Keys of a notification's `options` applied. */
const NOTIFICATION_APPLIED = new Set(['connectTimeout', 'readTimeout', 'readIdleTimeout', 'headers']);

/** The call settings a notification's `options` asks for; logs a warning for each one not applied. */
export function notificationCallOf(
  options: NotificationOptions | undefined,
  logger: Logger,
): { timeoutMs?: number | undefined; headers?: Record<string, string> | undefined } {
  if (!options) return {};
  warnNotApplied(options, NOTIFICATION_APPLIED, logger);
  const timeoutMs = budgetMs(options.connectTimeout, options.readIdleTimeout ?? options.readTimeout);
  return { timeoutMs, headers: options.headers };
}
