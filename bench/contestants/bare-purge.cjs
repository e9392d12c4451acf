// The floor of any Node CLI's cold purge: Node's own start plus one node:http request, nothing else
// (no argument parsing, validation, retries or output formatting). CommonJS, like our bundle.
'use strict';
const http = require('node:http');

const [key, serviceId, endpoint] = process.argv.slice(2);
const req = http.request(`${endpoint}/service/${serviceId}/purge/${encodeURIComponent(key)}`, {
  method: 'POST',
  headers: { 'fastly-key': process.env.FASTLY_API_TOKEN, accept: 'application/json' },
});
req.on('response', (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk) => (body += chunk));
  res.on('end', () => {
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${body}`);
    process.stdout.write(`${JSON.parse(body).id}\n`);
  });
});
req.end();
