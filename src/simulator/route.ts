import type { TokenScope } from '../fastly/errors.js';
import { firstHeader } from '../headers.js';
import type { RequestLogEntry, SimState } from './state.js';

export interface SimRequest {
  method: string;
  /** Path as received, before the query string. */
  path: string;
  /** Path and query exactly as received. */
  target: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  token: string | undefined;
  /** Epoch ms when the request arrived (before any simulated latency). */
  receivedAt: number;
}

export interface SimReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** `null` sends no Content-Type (Fastly's bulk purge answers like that). */
  contentType?: string | null;
  log?: Partial<RequestLogEntry>;
}

export type Route = (req: SimRequest, state: SimState) => SimReply | undefined;

export function header(req: SimRequest, name: string): string | undefined {
  return firstHeader(req.headers, name);
}

export const json = (status: number, body: unknown, extra: Partial<SimReply> = {}): SimReply => ({
  status,
  body,
  ...extra,
});

/** Fastly's legacy error body. */
export const fastlyError = (status: number, msg: string, detail?: string): SimReply =>
  json(status, detail ? { msg, detail } : { msg });

/** Checks the Fastly-Key header against the configured tokens; returns an error reply when refused. */
export function authorize(req: SimRequest, state: SimState, scope: TokenScope): SimReply | undefined {
  const token = req.token;
  if (!token) return fastlyError(401, 'Provided credentials are missing or invalid');
  if (!state.tokens) return undefined;
  const scopes = state.tokens[token];
  if (!scopes) return fastlyError(401, 'Provided credentials are missing or invalid');
  const ok =
    scopes.includes(scope) ||
    (scope !== 'purge_all' && scopes.includes('global')) ||
    (scope === 'global:read' && scopes.includes('global'));
  if (!ok) {
    return fastlyError(
      403,
      'You are not authorized to perform this action',
      `This API token does not have the '${scope}' scope`,
    );
  }
  return undefined;
}
