import { authorize, fastlyError, header, json, type Route, type SimReply, type SimRequest } from './route.js';
import type { SimState } from './state.js';

const MAX_BULK_KEYS = 256;

function rateLimitHeaders(
  state: SimState,
  token: string,
): { headers: Record<string, string>; exceeded: boolean } {
  const now = Date.now();
  const hour = 3_600_000;
  let usage = state.hourlyUsage.get(token);
  if (!usage || now - usage.windowStart >= hour) {
    usage = { windowStart: now - (now % hour), count: 0 };
    state.hourlyUsage.set(token, usage);
  }
  usage.count++;
  const remaining = Math.max(0, state.hourlyLimit - usage.count);
  const reset = Math.ceil((usage.windowStart + hour) / 1000);
  return {
    headers: { 'fastly-ratelimit-remaining': String(remaining), 'fastly-ratelimit-reset': String(reset) },
    exceeded: usage.count > state.hourlyLimit,
  };
}

/**
 * The purge budget (`purgeLimit` per `purgeWindowSeconds`, per token): charges `count` purges to the
 * token's window, or refuses them all when they do not fit. Undefined when no budget is configured.
 */
function purgeBudget(
  state: SimState,
  token: string,
  count: number,
): { headers: Record<string, string>; exceeded: boolean } | undefined {
  if (state.purgeLimit === undefined) return undefined;
  const now = Date.now();
  const windowMs = state.purgeWindowMs;
  let usage = state.purgeUsage.get(token);
  if (!usage || now - usage.windowStart >= windowMs) {
    usage = { windowStart: now - (now % windowMs), count: 0 };
    state.purgeUsage.set(token, usage);
  }
  const exceeded = usage.count + count > state.purgeLimit;
  if (!exceeded) usage.count += count;
  return {
    headers: {
      'fastly-ratelimit-remaining': String(Math.max(0, state.purgeLimit - usage.count)),
      'fastly-ratelimit-reset': String(Math.ceil((usage.windowStart + windowMs) / 1000)),
    },
    exceeded,
  };
}

const OVER_PURGE_BUDGET = { msg: 'You have exceeded your hourly rate limit. Please try again later.' };

function softOf(req: SimRequest): boolean {
  // Like Fastly, the header's presence alone makes the purge soft.
  return header(req, 'fastly-soft-purge') !== undefined;
}

/**
 * POST /purge/{url}: the URL is everything after `/purge/`, query included. Older clients send
 * `PURGE /{absolute url}` to the API host instead (go-fastly fastly/fixtures/purges/purge.yaml).
 */
const purgeUrl: Route = (req, state) => {
  const legacy = req.method === 'PURGE' && /^\/https?:\/\//i.test(req.target);
  if (!legacy && (req.method !== 'POST' || !req.target.startsWith('/purge/'))) return undefined;
  const denied = authorize(req, state, 'purge_select');
  if (denied) return denied;
  const raw = req.target.slice(legacy ? 1 : '/purge/'.length);
  if (/%2f/i.test(raw.split('?')[0] ?? '') || /^[a-z]+%3a/i.test(raw)) {
    return json(400, { status: 'fail', msg: 'malformed purge request' });
  }
  let url: URL;
  try {
    url = new URL(/^https?:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    return json(400, { status: 'fail', msg: 'malformed purge request' });
  }
  const service = state.serviceForHost(url.host);
  if (!service) return json(404, { msg: 'Record not found', details: 'Cannot find service' });
  const soft = softOf(req);
  const budget = purgeBudget(state, req.token ?? '', 1);
  if (budget?.exceeded)
    return json(429, OVER_PURGE_BUDGET, { headers: budget.headers, log: { serviceId: service.id, soft } });
  state.cache.purgeUrl(url.host, url.pathname + url.search, soft);
  return json(
    200,
    { status: 'ok', id: state.purgeId() },
    { headers: budget?.headers ?? {}, log: { serviceId: service.id, soft } },
  );
};

const SERVICE_PURGE = /^\/service\/([^/]+)\/(purge_all|purge)(?:\/(.*))?$/;

const servicePurge: Route = (req, state) => {
  const m = SERVICE_PURGE.exec(req.path);
  if (!m || req.method !== 'POST') return undefined;
  const [, serviceId = '', action, rest] = m;
  if (action === 'purge_all' && rest !== undefined) return undefined;
  const denied = authorize(req, state, action === 'purge_all' ? 'purge_all' : 'purge_select');
  if (denied) return denied;
  if (!state.services.has(serviceId)) {
    return fastlyError(404, 'Record not found', `Couldn't find Service '${serviceId}'`);
  }
  const soft = softOf(req);
  if (action === 'purge_all') return purgeAll(req, state, serviceId);
  if (rest !== undefined) {
    const budget = purgeBudget(state, req.token ?? '', 1);
    if (budget?.exceeded)
      return json(429, OVER_PURGE_BUDGET, { headers: budget.headers, log: { serviceId, soft, keys: 1 } });
    // Keys are taken literally, never URL-decoded. A '/' in the key "succeeds" yet purges nothing,
    // as reported against the real API.
    if (!rest.includes('/')) state.cache.purgeKey(serviceId, rest, soft);
    return json(
      200,
      { status: 'ok', id: state.purgeId() },
      { headers: { ...keyPurgeHeaders(1), ...budget?.headers }, log: { serviceId, soft, keys: 1 } },
    );
  }
  return bulkPurge(req, state, serviceId, soft);
};

/** As recorded from the real API (go-fastly fastly/fixtures/purges/purge_by_key{,s}.yaml). */
function keyPurgeHeaders(count: number): Record<string, string> {
  return { 'fastly-surrogate-key-count': String(count), 'fastly-instant-rate': '0' };
}

function bulkPurge(req: SimRequest, state: SimState, serviceId: string, soft: boolean): SimReply {
  let keys: unknown;
  const fromHeader = header(req, 'surrogate-key');
  if (req.body.trim() !== '') {
    try {
      keys = (JSON.parse(req.body) as { surrogate_keys?: unknown }).surrogate_keys;
    } catch {
      return json(400, { status: 'fail', reason: 'Invalid JSON body' });
    }
  } else if (fromHeader !== undefined) {
    keys = fromHeader.split(' ').filter(Boolean);
  }
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string' && k !== '')) {
    return json(400, { status: 'fail', reason: 'No surrogate keys given' });
  }
  if (keys.length > MAX_BULK_KEYS) {
    return json(400, {
      status: 'fail',
      reason: `Batch surrogate key request only supports up to ${MAX_BULK_KEYS} surrogate keys`,
    });
  }
  const budget = purgeBudget(state, req.token ?? '', keys.length);
  if (budget?.exceeded)
    return json(429, OVER_PURGE_BUDGET, {
      headers: budget.headers,
      log: { serviceId, soft, keys: keys.length, surrogateKeys: keys as string[] },
    });
  const ids: Record<string, string> = {};
  for (const key of keys as string[]) {
    state.cache.purgeKey(serviceId, key, soft);
    ids[key] = state.purgeId();
  }
  return json(200, ids, {
    contentType: null,
    headers: { ...keyPurgeHeaders(keys.length), ...budget?.headers },
    log: { serviceId, soft, keys: keys.length, surrogateKeys: keys as string[] },
  });
}

function purgeAll(req: SimRequest, state: SimState, serviceId: string): SimReply {
  const limit = rateLimitHeaders(state, req.token ?? '');
  if (limit.exceeded) {
    return json(
      429,
      { msg: 'You have exceeded your hourly rate limit. Please try again later.' },
      { headers: limit.headers, log: { serviceId } },
    );
  }
  const now = Date.now();
  const last = state.lastPurgeAll.get(serviceId);
  if (last !== undefined && now - last < state.purgeAllIntervalMs) {
    const wait = Math.max(1, Math.ceil((state.purgeAllIntervalMs - (now - last)) / 1000));
    return json(
      429,
      { msg: 'Too many purge_all requests for this service, slow down' },
      { headers: { ...limit.headers, 'retry-after': String(wait) }, log: { serviceId } },
    );
  }
  state.lastPurgeAll.set(serviceId, now);
  state.cache.purgeAll(serviceId);
  return json(200, { status: 'ok' }, { headers: limit.headers, log: { serviceId } });
}

/** Requests whose Host is a service domain are served by the edge cache model. */
export const edge: Route = (req, state) => {
  const host = header(req, 'host') ?? '';
  const service = state.serviceForHost(host);
  if (!service) return undefined;
  const hostname = host.replace(/:\d+$/, '');
  if (req.method === 'PURGE') {
    state.cache.purgeUrl(hostname, req.target, softOf(req));
    return json(200, { status: 'ok', id: state.purgeId() }, { log: { serviceId: service.id } });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return fastlyError(405, 'Method not allowed');
  const { xCache, object } = state.cache.fetch(service.id, hostname, req.target);
  const age = Math.floor((Date.now() - object.cachedAt) / 1000);
  const headers: Record<string, string> = {
    'x-cache': xCache,
    age: String(xCache === 'MISS' ? 0 : age),
    'x-served-by': 'cache-sim-127001-SIM',
    'cache-control': 'public, max-age=3600',
  };
  // Fastly strips Surrogate-Key from responses unless Fastly-Debug is sent.
  if (header(req, 'fastly-debug')) headers['surrogate-key'] = object.surrogateKeys.join(' ');
  return {
    status: 200,
    body: `<html><body>${hostname}${req.target}</body></html>`,
    contentType: 'text/html',
    headers,
    log: { serviceId: service.id },
  };
};

export const purgeRoutes: Route[] = [purgeUrl, servicePurge];
