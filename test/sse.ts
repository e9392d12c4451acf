/** Server-sent events read from a fetch response: every event until the server ends the stream. */
export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Reads `response`'s events as they come, calling `onEvent` with each, and resolves with all of
 * them once the server ends the stream (rejects if the request's signal aborts first: the deadline).
 */
export async function readEvents(
  response: Response,
  onEvent: (e: SseEvent) => void = () => {},
): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  const decoder = new TextDecoder();
  const flush = (block: string) => {
    const e = parseEvent(block);
    if (!e) return;
    out.push(e);
    onEvent(e);
  };
  // An event may be megabytes long, in hundreds of chunks: its text is kept in pieces and only each
  // new chunk is searched for its end. (One growing string was flattened again by every search:
  // a second of CPU for the executions API's 20,000-key outputs.)
  let pieces: string[] = [];
  let endsWithNewline = false;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    let text = decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
    if (endsWithNewline && text.startsWith('\n')) {
      flush(pieces.join('').slice(0, -1));
      pieces = [];
      text = text.slice(1);
    }
    for (let at = text.indexOf('\n\n'); at >= 0; at = text.indexOf('\n\n')) {
      pieces.push(text.slice(0, at));
      flush(pieces.join(''));
      pieces = [];
      text = text.slice(at + 2);
    }
    if (text) pieces.push(text);
    endsWithNewline = pieces.at(-1)?.endsWith('\n') ?? false;
  }
  const rest = pieces.join('');
  if (rest.trim()) flush(rest);
  return out;
}

/** One event block (the lines between blank lines); undefined when it carries no data. */
function parseEvent(block: string): SseEvent | undefined {
  const e: SseEvent = { data: '' };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    const at = line.indexOf(':');
    if (at <= 0) continue;
    const field = line.slice(0, at);
    const value = line.slice(at + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'id') e.id = value;
    else if (field === 'event') e.event = value;
  }
  if (!data.length) return undefined;
  e.data = data.join('\n');
  return e;
}

/** The events of a whole event-stream text, as a client that buffered it got it. */
export function eventsOfText(text: string): SseEvent[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n\n')
    .map(parseEvent)
    .filter((e): e is SseEvent => e !== undefined);
}
