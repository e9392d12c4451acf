import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { createApp, listen } from '../src/server/app.js';
import { silentLogger } from '../src/logger.js';

async function app413(t: TestContext) {
  const app = createApp({ logger: silentLogger, routes: [] });
  const server = await listen(app, { host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  const { port } = new URL(server.url);
  const socket = connect(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  t.after(() => socket.destroy());
  return socket;
}

/** Resolves with everything read up to and including `until`, or rejects when the socket ends. */
function readUntil(socket: Socket, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (until.test(text)) {
        off();
        resolve(text);
      }
    };
    const onEnd = () => {
      off();
      reject(new Error(`the server ended the connection after: ${text.split('\r\n')[0] ?? ''}`));
    };
    const off = () => {
      socket.off('data', onData).off('end', onEnd).off('error', onEnd);
    };
    socket.on('data', onData).on('end', onEnd).on('error', onEnd);
  });
}

const post = (size: number) =>
  `POST /api/v1/main/executions/a/b HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${size}\r\n\r\n`;

test('a 413 lets its client finish sending a body of up to 16 MB, and the connection serves the next request', async (t) => {
  const socket = await app413(t);
  const size = 3 * 1024 * 1024;
  socket.write(post(size) + 'x'.repeat(64 * 1024));
  const refused = await readUntil(socket, /request body too large[^}]*\}/);
  assert.match(refused, /^HTTP\/1\.1 413 /);
  assert.doesNotMatch(refused, /connection: close/i);
  // The client only now sends the rest, as one that streams a big body does.
  socket.write('x'.repeat(size - 64 * 1024));
  socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
  const next = await readUntil(socket, /"status":"UP"/);
  assert.match(next, /^HTTP\/1\.1 200 /);
});

test('a 413 for a body declared larger than 16 MB closes the connection', async (t) => {
  const socket = await app413(t);
  socket.write(post(64 * 1024 * 1024) + 'x'.repeat(1024));
  const refused = await readUntil(socket, /request body too large[^}]*\}/);
  assert.match(refused, /^HTTP\/1\.1 413 /);
  assert.match(refused, /connection: close/i);
  await once(socket, 'end');
});

test('Expect: 100-continue over the limit is refused (413) before the client is told to send; under it, 100 then the answer', async (t) => {
  const socket = await app413(t);
  socket.write(post(3 * 1024 * 1024).replace('\r\n\r\n', '\r\nexpect: 100-continue\r\n\r\n'));
  const refused = await readUntil(socket, /request body too large[^}]*\}/);
  assert.match(refused, /^HTTP\/1\.1 413 /);
  assert.doesNotMatch(refused, /100 Continue/);
  assert.match(refused, /connection: close/i);
  await once(socket, 'end');

  const small = await app413(t);
  small.write(post(2).replace('\r\n\r\n', '\r\nexpect: 100-continue\r\n\r\n'));
  // This app has no route: the request is answered as any other, after the 100.
  const answered = await readUntil(small, /no route[^}]*\}/);
  assert.match(answered, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 404 /);
});
