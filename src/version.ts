import { readFileSync } from 'node:fs';

/** Set by scripts/bundle.mjs in the CLI bundle, so a cold start reads no package.json. */
declare const __KF_VERSION__: string | undefined;

let version: string | undefined;

/** The version in package.json (two levels up from dist/src/ and dist/bundle/ alike), read once on first use. */
export function packageVersion(): string {
  version ??=
    typeof __KF_VERSION__ === 'string'
      ? __KF_VERSION__
      : (
          JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
            version: string;
          }
        ).version;
  return version;
}
