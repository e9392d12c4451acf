// What a fastly-js user writes: the 200-point pages of a window, one after another, to CSV.
import { createWriteStream } from 'node:fs';
import Fastly from 'fastly';

const [serviceId, from, to, out, endpoint] = process.argv.slice(2);
const client = Fastly.ApiClient.instance;
client.authenticate(process.env.FASTLY_API_TOKEN);
const buildUrl = client.buildUrl.bind(client);
client.buildUrl = (path, pathParams, allowReserved) => buildUrl(path, pathParams, allowReserved, endpoint);
const api = new Fastly.HistoricalApi();
const file = createWriteStream(out);
let columns;
let rows = 0;
for (let start = Number(from); start < Number(to); start += 200 * 60) {
  const end = Math.min(start + 200 * 60, Number(to));
  const res = await api.getHistStatsService({
    service_id: serviceId,
    from: String(start),
    to: String(end),
    by: 'minute',
  });
  for (const point of res.data) {
    const p = typeof point.toJSON === 'function' ? point.toJSON() : point;
    columns ??= Object.keys(p);
    if (rows === 0) file.write(`${columns.join(',')}\n`);
    file.write(`${columns.map((c) => p[c] ?? '').join(',')}\n`);
    rows++;
  }
}
file.end();
console.error(`${rows} rows`);
