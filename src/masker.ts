const MASK = '******';

/**
 * One case-insensitive pattern of every value, longest first: a secret passed through a filter
 * (`| upper`, `| lower`, `| capitalize`) is hidden as well as the secret itself.
 */
function patternOf(values: Set<string>): RegExp | undefined {
  if (!values.size) return undefined;
  const alternatives = [...values]
    .sort((a, b) => b.length - a.length)
    .map((v) => v.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
  return new RegExp(alternatives.join('|'), 'gi');
}

function replaceAll(text: string, pattern: RegExp | undefined): string {
  return pattern ? text.replace(pattern, MASK) : text;
}

/**
 * Replaces secrets (and their base64 forms) with `******`, in any letter case. Log lines hide every
 * secret, as Kestra does; an execution's values (outputs, inputs, trigger) hide every secret too, but
 * object keys are kept, so that e.g. a service id read from a secret does not blank out the keys of
 * stats `data`.
 */
export class Masker {
  readonly #secrets = new Set<string>();
  readonly #credentials = new Set<string>();
  #secretsPattern: RegExp | undefined;
  #credentialsPattern: RegExp | undefined;

  add(secret: string | undefined): void {
    // Every secret, however short: a one-letter secret hides that letter everywhere in a line (README).
    if (!secret) return;
    if (this.#secrets.has(secret)) return;
    this.#secrets.add(secret);
    this.#secrets.add(Buffer.from(secret).toString('base64'));
    this.#secretsPattern = patternOf(this.#secrets);
  }

  addCredential(secret: string | undefined): void {
    this.add(secret);
    if (!secret || this.#credentials.has(secret)) return;
    this.#credentials.add(secret);
    this.#credentials.add(Buffer.from(secret).toString('base64'));
    this.#credentialsPattern = patternOf(this.#credentials);
  }

  /** Whether any secret was added. */
  get active(): boolean {
    return this.#secretsPattern !== undefined;
  }

  /** Whether `text` shows a secret (in any letter case), i.e. whether `mask` would change it. */
  shows(text: string): boolean {
    return this.#secretsPattern !== undefined && text.search(this.#secretsPattern) !== -1;
  }

  /** For log lines and errors: every secret hidden. */
  mask(text: string): string {
    return replaceAll(text, this.#secretsPattern);
  }

  /**
   * `value` with every secret hidden inside its strings; object keys are left as they are. Only the
   * objects and arrays on the way to a changed string are copied, so megabytes of stats cost a walk.
   */
  maskValues<T>(value: T): T {
    const pattern = this.#secretsPattern;
    if (!pattern) return value;
    const done = new Map<object, unknown>();
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return replaceAll(v, pattern);
      if (!v || typeof v !== 'object') return v;
      if (done.has(v)) return done.get(v);
      let out: unknown = v;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const x = walk(v[i]);
          if (x === v[i]) continue;
          if (out === v) out = v.slice();
          (out as unknown[])[i] = x;
        }
      } else if (Object.getPrototypeOf(v) === Object.prototype) {
        const o = v as Record<string, unknown>;
        for (const k of Object.keys(o)) {
          const x = walk(o[k]);
          if (x === o[k]) continue;
          if (out === v) out = { ...o };
          (out as Record<string, unknown>)[k] = x;
        }
      }
      done.set(v, out);
      return out;
    };
    return walk(value) as T;
  }

  /** For printed text where keys must stay readable: credentials (API tokens) hidden. */
  maskCredentials(text: string): string {
    return replaceAll(text, this.#credentialsPattern);
  }
}
