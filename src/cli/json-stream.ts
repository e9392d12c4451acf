import { createReadStream, createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { PointsByService, StatsPage } from '../fastly/stats.js';
import type { StatsMeta } from '../fastly/types.js';
import { onInterrupt } from './interrupt.js';
import { write } from './output.js';

/** Re-indents a `JSON.stringify(value, null, 2)` text to sit `pad` deeper (JSON text has no raw newlines). */
const indent = (text: string, pad: string) => text.replace(/\n/g, `\n${pad}`);

interface ServiceSpool {
  file: string;
  stream: WriteStream;
  points: number;
  last: number | undefined;
}

/**
 * Writes historical stats pages as the document `JSON.stringify({status, meta, data}, null, 2)` would
 * be for the merged pages (what `--format json` printed when it collected the whole window first),
 * byte for byte, without holding the window: each service's points go, page by page, to a file of
 * their own in a temporary folder; `meta` (which covers the whole window, so comes last from the
 * API) is known once the last page is in; then the document is written from the files in turn.
 * Memory is the pages in flight, whatever the window and the number of services. Returns the points.
 */
export async function writeHistoricalJson(
  pages: AsyncIterable<StatsPage<PointsByService>>,
  out: Writable,
): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'kestra-fastly-json-'));
  // The spool goes on every way out: a closed pipe (`| head -1`) exits at once from stdout's error
  // handler, and a second Ctrl-C exits at once too; both run the clean-ups, synchronously.
  const removeSpool = onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
  // Keyed as a plain object would be (integer-like ids first), so the order is JSON.stringify's.
  const spools: Record<string, ServiceSpool> = {};
  let count = 0;
  let meta: StatsMeta | undefined;
  try {
    for await (const page of pages) {
      meta = meta ? { ...meta, to: page.meta.to } : { ...page.meta };
      for (const [id, points] of Object.entries(page.data)) {
        let spool = spools[id];
        if (!spool) {
          const file = join(dir, String(Object.keys(spools).length));
          const stream = createWriteStream(file);
          // Kept in stream.errored (the spool removed by a first Ctrl-C) and thrown by the next write.
          stream.on('error', () => {});
          spool = spools[id] = { file, stream, points: 0, last: undefined };
        }
        let chunk = '';
        for (const p of points) {
          // As the merge does: a bucket repeated by a later page is dropped.
          if (spool.last !== undefined && p.start_time <= spool.last) continue;
          chunk += `${spool.points ? ',\n' : ''}      ${indent(JSON.stringify(p, null, 2), '      ')}`;
          spool.points++;
          spool.last = p.start_time;
        }
        if (chunk) await write(spool.stream, chunk);
      }
    }
    await Promise.all(Object.values(spools).map((s) => closeStream(s.stream)));
    const head = `{\n  "status": "success",\n  "meta": ${indent(JSON.stringify(meta ?? {}, null, 2), '  ')},\n  "data": {`;
    const ids = Object.keys(spools);
    await write(out, ids.length ? `${head}\n` : head);
    for (const [i, id] of ids.entries()) {
      const spool = spools[id] as ServiceSpool;
      count += spool.points;
      if (spool.points === 0) {
        await write(out, `    ${JSON.stringify(id)}: []`);
      } else {
        await write(out, `    ${JSON.stringify(id)}: [\n`);
        for await (const chunk of createReadStream(spool.file)) await write(out, chunk as Buffer);
        await write(out, '\n    ]');
      }
      await write(out, i < ids.length - 1 ? ',\n' : '\n');
    }
    await write(out, ids.length ? '  }\n}\n' : '}\n}\n');
    return count;
  } finally {
    for (const s of Object.values(spools)) s.stream.destroy();
    removeSpool();
    await rm(dir, { recursive: true, force: true });
  }
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}
