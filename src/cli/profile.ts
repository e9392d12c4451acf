// The Fastly CLI's stored tokens, read as it stores them, so that a user who ran `fastly profile
// create` (or `fastly auth add`) needs no FASTLY_API_TOKEN. Read only when no token came from the
// flags or the environment: a deploy step's purge, which exports the token, never opens the file.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { InvalidInputError, show } from '../errors.js';

/**
 * Where the Fastly CLI keeps its configuration: Go's os.UserConfigDir plus `fastly/config.toml`
 * ($XDG_CONFIG_HOME or ~/.config on Linux, ~/Library/Application Support on macOS, %AppData% on Windows).
 */
export function fastlyConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME || homedir();
  let dir: string;
  if (process.platform === 'darwin') dir = join(home, 'Library', 'Application Support');
  else if (process.platform === 'win32') dir = env.APPDATA || join(home, 'AppData', 'Roaming');
  else
    dir =
      env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(home, '.config');
  return join(dir, 'fastly', 'config.toml');
}

interface FastlyConfig {
  /** Fastly CLI ≥ 13 (`fastly auth`): `[auth] default = "NAME"`, `[auth.tokens.NAME] token = "…"`. */
  auth?: { default?: unknown; tokens?: Record<string, { token?: unknown }> };
  /** Earlier versions (`fastly profile create`): `[profile.NAME] token = "…"`, `default = true`. */
  profile?: Record<string, { token?: unknown; default?: unknown }>;
}

/** A token from the configuration, and which profile gave it (for messages; never the token). */
export interface ProfileToken {
  token: string;
  /** e.g. `profile "work" in ~/.config/fastly/config.toml`. */
  source: string;
}

function readConfig(path: string, flag: string | undefined): FastlyConfig | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (flag === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InvalidInputError(
      `${flag ?? 'profile'}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}); expected the Fastly CLI's configuration (fastly profile create)`,
      flag ?? '--profile',
    );
  }
  try {
    const { parse } = createRequire(import.meta.url)('smol-toml') as typeof import('smol-toml');
    return parse(text);
  } catch (err) {
    // The parser's message quotes the line, which may hold a token: only its position is said.
    const line = (err as { line?: number }).line;
    throw new InvalidInputError(
      `${flag ?? 'profile'}: ${path} is not valid TOML${line ? ` (line ${line})` : ''}; fix it or run fastly profile create again`,
      flag ?? '--profile',
    );
  }
}

const names = (c: FastlyConfig) => [
  ...new Set([...Object.keys(c.auth?.tokens ?? {}), ...Object.keys(c.profile ?? {})]),
];

/**
 * The token of profile `name` (`--profile`), or of the default profile when `name` is undefined
 * (undefined when there is no configuration or no default). Stored tokens (`[auth.tokens]`) are
 * looked up before the older `[profile]` entries, as the Fastly CLI migrates them.
 */
export function profileToken(
  name: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ProfileToken | undefined {
  const path = fastlyConfigPath(env);
  const config = readConfig(path, name === undefined ? undefined : '--profile');
  if (!config) return undefined;
  let chosen = name;
  if (chosen === undefined) {
    const auth = typeof config.auth?.default === 'string' ? config.auth.default : '';
    chosen = auth || Object.entries(config.profile ?? {}).find(([, p]) => p?.default === true)?.[0];
    if (chosen === undefined) return undefined;
  }
  const token = config.auth?.tokens?.[chosen]?.token ?? config.profile?.[chosen]?.token;
  if (typeof token !== 'string' || token === '') {
    const known = names(config);
    throw new InvalidInputError(
      `--profile: ${name === undefined ? `the default profile ${show(chosen)}` : show(chosen)} has no token in ${path}; ${known.length ? `its profiles: ${known.join(', ')}` : 'it has no profiles (fastly profile create NAME)'}`,
      '--profile',
    );
  }
  return { token, source: `profile ${show(chosen)} in ${path}` };
}
