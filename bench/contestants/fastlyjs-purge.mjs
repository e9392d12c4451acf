// What a fastly-js user writes: 256-key batches, one after another.
import { readFileSync } from 'node:fs';
import Fastly from 'fastly';

const [file, serviceId, endpoint] = process.argv.slice(2);
const client = Fastly.ApiClient.instance;
client.authenticate(process.env.FASTLY_API_TOKEN);
// The generated methods hard-code https://api.fastly.com per call; send them to the simulator.
const buildUrl = client.buildUrl.bind(client);
client.buildUrl = (path, pathParams, allowReserved) => buildUrl(path, pathParams, allowReserved, endpoint);
const keys = readFileSync(file, 'utf8').split('\n').filter(Boolean);
const api = new Fastly.PurgeApi();
let purged = 0;
for (let i = 0; i < keys.length; i += 256) {
  const batch = keys.slice(i, i + 256);
  const ids = await api.bulkPurgeTag({ service_id: serviceId, purge_response: { surrogate_keys: batch } });
  // Fastly answers this without a Content-Type; fastly-js then maps the raw text character by
  // character ({"0":"{","1":"\"",...}), so the text has to be put back together first.
  const text = typeof ids === 'string' ? ids : Object.values(ids).join('');
  purged += Object.keys(JSON.parse(text)).length;
}
if (purged !== keys.length) throw new Error(`purged ${purged} of ${keys.length}`);
