import type { TokenScope } from '../fastly/errors.js';
import { ALL_SCOPES } from './state.js';

/**
 * Parses `NAME=scope,scope` (the simulator's `--token` flag). Returns the token and its scopes, or a
 * one-line reason the spec was refused. The token itself is never echoed back in the reason.
 */
export function parseTokenSpec(spec: string): { token: string; scopes: TokenScope[] } | string {
  const eq = spec.indexOf('=');
  if (eq <= 0) return `expected NAME=scope[,scope…] with scopes among ${ALL_SCOPES.join(', ')}`;
  const token = spec.slice(0, eq);
  return checkScopes(token, spec.slice(eq + 1).split(','));
}

/** Reads a tokens file's JSON `{ "NAME": ["scope", …] }`; returns a reason when malformed. */
export function parseTokensJson(text: string): Record<string, TokenScope[]> | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'expected JSON {"TOKEN": ["scope", …]}';
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return 'expected JSON {"TOKEN": ["scope", …]}';
  }
  const out: Record<string, TokenScope[]> = {};
  for (const [token, scopes] of Object.entries(doc)) {
    if (!Array.isArray(scopes)) return `the scopes of a token must be a list among ${ALL_SCOPES.join(', ')}`;
    const parsed = checkScopes(token, scopes);
    if (typeof parsed === 'string') return parsed;
    out[token] = parsed.scopes;
  }
  return out;
}

function checkScopes(token: string, scopes: unknown[]): { token: string; scopes: TokenScope[] } | string {
  const list = scopes.map((s) => (typeof s === 'string' ? s.trim() : s)).filter((s) => s !== '');
  const bad = list.find((s) => typeof s !== 'string' || !(ALL_SCOPES as string[]).includes(s));
  if (bad !== undefined) return `unknown scope ${JSON.stringify(bad)}; expected ${ALL_SCOPES.join(', ')}`;
  return { token, scopes: list as TokenScope[] };
}
