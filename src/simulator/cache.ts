/** The simulator's edge cache: objects tagged with surrogate keys, so purges have visible effects. */
export interface CachedObject {
  serviceId: string;
  /** Cache key: lower-cased host + path + query. */
  key: string;
  surrogateKeys: string[];
  cachedAt: number;
  stale: boolean;
}

export function cacheKey(host: string, pathAndQuery: string): string {
  return host.toLowerCase() + pathAndQuery;
}

export class EdgeCache {
  readonly #objects = new Map<string, CachedObject>();
  /** Surrogate keys the "origin" attaches to a path when it is fetched; default `all`. */
  readonly #originKeys = new Map<string, string[]>();

  /** Registers the keys the origin sends for a URL, and puts the object in cache (fresh). */
  seed(
    serviceId: string,
    host: string,
    pathAndQuery: string,
    surrogateKeys: string[],
    now = Date.now(),
  ): void {
    const key = cacheKey(host, pathAndQuery);
    this.#originKeys.set(key, surrogateKeys);
    this.#objects.set(key, { serviceId, key, surrogateKeys, cachedAt: now, stale: false });
  }

  /** Serves a request at the edge; returns what X-Cache should say and the object after the request. */
  fetch(
    serviceId: string,
    host: string,
    pathAndQuery: string,
    now = Date.now(),
  ): { xCache: string; object: CachedObject } {
    const key = cacheKey(host, pathAndQuery);
    const hit = this.#objects.get(key);
    if (hit && !hit.stale) return { xCache: 'HIT', object: hit };
    if (hit?.stale) {
      // Served stale while revalidating: the object is fresh again for the next request.
      const served = { ...hit };
      hit.stale = false;
      hit.cachedAt = now;
      return { xCache: 'HIT-STALE', object: served };
    }
    const object: CachedObject = {
      serviceId,
      key,
      surrogateKeys: this.#originKeys.get(key) ?? ['all'],
      cachedAt: now,
      stale: false,
    };
    this.#objects.set(key, object);
    return { xCache: 'MISS', object };
  }

  purgeUrl(host: string, pathAndQuery: string, soft: boolean): number {
    const key = cacheKey(host, pathAndQuery);
    const obj = this.#objects.get(key);
    if (!obj) return 0;
    this.#invalidate(obj, soft);
    return 1;
  }

  purgeKey(serviceId: string, surrogateKey: string, soft: boolean): number {
    let n = 0;
    for (const obj of this.#objects.values()) {
      if (obj.serviceId === serviceId && obj.surrogateKeys.includes(surrogateKey)) {
        this.#invalidate(obj, soft);
        n++;
      }
    }
    return n;
  }

  purgeAll(serviceId: string): number {
    let n = 0;
    for (const obj of [...this.#objects.values()]) {
      if (obj.serviceId === serviceId) {
        this.#objects.delete(obj.key);
        n++;
      }
    }
    return n;
  }

  get(host: string, pathAndQuery: string): CachedObject | undefined {
    return this.#objects.get(cacheKey(host, pathAndQuery));
  }

  #invalidate(obj: CachedObject, soft: boolean): void {
    if (soft) obj.stale = true;
    else this.#objects.delete(obj.key);
  }
}
