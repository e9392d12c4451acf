import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { InvalidInputError } from '../errors.js';
import { ExpressionError, hasExpression } from './expressions.js';
import type { Masker } from '../masker.js';
import { parseJson, writeJson } from '../pebble/java.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Resolves `secret('NAME')` as Kestra's open-source edition does (`SECRET_NAME`, base64, name
 * upper-cased), then plain `NAME` from the environment, then a dotenv file. Every value is masked.
 */
export class SecretStore {
  readonly #env: NodeJS.ProcessEnv;
  readonly #file: Record<string, string>;
  readonly #masker: Masker;

  constructor(env: NodeJS.ProcessEnv, masker: Masker, secretsFile?: string) {
    this.#env = env;
    this.#masker = masker;
    this.#file = secretsFile ? readSecretsFile(secretsFile) : {};
  }

  /** Secrets read that were set but empty, each with where it was found: "FASTLY_API_TOKEN is set but empty". */
  readonly empty = new Map<string, string>();

  /** The names of the secrets read (found), in the order first read. */
  readonly used = new Set<string>();

  get(name: string): string {
    const value = this.#get(name);
    this.used.add(name);
    return value;
  }

  #get(name: string): string {
    const upper = name.toUpperCase();
    const encoded = Object.entries(this.#env).find(([k]) => k.toUpperCase() === `SECRET_${upper}`);
    if (encoded?.[1] !== undefined) {
      const value = decodeBase64(encoded[0], encoded[1]);
      // A blank secret hides nothing and masking it would blank every space of every log line.
      if (value.trim() === '') this.empty.set(name, `${encoded[0]} is set but decodes to an empty value`);
      else this.#masker.add(value);
      return value;
    }
    const from = [name, upper].find((k) => this.#env[k] !== undefined);
    const inFile = [name, upper].find((k) => this.#file[k] !== undefined);
    const plain = this.#env[name] ?? this.#env[upper] ?? this.#file[name] ?? this.#file[upper];
    if (plain !== undefined && plain.trim() === '')
      this.empty.set(
        name,
        from !== undefined ? `${from} is set but empty` : `${inFile ?? name} is empty in --secrets-file`,
      );
    if (plain === undefined) {
      throw new ExpressionError(
        `Cannot find secret for key '${name}'. Set SECRET_${upper} (base64), ${upper}, or add it to --secrets-file`,
      );
    }
    if (plain.trim() !== '') this.#masker.add(plain);
    return plain;
  }
}

/**
 * A Fastly token property written as an expression that rendered empty: which secret was set but
 * empty, and where the flow asks for it (`at`: `flows/a.yml:6:15: tasks[0].apiToken: task 'purge'`).
 */
export function emptyTokenError(
  written: unknown,
  rendered: unknown,
  secrets: SecretStore,
  at: string,
): InvalidInputError | undefined {
  if (typeof written !== 'string' || typeof rendered !== 'string' || rendered.trim() !== '') return undefined;
  if (!hasExpression(written)) return undefined;
  const why = [...secrets.empty].filter(([name]) => written.includes(name)).map(([, d]) => d);
  return new InvalidInputError(
    `${at}: ${JSON.stringify(written)} gives an empty Fastly API token${why.length ? `: ${why.join('; ')}` : ''}; set it to the token's value`,
    'apiToken',
  );
}

function decodeBase64(variable: string, raw: string): string {
  const text = raw.replace(/[\r\n]/g, '').trim();
  if (!BASE64.test(text) || text.length % 4 === 1) {
    throw new InvalidInputError(
      `${variable}: the value is not valid base64 (value hidden); Kestra secrets are base64-encoded, e.g. $(printf %s "$TOKEN" | base64 -w0)`,
      variable,
    );
  }
  return Buffer.from(text, 'base64').toString('utf8');
}

function readSecretsFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(
      `--secrets-file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`,
      '--secrets-file',
    );
  }
  return parseEnv(text) as Record<string, string>;
}

/**
 * A task run's outputs as they were, before masking, kept beside the masked ones so that a resumed
 * execution hands the next tasks the real values (not `******`) without a secret ever being
 * written in the clear: AES-256-GCM under a key derived (HKDF-SHA256, salted with the execution's
 * id) from the values of the secrets the execution had read. `with` names them (names only); the
 * resumed execution reads them again to open it.
 */
export interface Sealed {
  with: string[];
  data: string;
}

function sealKey(secrets: SecretStore, names: readonly string[], salt: string): Buffer {
  const material = JSON.stringify(names.map((n) => [n, secrets.get(n)]));
  return Buffer.from(hkdfSync('sha256', material, salt, 'kestra-fastly task outputs', 32));
}

/** Seals `value` with the secrets read so far; undefined when none was read (nothing to key it with). */
export function seal(secrets: SecretStore, salt: string, value: unknown): Sealed | undefined {
  const names = [...secrets.used];
  if (!names.length) return undefined;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealKey(secrets, names, salt), iv);
  const body = Buffer.concat([cipher.update(writeJson(value), 'utf8'), cipher.final()]);
  return { with: names, data: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64') };
}

/** The value `seal` sealed; undefined when a secret it names is gone or has changed. */
export function unseal(secrets: SecretStore, salt: string, sealed: Sealed): unknown {
  try {
    const raw = Buffer.from(sealed.data, 'base64');
    const decipher = createDecipheriv(
      'aes-256-gcm',
      sealKey(secrets, sealed.with, salt),
      raw.subarray(0, 12),
    );
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    return parseJson(text);
  } catch {
    return undefined;
  }
}
