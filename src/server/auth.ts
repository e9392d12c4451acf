import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { InvalidInputError, show } from '../errors.js';
import { isLoopbackHost } from '../http/loopback.js';
import { fail, isWebhookPath, type Listen, type RouteModule, sameSecret } from './app.js';

/** A user of Kestra's `basicAuth`: a name and a password. */
export interface BasicUser {
  username: string;
  password: string;
}

/** How the HTTP API is entered: a bearer token, basic-auth users, or neither (loopback only). */
export interface AuthConfig {
  apiToken?: string | undefined;
  /** Where the token came from, as named in messages: `--api-token` (the default) or a variable. */
  apiTokenFrom?: string | undefined;
  users?: readonly BasicUser[] | undefined;
}

/**
 * Reads `user:password` lines (from `KESTRA_FASTLY_BASIC_AUTH` or a `--basic-auth-file`): one user a
 * line, blank lines and `#` comments skipped. A password is never shown in a message.
 */
export function parseBasicUsers(text: string, where: string): BasicUser[] {
  const users: BasicUser[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const at = line.indexOf(':');
    const place = `${where}${where.includes('KESTRA_FASTLY') ? '' : `:${i + 1}`}`;
    // Without a colon the line may be a password alone: it is never echoed.
    if (at < 0)
      throw new InvalidInputError(
        `${place}: no ':' in the value (value hidden); expected USER:PASSWORD`,
        where,
      );
    const username = line.slice(0, at);
    const password = line.slice(at + 1);
    if (!username || /\s/.test(username))
      throw new InvalidInputError(
        `${place}: ${show(username)} is not a user name; expected USER:PASSWORD with a user name without spaces`,
        where,
      );
    if (password.length < 8)
      throw new InvalidInputError(
        `${place}: the password of user ${show(username)} is too short (value hidden); expected USER:PASSWORD with at least 8 characters`,
        where,
      );
    if (users.some((u) => u.username === username))
      throw new InvalidInputError(`${place}: user ${show(username)} is listed twice; keep one line`, where);
    users.push({ username, password });
  });
  return users;
}

/**
 * The basic-auth users: `--basic-auth-file` (USER:PASSWORD lines) and `KESTRA_FASTLY_BASIC_AUTH`
 * (one USER:PASSWORD), both when given. A file that cannot be read is refused on one line.
 */
export function readBasicUsers(file: string | undefined, env: string | undefined): BasicUser[] {
  const users: BasicUser[] = [];
  if (env) users.push(...parseBasicUsers(env, 'KESTRA_FASTLY_BASIC_AUTH'));
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new InvalidInputError(
        `--basic-auth-file: cannot read ${show(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'}); expected a file of USER:PASSWORD lines`,
        '--basic-auth-file',
      );
    }
    const more = parseBasicUsers(text, file);
    if (!more.length)
      throw new InvalidInputError(
        `--basic-auth-file: ${show(file)} lists no user; expected USER:PASSWORD lines`,
        '--basic-auth-file',
      );
    for (const u of more) {
      if (users.some((x) => x.username === u.username))
        throw new InvalidInputError(
          `--basic-auth-file: user ${show(u.username)} is also in KESTRA_FASTLY_BASIC_AUTH; keep one`,
          '--basic-auth-file',
        );
      users.push(u);
    }
  }
  return users;
}

/** The bearer token: refused when guessable; with no basic users, required off loopback. */
export function checkAuth(listen: Listen, auth: AuthConfig): AuthConfig {
  const token = auth.apiToken;
  if (token !== undefined && token !== '' && (token.length < 16 || /\s/.test(token))) {
    const from = auth.apiTokenFrom ?? '--api-token';
    throw new InvalidInputError(
      `${from}: the API token is invalid (value hidden); expected at least 16 characters without whitespace`,
      from,
    );
  }
  const users = auth.users ?? [];
  if (!token && !users.length && !isLoopbackHost(listen.host)) {
    throw new InvalidInputError(
      `--listen: ${show(`${listen.host}:${listen.port}`)} is not a loopback address; listening there requires --api-token or KESTRA_FASTLY_API_TOKEN (bearer authentication), or basic-auth users (--basic-auth-file, KESTRA_FASTLY_BASIC_AUTH)`,
      '--listen',
    );
  }
  return { apiToken: token || undefined, users };
}

/** Probes' paths: answered without credentials (`/healthz`, Kestra's `/health` and its probes). */
export const isHealthPath = (path: string): boolean =>
  /^\/(?:healthz|health(?:\/(?:liveness|readiness))?)$/.test(path);

const LOGIN_PATH = '/login';
const SESSION_COOKIE = 'kestra_fastly_session';
const SESSION_MS = 12 * 3600_000;

/** Paths anyone may reach: the webhook (its key authorizes), the probes, the login page, the icon. */
const isOpenPath = (path: string) =>
  isWebhookPath(path) || isHealthPath(path) || path === LOGIN_PATH || path === '/favicon.ico';

/**
 * Signed dashboard sessions: `expiry.user.mac`, HMAC-SHA256 under a key made at start-up (sessions
 * end with the process). The cookie is HttpOnly and SameSite=Strict.
 */
class Sessions {
  readonly #key = randomBytes(32);
  #mac(body: string) {
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }
  issue(user: string, now = Date.now()): string {
    const body = `${now + SESSION_MS}.${Buffer.from(user).toString('base64url')}`;
    return `${body}.${this.#mac(body)}`;
  }
  /** Logged-out cookies, until they would have expired anyway (a copied cookie ends with logout). */
  readonly #revoked = new Map<string, number>();
  revoke(cookie: string | undefined, now = Date.now()): void {
    if (!cookie || !this.valid(cookie, now)) return;
    for (const [c, expiry] of this.#revoked) if (expiry <= now) this.#revoked.delete(c);
    this.#revoked.set(cookie, Number(cookie.split('.')[0]));
  }
  valid(cookie: string | undefined, now = Date.now()): boolean {
    if (!cookie || this.#revoked.has(cookie)) return false;
    const at = cookie.lastIndexOf('.');
    if (at < 0) return false;
    const body = cookie.slice(0, at);
    const expiry = Number(body.split('.')[0]);
    return sameSecret(cookie.slice(at + 1), this.#mac(body)) && Number.isFinite(expiry) && expiry > now;
  }
}

function basicCredentials(header: string): BasicUser | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!m) return undefined;
  const text = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const at = text.indexOf(':');
  return at < 0 ? undefined : { username: text.slice(0, at), password: text.slice(at + 1) };
}

/** Whether the pair is one of the users; every user is compared, in constant time. */
function knownUser(users: readonly BasicUser[], given: BasicUser): boolean {
  let ok = false;
  for (const u of users) {
    const same = sameSecret(given.username, u.username) && sameSecret(given.password, u.password);
    ok ||= same;
  }
  return ok;
}

const wantsPage = (c: Context) =>
  c.req.method === 'GET' &&
  (c.req.header('accept') ?? '').includes('text/html') &&
  !c.req.path.startsWith('/api/');

/** A cookie is sent by the browser whatever page asked: a write it carries must come from this origin. */
function sameOrigin(c: Context): boolean {
  const origin = c.req.header('origin');
  if (!origin || c.req.method === 'GET' || c.req.method === 'HEAD') return true;
  try {
    return new URL(origin).host === c.req.header('host');
  } catch {
    return false;
  }
}

export interface Auth {
  middleware: MiddlewareHandler;
  routes: RouteModule;
}

/**
 * The API's one authentication: `Authorization: Bearer <api token>`, `Authorization: Basic` for
 * a basic-auth user, or the dashboard's session cookie (from the login page). Nothing is asked when
 * neither a token nor users are configured (a loopback server).
 */
export function authentication(config: AuthConfig): Auth {
  const token = config.apiToken;
  const users = config.users ?? [];
  const sessions = new Sessions();
  const enabled = Boolean(token) || users.length > 0;
  const middleware: MiddlewareHandler = async (c, next) => {
    if (!enabled || isOpenPath(c.req.path)) return next();
    const header = c.req.header('authorization') ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(header);
    if (bearer && token && sameSecret(bearer[1] as string, token)) return next();
    const basic = basicCredentials(header);
    if (basic && knownUser(users, basic)) return next();
    if (!header && sessions.valid(getCookie(c, SESSION_COOKIE)) && sameOrigin(c)) return next();
    if (!header && wantsPage(c)) {
      const back = c.req.path + (new URL(c.req.url).search || '');
      return c.redirect(`${LOGIN_PATH}?next=${encodeURIComponent(back)}`);
    }
    const schemes = [...(token ? ['Bearer'] : []), ...(users.length ? ['Basic realm="kestra-fastly"'] : [])];
    c.header('WWW-Authenticate', schemes.join(', '));
    const accepted = [
      ...(token ? ['Authorization: Bearer <api token>'] : []),
      ...(users.length ? ['Authorization: Basic (a basic-auth user)'] : []),
    ].join(' or ');
    return fail(c, 401, header ? 'the credentials are wrong' : `missing credentials: send ${accepted}`);
  };
  const page = (message = '', next = '/ui/') =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>kestra-fastly: sign in</title>
<style>body{font:15px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;margin:0}form{display:grid;gap:.6em;width:18em}input,button{font:inherit;padding:.4em}p{color:#b00020;margin:0}</style></head>
<body><form method="post" action="${LOGIN_PATH}"><h1>kestra-fastly</h1>${message ? `<p role="alert">${message}</p>` : ''}
<label>User <input name="username" autocomplete="username"></label>
<label>Password or API token <input name="password" type="password" autocomplete="current-password" required></label>
<input type="hidden" name="next" value="${next.replace(/[^A-Za-z0-9/_.?=&%-]/g, '')}"><button>Sign in</button></form></body></html>
`;
  /** Only a path of this server: no open redirect. */
  const safeNext = (value: unknown) =>
    typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : '/ui/';
  const routes: RouteModule = (app: Hono) => {
    app.get(LOGIN_PATH, (c) => {
      c.header('cache-control', 'no-store');
      return c.html(page('', safeNext(c.req.query('next'))));
    });
    app.post(LOGIN_PATH, async (c) => {
      c.header('cache-control', 'no-store');
      const form: Record<string, unknown> = await c.req.parseBody().catch(() => ({}));
      const username = typeof form.username === 'string' ? form.username : '';
      const password = typeof form.password === 'string' ? form.password : '';
      const next = safeNext(form.next);
      const ok =
        !enabled ||
        (users.length > 0 && knownUser(users, { username, password })) ||
        (!!token && sameSecret(password, token));
      if (!ok) return c.html(page('Wrong user, password or token.', next), 401);
      setCookie(c, SESSION_COOKIE, sessions.issue(username || 'api-token'), {
        httpOnly: true,
        sameSite: 'Strict',
        path: '/',
        maxAge: SESSION_MS / 1000,
        secure: new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https',
      });
      return c.redirect(next, 303);
    });
    app.post('/logout', (c) => {
      sessions.revoke(getCookie(c, SESSION_COOKIE));
      deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Strict' });
      return c.redirect(LOGIN_PATH, 303);
    });
  };
  return { middleware, routes };
}
