import { InvalidInputError, RunFailedError, show } from '../errors.js';
import { isLoopbackHost } from '../fastly/client.js';

/** An HTTP call made by a task (Request, notifications) failed: refused, timed out, or answered an error status. */
export class HttpCallError extends RunFailedError {
  override readonly name = 'HttpCallError';
  override readonly code: 'HTTP_STATUS' | 'HTTP_NETWORK' | 'HTTP_TIMEOUT';
  readonly status: number | undefined;
  constructor(message: string, code: HttpCallError['code'], status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = status;
  }
}

/**
 * Credential headers, the one list: Authorization, Proxy-Authorization, Cookie, Set-Cookie, Fastly-Key,
 * X-Api-Key, X-Auth-Token… — any header whose name contains token, secret, key, auth, password,
 * cookie or session. It errs on the side of hiding (Surrogate-Key is left out too).
 */
const CREDENTIAL_HEADER = /token|secret|key|auth|passw|cookie|session/i;

/** Whether a header (by name) may carry a credential: never stored, never sent over plain http. */
export function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_HEADER.test(name);
}

export interface TargetRules {
  /** The property naming the URL, for messages. */
  property: string;
  /** The URL is itself a credential (incoming-webhook URLs): never shown, https required off loopback. */
  secretUrl?: boolean;
  /** The request carries credentials (Authorization, cookies): https required off loopback. */
  carriesCredentials?: boolean;
}

/**
 * Checks a target URL. Plain http:// is refused off loopback when it would expose a secret (the
 * URL itself, or credentials in headers), as the project's rule for API endpoints.
 */
export function checkTarget(raw: string, rules: TargetRules): URL {
  const shown = rules.secretUrl ? '(value hidden)' : show(raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidInputError(
      `${rules.property}: ${shown} is not a URL; expected https://…`,
      rules.property,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidInputError(`${rules.property}: ${shown} must be an http(s):// URL`, rules.property);
  }
  const secret = rules.secretUrl || rules.carriesCredentials || url.username !== '' || url.password !== '';
  if (url.protocol === 'http:' && secret && !isLoopbackHost(url.hostname)) {
    throw new InvalidInputError(
      `${rules.property}: ${rules.secretUrl ? 'the URL (value hidden)' : show(raw)} uses plain http on a non-loopback host while carrying a secret; use https (http is allowed only for 127.0.0.1, ::1 or localhost)`,
      rules.property,
    );
  }
  return url;
}

export interface HttpCall {
  url: URL;
  method: string;
  headers?: Record<string, string>;
  body?: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** How the target is named in messages ("Slack webhook", or the URL). */
  label: string;
}

export interface HttpAnswer {
  code: number;
  headers: Record<string, string[]>;
  body: string;
}

/** Largest response body kept (the rest is cut). */
const MAX_RESPONSE_CHARS = 10 * 1024 * 1024;

/** One HTTP call with a timeout and the task's AbortSignal; network errors become HttpCallError. */
export async function httpCall(call: HttpCall): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(call.url, {
      method: call.method,
      headers: call.headers,
      body: call.body,
      signal,
      redirect: 'manual',
    });
  } catch (err) {
    if (timeout.aborted)
      throw new HttpCallError(
        `${call.label}: no answer within ${call.timeoutMs} ms`,
        'HTTP_TIMEOUT',
        undefined,
        {
          cause: err,
        },
      );
    if (call.signal?.aborted) throw err;
    const cause = (err as Error & { cause?: { code?: string } }).cause;
    throw new HttpCallError(
      `${call.label}: request failed (${cause?.code ?? (err as Error).message})`,
      'HTTP_NETWORK',
      undefined,
      { cause: err },
    );
  }
  const headers: Record<string, string[]> = {};
  res.headers.forEach((value, name) => (headers[name] ??= []).push(value));
  const text = await res.text();
  return {
    code: res.status,
    headers,
    body: text.length > MAX_RESPONSE_CHARS ? text.slice(0, MAX_RESPONSE_CHARS) : text,
  };
}
