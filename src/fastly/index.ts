/**
 * `kestra-plugin-fastly/fastly`: the typed Fastly client and one function per API operation.
 * An explicit list: what is not named here is internal and may change.
 */
export { InvalidInputError, KestraFastlyError, RunFailedError } from '../errors.js';
export {
  DEFAULT_ENDPOINT,
  DEFAULT_RETRY,
  FastlyClient,
  type ApiResponse,
  type ClientCounters,
  type FastlyClientOptions,
  type RequestSpec,
  type RetryEvent,
  type RetryOptions,
} from './client.js';
export {
  FastlyApiError,
  FastlyNetworkError,
  FastlyProxyError,
  FastlyResponseError,
  PurgeTooLargeError,
  type TokenScope,
} from './errors.js';
export type { RateLimitState } from '../diagnostics.js';
export { isStatsField, STATS_FIELDS, type StatsField } from './fields.js';
export {
  MAX_KEYS_PER_REQUEST,
  purgeAll,
  purgeKey,
  purgeKeys,
  purgeUrl,
  type FailedKey,
  type PurgeKeysOptions,
  type PurgeKeysResult,
  type PurgeOptions,
  type PurgeResult,
} from './purge.js';
export {
  aggregate,
  getRegions,
  historical,
  historicalPages,
  MAX_POINTS_PER_REQUEST,
  usage,
  usageByMonth,
  type HistoricalQuery,
  type MonthQuery,
  type PointsByService,
  type StatsPage,
  type UsageQuery,
  type WindowQuery,
} from './stats.js';
export {
  envProxyPolicy,
  fixedProxyPolicy,
  parseProxyUrl,
  type HttpProxy,
  type ProxyPolicy,
} from '../http/proxy.js';
export { parseTime, resolveWindow, type TimeWindow } from './time.js';
export {
  BY_VALUES,
  type By,
  type MonthToDateUsageData,
  type StatsEnvelope,
  type StatsMeta,
  type StatsPoint,
  type UsageByRegion,
  type UsageByService,
  type UsageFigures,
} from './types.js';
export { TransportError } from '../http/socket.js';
export {
  HttpTransport,
  type HttpTransportOptions,
  type Transport,
  type TransportRequest,
  type TransportResponse,
} from '../http/transport.js';
export { OneShotTransport } from '../http/http1.js';
export { verifyPurge, type VerifyOptions, type VerifyResult } from './verify.js';
