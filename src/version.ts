import { readFileSync } from 'node:fs';

let version: string | undefined;

/** The version in package.json (two levels up from dist/src/ and dist/bundle/ alike), read once on first use. */
export function packageVersion(): string {
  version ??= (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
  return version;
}
