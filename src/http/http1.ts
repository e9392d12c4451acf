// One HTTP/1.1 exchange per connection, over node:net / node:tls, for a process that makes a single
// request (a cold `kestra-fastly purge key`). node:http's first request costs ~6 ms of module
// loading and first-run code over a bare socket, a tenth of such a command's life; this transport
// writes the request itself and reads the answer with the small parser below. Everything that makes
// many requests keeps node:http's keep-alive pool (HttpTransport).
//
// The parser reads what RFC 9112 allows a server to send to a client, strictly: a status line,
// header fields, and a body framed by chunked transfer coding, Content-Length or the connection's
// close; interim 1xx answers are skipped. test/http1.test.ts checks it against node:http on random
// answers cut into random pieces.
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import {
  decodeBody,
  describeNetworkError,
  type Transport,
  type TransportRequest,
  type TransportResponse,
} from './transport.js';
import { abortError, bareHostname, openSocket, TransportError } from './socket.js';

/** A response head larger than this is refused (node:http's limit is 16 KB). */
const MAX_HEAD_BYTES = 64 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** node:http's own checks on what it sends. */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const INVALID_PATH = /[^\u0021-\u00ff]/;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?$/;
/** Headers node:http keeps the first of when repeated (others are joined with ", "; set-cookie is a list). */
const SINGLE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

const badResponse = (what: string) => new TransportError('BAD_RESPONSE', `malformed HTTP response: ${what}`);

type Framing =
  { kind: 'none' } | { kind: 'length'; remaining: number } | { kind: 'chunked' } | { kind: 'close' };

/** An HTTP/1.1 response read incrementally from a connection's bytes. */
export class ResponseReader {
  status = 0;
  headers: IncomingHttpHeaders = {};
  /** Body bytes received so far (what a truncation reports). */
  received = 0;
  #pending: Buffer = Buffer.alloc(0);
  #phase: 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'done' = 'head';
  #framing: Framing = { kind: 'none' };
  #chunkLeft = 0;
  readonly #body: Buffer[] = [];

  constructor(private readonly method: string) {}

  get headComplete(): boolean {
    return this.#phase !== 'head';
  }

  /** Bytes of the head received so far, while it is incomplete. */
  get headBytes(): number {
    return this.#phase === 'head' ? this.#pending.length : 0;
  }

  /** Takes the next bytes; true once the response is complete. Throws TransportError BAD_RESPONSE. */
  push(bytes: Buffer): boolean {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, bytes]) : bytes;
    for (;;) {
      switch (this.#phase) {
        case 'head': {
          const end = this.#pending.indexOf('\r\n\r\n');
          if ((end < 0 ? this.#pending.length : end) > MAX_HEAD_BYTES) {
            throw badResponse(`head over ${MAX_HEAD_BYTES} bytes`);
          }
          if (end < 0) {
            // A head whose lines end in LF alone would otherwise wait for CRLFs that never come.
            if (/(?:^|[^\r])\n/.test(this.#pending.toString('latin1'))) {
              throw badResponse('a line of its head ends without CRLF');
            }
            return false;
          }
          const head = this.#pending.subarray(0, end).toString('latin1');
          this.#pending = this.#pending.subarray(end + 4);
          this.#readHead(head);
          break;
        }
        case 'body': {
          const f = this.#framing;
          if (f.kind === 'length') {
            const take = this.#take(f.remaining);
            f.remaining -= take;
            if (f.remaining > 0) return false;
            this.#phase = 'done';
          } else {
            // Read to close: everything is body until the connection ends.
            this.#take(this.#pending.length);
            return false;
          }
          break;
        }
        case 'chunk-size': {
          const line = this.#line('chunk size');
          if (line === undefined) return false;
          const size = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;.*)?$/.exec(line)?.[1];
          if (size === undefined) throw badResponse(`chunk size ${JSON.stringify(line.slice(0, 40))}`);
          this.#chunkLeft = Number.parseInt(size, 16);
          this.#phase = this.#chunkLeft === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'chunk-data': {
          this.#chunkLeft -= this.#take(this.#chunkLeft);
          if (this.#chunkLeft > 0) return false;
          this.#phase = 'chunk-end';
          break;
        }
        case 'chunk-end': {
          if (this.#pending.length < 2) return false;
          if (this.#pending[0] !== 0x0d || this.#pending[1] !== 0x0a)
            throw badResponse('chunk not followed by CRLF');
          this.#pending = this.#pending.subarray(2);
          this.#phase = 'chunk-size';
          break;
        }
        case 'trailers': {
          const line = this.#line('trailer');
          if (line === undefined) return false;
          if (line === '') this.#phase = 'done';
          break;
        }
        case 'done':
          return true;
      }
    }
  }

  /** The connection ended: true if that completes the response (a body read to close). */
  end(): boolean {
    if (this.#phase === 'body' && this.#framing.kind === 'close') this.#phase = 'done';
    return this.#phase === 'done';
  }

  get body(): Buffer {
    return this.#body.length === 1 ? (this.#body[0] as Buffer) : Buffer.concat(this.#body, this.received);
  }

  #take(max: number): number {
    const n = Math.min(max, this.#pending.length);
    if (n > 0) {
      this.#body.push(this.#pending.subarray(0, n));
      this.#pending = this.#pending.subarray(n);
      this.received += n;
    }
    return n;
  }

  #line(what: string): string | undefined {
    const end = this.#pending.indexOf('\r\n');
    if (end < 0) {
      if (this.#pending.length > MAX_HEAD_BYTES)
        throw badResponse(`${what} line over ${MAX_HEAD_BYTES} bytes`);
      return undefined;
    }
    const line = this.#pending.subarray(0, end).toString('latin1');
    this.#pending = this.#pending.subarray(end + 2);
    return line;
  }

  #readHead(head: string): void {
    if (/[\r\n]/.test(head.replaceAll('\r\n', ''))) throw badResponse('a line of its head ends without CRLF');
    const [statusLine = '', ...fields] = head.split('\r\n');
    const code = STATUS_LINE.exec(statusLine)?.[1];
    if (code === undefined) throw badResponse(`status line ${JSON.stringify(statusLine.slice(0, 40))}`);
    const status = Number(code);
    if (status < 100) throw badResponse(`status ${code}`);
    // Interim answers (100 Continue, 103 Early Hints) come before the real one; an upgrade is not ours.
    if (status < 200 && status !== 101) return;
    if (status === 101) throw badResponse('unexpected 101 Switching Protocols');
    const headers: IncomingHttpHeaders = {};
    for (const field of fields) {
      const colon = field.indexOf(':');
      const name = field.slice(0, colon).toLowerCase();
      if (colon <= 0 || !TOKEN.test(name))
        throw badResponse(`header line ${JSON.stringify(field.slice(0, 40))}`);
      const value = field.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
      const seen = headers[name];
      // As node:http (llhttp) does: two lengths are a smuggling risk, even when they agree.
      if (name === 'content-length' && seen !== undefined) throw badResponse('Content-Length given twice');
      if (name === 'set-cookie') headers['set-cookie'] = [...(headers['set-cookie'] ?? []), value];
      else if (seen === undefined) headers[name] = value;
      else if (!SINGLE.has(name)) headers[name] = `${String(seen)}, ${value}`;
    }
    this.status = status;
    this.headers = headers;
    this.#framing = framing(status, this.method, headers);
    this.#phase =
      this.#framing.kind === 'none' ? 'done' : this.#framing.kind === 'chunked' ? 'chunk-size' : 'body';
  }
}

function framing(status: number, method: string, headers: IncomingHttpHeaders): Framing {
  if (method === 'HEAD' || status === 204 || status === 304) return { kind: 'none' };
  const te = headers['transfer-encoding'];
  if (te !== undefined) {
    if (headers['content-length'] !== undefined)
      throw badResponse('both Transfer-Encoding and Content-Length');
    return /(?:^|,)\s*chunked\s*$/i.test(te) ? { kind: 'chunked' } : { kind: 'close' };
  }
  const cl = headers['content-length'];
  if (cl === undefined) return { kind: 'close' };
  if (!/^\d{1,15}$/.test(cl)) throw badResponse(`Content-Length ${JSON.stringify(cl.slice(0, 20))}`);
  const remaining = Number(cl);
  return remaining === 0 ? { kind: 'none' } : { kind: 'length', remaining };
}

/**
 * The request's bytes (head in latin1, body in UTF-8, as node:http sends them); throws, as node:http
 * does, on a character a header or the path may not hold.
 */
function requestBytes(req: TransportRequest, host: string): Buffer {
  if (INVALID_PATH.test(req.path)) {
    throw new TransportError('ERR_UNESCAPED_CHARACTERS', 'the request path contains unescaped characters');
  }
  let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n`;
  for (const [name, value] of Object.entries(req.headers)) {
    if (!TOKEN.test(name))
      throw new TransportError('ERR_INVALID_HTTP_TOKEN', `invalid header name ${JSON.stringify(name)}`);
    // The value is never shown: it may be the token.
    if (INVALID_HEADER_VALUE.test(value))
      throw new TransportError('ERR_INVALID_CHAR', `invalid character in header ${name}`);
    head += `${name}: ${value}\r\n`;
  }
  const body = Buffer.from(req.body ?? '', 'utf8');
  if (req.body !== undefined) head += `content-length: ${body.length}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), body]);
}

/**
 * A transport that opens a connection per request and closes it after the answer (no pool), for
 * a process that makes one request: the cheapest first request Node can make. Same errors as
 * HttpTransport: TransportError with a Node errno, TRUNCATED, BAD_ENCODING, or BAD_RESPONSE.
 */
export class OneShotTransport implements Transport {
  async request(req: TransportRequest): Promise<TransportResponse> {
    const url = new URL(req.origin);
    const secure = url.protocol === 'https:';
    const host = bareHostname(url);
    const port = Number(url.port) || (secure ? 443 : 80);
    const { signal, proxy } = req;
    // An http target through a proxy: the request goes to the proxy, in absolute form.
    const forward = proxy !== undefined && !secure;
    const bytes = requestBytes(
      forward
        ? {
            ...req,
            path: url.origin + req.path,
            headers: proxy.authorization
              ? { ...req.headers, 'proxy-authorization': proxy.authorization }
              : req.headers,
          }
        : req,
      url.host,
    );
    if (signal?.aborted) throw abortError(signal);
    // Whom a failure to connect names: the proxy when the request is forwarded to it.
    const peer = forward ? `proxy ${proxy.label}` : url.host;
    let socket: Socket;
    if (proxy && secure) {
      // The CONNECT exchange stops on `signal` itself; its failures name the proxy.
      socket = await (await import('./proxy.js')).tlsThroughProxy(proxy, host, port, signal);
    } else if (forward) {
      socket = await openSocket(proxy.host, proxy.port, proxy.protocol === 'https:');
    } else {
      socket = await openSocket(host, port, secure);
    }
    if (signal?.aborted) {
      socket.destroy();
      throw abortError(signal);
    }
    const { reader } = await new Promise<{ reader: ResponseReader }>((resolve, reject) => {
      const reader = new ResponseReader(req.method);
      const settle = (err?: Error) => {
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        if (err === undefined) resolve({ reader });
        else reject(err);
      };
      const onAbort = () => settle(abortError(signal as AbortSignal));
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.setNoDelay(true);
      socket.on('data', (chunk: Buffer) => {
        try {
          if (reader.push(chunk)) settle();
        } catch (err) {
          settle(err as Error);
        }
      });
      socket.once('end', () => {
        if (reader.end()) return settle();
        settle(
          reader.headComplete
            ? new TransportError(
                'TRUNCATED',
                `the connection closed after ${reader.received} bytes, before the response body was complete`,
              )
            : reader.headBytes > 0
              ? new TransportError(
                  'TRUNCATED',
                  `the connection closed after ${reader.headBytes} bytes, before the response head was complete`,
                )
              : new TransportError('ECONNRESET', `${url.host} closed the connection without answering`),
        );
      });
      socket.on('error', (err: NodeJS.ErrnoException) =>
        settle(
          new TransportError(err.code ?? 'ENETWORK', describeNetworkError(err, peer), {
            cause: err,
            ...(forward ? { proxy: proxy.label } : {}),
          }),
        ),
      );
      socket.write(bytes);
    });
    return decodeBody(reader.status, reader.headers, reader.body);
  }

  /** Nothing to do: no connection outlives its request. */
  close(): void {}
}
