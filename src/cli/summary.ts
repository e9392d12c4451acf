/** Task outputs shortened for a screen: long lists and big maps are counted, not printed. */
export function briefOutputs(value: unknown, max = 300): string {
  const text =
    JSON.stringify(value, (_k, v: unknown) => {
      if (Array.isArray(v) && v.length > 20) return `[${v.length} items]`;
      if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 20)
        return `{${Object.keys(v).length} entries}`;
      return v;
    }) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
