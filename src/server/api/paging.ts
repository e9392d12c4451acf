import type { Context } from 'hono';
import { show } from '../../errors.js';
import { fail } from '../app.js';

/** Kestra's current paths carry the tenant (`main` in the open-source edition); older ones had none. */
export const API_PREFIXES = ['/api/v1/main', '/api/v1'] as const;

export interface Paging {
  page: number;
  size: number;
  /** `field:asc|desc`, in order (Kestra's `sort` query values, repeated or comma-separated). */
  sort: { field: string; desc: boolean }[];
}

/**
 * Kestra's `page` (from 1), `size` and `sort` query parameters, with its defaults; a bad value is
 * answered 400 naming the parameter. `fields` lists the sort fields accepted.
 */
export function readPaging(c: Context, fields: readonly string[], defaultSize = 10): Paging | Response {
  const q = c.req.query();
  const size = q.size === undefined ? defaultSize : Number(q.size);
  const page = q.page === undefined ? 1 : Number(q.page);
  if (!Number.isInteger(size) || size < 1 || size > 1000)
    return fail(c, 400, `size: ${show(q.size)} is not allowed; expected a whole number from 1 to 1000`);
  if (!Number.isInteger(page) || page < 1)
    return fail(c, 400, `page: ${show(q.page)} is not allowed; expected a whole number ≥ 1`);
  const sort: Paging['sort'] = [];
  for (const value of (c.req.queries('sort') ?? []).flatMap((s) => s.split(','))) {
    if (value === '') continue;
    const [field = '', dir = 'asc'] = value.split(':');
    if (!fields.includes(field) || (dir !== 'asc' && dir !== 'desc'))
      return fail(
        c,
        400,
        `sort: ${show(value)} is not allowed; expected FIELD:asc or FIELD:desc with FIELD one of ${fields.join(', ')}`,
      );
    sort.push({ field, desc: dir === 'desc' });
  }
  return { page, size, sort };
}

/** Sorts by `paging.sort` (strings and numbers; missing values last), then cuts the page. */
export function pageOf<T>(
  items: T[],
  paging: Paging,
  valueOf: (item: T, field: string) => string | number | undefined,
): { results: T[]; total: number } {
  if (paging.sort.length) {
    items = [...items].sort((a, b) => {
      for (const { field, desc } of paging.sort) {
        const x = valueOf(a, field);
        const y = valueOf(b, field);
        if (x === y) continue;
        if (x === undefined) return 1;
        if (y === undefined) return -1;
        const order = x < y ? -1 : 1;
        return desc ? -order : order;
      }
      return 0;
    });
  }
  const from = (paging.page - 1) * paging.size;
  return { results: items.slice(from, from + paging.size), total: items.length };
}

/** Whether `namespace` is `prefix` or one of its children (`company` finds `company.cms`). */
export const inNamespace = (namespace: string, prefix: string | undefined): boolean =>
  prefix === undefined || prefix === '' || namespace === prefix || namespace.startsWith(`${prefix}.`);

/** Kestra's labels filter: `key:value`, every one required. */
export function labelsFilter(c: Context): { key: string; value: string }[] | Response {
  const out: { key: string; value: string }[] = [];
  for (const label of c.req.queries('labels') ?? []) {
    const at = label.indexOf(':');
    if (at < 1) return fail(c, 400, `labels: ${show(label)} is not allowed; expected key:value`);
    out.push({ key: label.slice(0, at), value: label.slice(at + 1) });
  }
  return out;
}
