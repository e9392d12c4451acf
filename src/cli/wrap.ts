/** The width help text and start-up lines are wrapped at: a terminal's default, as commander wraps its own help. */
export const TEXT_WIDTH = 80;

/**
 * Wraps each line of `text` at word boundaries to `width` columns (counted in code points); a
 * continuation line starts with `indent`. A word longer than a line (a URL) stays whole.
 */
export function wrapText(text: string, width = TEXT_WIDTH, indent = ''): string {
  return text
    .split('\n')
    .map((line) => {
      if ([...line].length <= width) return line;
      const lead = /^\s*/.exec(line)?.[0] ?? '';
      const out: string[] = [];
      let current = '';
      for (const word of line.slice(lead.length).split(/ +/)) {
        const prefix = out.length === 0 ? lead : indent;
        const next = current ? `${current} ${word}` : word;
        if (current && [...(prefix + next)].length > width) {
          out.push(prefix + current);
          current = word;
        } else current = next;
      }
      out.push((out.length === 0 ? lead : indent) + current);
      return out.join('\n');
    })
    .join('\n');
}
