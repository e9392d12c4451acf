import { validateServiceId } from '../../fastly/purge.js';
import type { StaticCheck } from '../task.js';

// The purge tasks' checks at flow load: what the purge functions would refuse at run time, on the
// values written as is. Zod-free, like outputs.ts.

/** A number or boolean where text is expected is that text, as the task will take it (parseAsKestra). */
export const asText = (v: unknown) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v);

export function checkServiceId(props: Record<string, unknown>, at: StaticCheck): void {
  if (at.literal(props.serviceId))
    at.attempt(['serviceId'], () => validateServiceId(asText(props.serviceId)));
}

/** A list property (surrogateKeys, urls): not empty, and each item written as is checked by `item`. */
export function checkList(
  props: Record<string, unknown>,
  property: string,
  empty: string,
  at: StaticCheck,
  item: (value: unknown, path: [string, number]) => void,
): void {
  const list = props[property];
  if (!Array.isArray(list)) return;
  if (list.length === 0) at.problem([property], empty);
  list.forEach((value, i) => {
    if (at.literal(value)) item(value, [property, i]);
  });
}
