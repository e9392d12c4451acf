/**
 * The Fastly CLI's profiles (`fastly profile create`, `fastly auth add`): their token is used after the
 * environment, or when --profile names one, and is never printed.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveToken } from '../src/cli/context.js';
import { fastlyConfigPath } from '../src/cli/profile.js';
import { InvalidInputError } from '../src/errors.js';
import { runCli, SERVICE, sim } from './helpers.js';

/** An XDG config folder holding `text` as fastly/config.toml; the env that points at it. */
function configured(text: string): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'kf-profile-'));
  mkdirSync(join(dir, 'fastly'));
  writeFileSync(join(dir, 'fastly', 'config.toml'), text);
  return { HOME: dir, XDG_CONFIG_HOME: dir };
}

// As `fastly profile create` (Fastly CLI ≤ 12) writes it, with the CLI's other sections around.
const LEGACY = `config_version = 4
[fastly]
api_endpoint = "https://api.fastly.com"

[profile.personal]
default = false
email = "me@example.com"
token = "personal-token-1"

[profile.work]
default = true
email = "ops@example.com"
token = "work-token-2"
`;

// As `fastly auth add` (Fastly CLI ≥ 13) writes it.
const AUTH = `config_version = 6
[auth]
default = "ci"

[auth.tokens.ci]
type = "static"
token = "ci-token-3"

[auth.tokens.readonly]
type = "static"
token = 'readonly-token-4'

[profile.work]
default = true
token = "legacy-work-token"
`;

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidInputError, String(err));
    return err.message;
  }
  return assert.fail('accepted');
}

test('the token comes from --token, then --profile, then FASTLY_API_TOKEN, then the default profile', () => {
  const env = configured(LEGACY);
  assert.equal(resolveToken({}, env), 'work-token-2', 'the default profile');
  assert.equal(resolveToken({ profile: 'personal' }, env), 'personal-token-1');
  assert.equal(
    resolveToken({}, { ...env, FASTLY_API_TOKEN: 'env-token' }),
    'env-token',
    'after the environment',
  );
  assert.equal(
    resolveToken({ profile: 'personal' }, { ...env, FASTLY_API_TOKEN: 'env-token' }),
    'personal-token-1',
    'a profile asked for by name wins, as --token does',
  );
  assert.equal(resolveToken({ token: 'flag-token' }, env), 'flag-token');
  const auth = configured(AUTH);
  assert.equal(resolveToken({}, auth), 'ci-token-3', '[auth] default before a [profile] default');
  assert.equal(resolveToken({ profile: 'readonly' }, auth), 'readonly-token-4');
  assert.equal(resolveToken({ profile: 'work' }, auth), 'legacy-work-token');
});

test('no token anywhere, an unknown profile, a broken config: one line each, exit 2, no token shown', () => {
  const none = configured('config_version = 6\n[fastly]\napi_endpoint = "https://api.fastly.com"\n');
  assert.match(
    refused(() => resolveToken({}, none)),
    /^FASTLY_API_TOKEN: no API token; .*fastly profile create/,
  );
  const empty = mkdtempSync(join(tmpdir(), 'kf-noconfig-'));
  assert.match(
    refused(() => resolveToken({}, { HOME: empty, XDG_CONFIG_HOME: empty })),
    /^FASTLY_API_TOKEN: no API token/,
  );
  const env = configured(LEGACY);
  const path = fastlyConfigPath(env);
  assert.equal(
    refused(() => resolveToken({ profile: 'nosuch' }, env)),
    `--profile: "nosuch" has no token in ${path}; its profiles: personal, work`,
  );
  assert.match(
    refused(() => resolveToken({ profile: 'work' }, { HOME: empty, XDG_CONFIG_HOME: empty })),
    /^--profile: cannot read .*config\.toml \(ENOENT\)/,
  );
  const broken = configured('[profile.work]\ntoken = "secret-in-a-broken-line\n');
  const message = refused(() => resolveToken({}, broken));
  assert.match(message, /^profile: .*config\.toml is not valid TOML \(line 2\)/);
  assert.doesNotMatch(message, /secret-in-a-broken-line/);
  const spaced = configured('[profile.work]\ndefault = true\ntoken = "has space"\n');
  const whitespace = refused(() => resolveToken({}, spaced));
  assert.match(
    whitespace,
    /^the token of profile "work" in .*: the Fastly API token contains whitespace \(value hidden\)/,
  );
  assert.doesNotMatch(whitespace, /has space/);
  assert.match(
    refused(() => resolveToken({ token: 'a', profile: 'work' }, env)),
    /^--profile: conflicts with --token/,
  );
});

test('kestra-fastly purge and stats use the default profile, or --profile NAME, and never print its token', async (t) => {
  const s = await sim(t, {
    tokens: { 'work-token-2': ['global', 'purge_select'], 'personal-token-1': ['global:read'] },
  });
  const env = configured(LEGACY) as Record<string, string>;
  const base = { ...env, FASTLY_API_ENDPOINT: s.url, FASTLY_SERVICE_ID: SERVICE };
  const purge = await runCli(['purge', 'key', 'k1', '--debug'], base);
  assert.equal(purge.code, 0, purge.stderr);
  assert.match(purge.stdout, /Purged key k1/);
  // The personal profile may read stats but not purge: the token that was sent is the profile's.
  const denied = await runCli(['purge', 'key', 'k1', '--profile', 'personal'], base);
  assert.equal(denied.code, 1, denied.stderr);
  assert.match(denied.stderr, /403/);
  const stats = await runCli(['stats', 'regions', '--profile', 'personal', '--debug'], base);
  assert.equal(stats.code, 0, stats.stderr);
  for (const r of [purge, denied, stats]) {
    assert.doesNotMatch(r.stdout + r.stderr, /work-token-2|personal-token-1/, 'no token printed');
  }
});
