// A minimal HTTP/1.1 client over node:net for tests that send what fetch/undici refuse to send:
// malformed request lines, invalid header bytes, raw percent-escapes, bodies that disagree with
// their headers. Keep-alive connections in a small pool; responses are parsed just enough to check
// status, headers and body (Content-Length, chunked, or until close; 1xx interim responses skipped).
// No maintained library writes arbitrary bytes as a request and still reads the response.
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The server closed the connection after this response. */
  readonly closed: boolean;
}

/** The connection ended before a whole response arrived (reset, or closed without answering). */
export class NoResponseError extends Error {
  readonly received: Buffer;
  constructor(message: string, received: Buffer) {
    super(message);
    this.name = 'NoResponseError';
    this.received = received;
  }
}

interface Head {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly bodyStart: number;
}

function parseHead(buf: Buffer): Head | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status, headers, bodyStart: end + 4 };
}

// Returns the body and where the response ends, or undefined while incomplete.
function parseChunked(buf: Buffer, from: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let pos = from;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos);
    if (lineEnd === -1) return undefined;
    const size = Number.parseInt(buf.subarray(pos, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isInteger(size)) throw new Error('bad chunk size in response');
    pos = lineEnd + 2;
    if (size === 0) {
      // Trailers (none expected) end with an empty line.
      const trailerEnd = buf.indexOf('\r\n', pos);
      if (trailerEnd === -1) return undefined;
      return { body: Buffer.concat(parts), end: trailerEnd + 2 };
    }
    if (buf.length < pos + size + 2) return undefined;
    parts.push(buf.subarray(pos, pos + size));
    pos += size + 2;
  }
}

class RawConnection {
  private readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;
  private error: Error | undefined;
  used = false;

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    this.socket.on('end', end);
    this.socket.on('close', end);
    this.socket.on('error', (err) => {
      this.error = err;
      end();
    });
  }

  get alive(): boolean {
    return !this.ended && !this.socket.destroyed;
  }

  destroy(): void {
    this.ended = true;
    this.socket.destroy();
  }

  async exchange(request: Buffer, opts: { head: boolean; timeoutMs: number }): Promise<RawResponse> {
    this.used = true;
    this.buf = Buffer.alloc(0);
    // A server that answers early and closes makes the rest of the write fail: the answer counts.
    this.socket.write(request, () => {});
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const response = this.tryParse(opts.head);
      if (response) return response;
      if (this.ended) {
        const reason = this.error ? `${this.error.message}` : 'closed';
        throw new NoResponseError(`connection ended before a whole response (${reason})`, this.buf);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.destroy();
        throw new NoResponseError(`no response within ${opts.timeoutMs} ms`, this.buf);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
  }

  private tryParse(head: boolean): RawResponse | undefined {
    for (;;) {
      const h = parseHead(this.buf);
      if (!h) return undefined;
      // Interim responses (100 Continue) precede the real one.
      if (h.status >= 100 && h.status < 200 && h.status !== 101) {
        this.buf = this.buf.subarray(h.bodyStart);
        continue;
      }
      const closeAfter = (h.headers.connection ?? '').toLowerCase().includes('close');
      const done = (body: Buffer, end: number): RawResponse => {
        this.buf = this.buf.subarray(end);
        if (closeAfter) this.destroy();
        return { status: h.status, headers: h.headers, body, closed: closeAfter || this.ended };
      };
      if (head || h.status === 204 || h.status === 304) return done(Buffer.alloc(0), h.bodyStart);
      if ((h.headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) {
        const c = parseChunked(this.buf, h.bodyStart);
        return c ? done(c.body, c.end) : undefined;
      }
      const length = h.headers['content-length'];
      if (length !== undefined) {
        const n = Number(length);
        if (this.buf.length < h.bodyStart + n) return undefined;
        return done(this.buf.subarray(h.bodyStart, h.bodyStart + n), h.bodyStart + n);
      }
      // No framing: the body runs until the server closes.
      if (!this.ended) return undefined;
      return done(this.buf.subarray(h.bodyStart), this.buf.length);
    }
  }
}

/** Keep-alive connections to one server; each request takes an idle connection or opens one. */
export class RawPool {
  private readonly idle: RawConnection[] = [];
  private readonly all = new Set<RawConnection>();

  private readonly host: string;
  private readonly port: number;

  constructor(host: string, port: number) {
    this.host = host;
    this.port = port;
  }

  static forUrl(url: string): RawPool {
    const u = new URL(url);
    return new RawPool(u.hostname, Number(u.port));
  }

  /** Sends the bytes as they are and reads one response. */
  async send(request: Buffer, opts: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const o = { head: opts.head ?? false, timeoutMs: opts.timeoutMs ?? 10_000 };
    let conn = this.take();
    const reused = conn.used;
    try {
      const res = await conn.exchange(request, o);
      this.release(conn);
      return res;
    } catch (err) {
      conn.destroy();
      this.all.delete(conn);
      // A kept-alive connection the server closed just as we reused it: once more on a fresh one.
      if (!(reused && err instanceof NoResponseError && err.received.length === 0)) throw err;
      conn = this.take(true);
      const res = await conn.exchange(request, o).finally(() => this.release(conn));
      return res;
    }
  }

  close(): void {
    for (const c of this.all) c.destroy();
    this.all.clear();
    this.idle.length = 0;
  }

  private take(fresh = false): RawConnection {
    if (!fresh)
      while (this.idle.length > 0) {
        const c = this.idle.pop() as RawConnection;
        if (c.alive) return c;
        this.all.delete(c);
      }
    const c = new RawConnection(this.host, this.port);
    this.all.add(c);
    return c;
  }

  private release(conn: RawConnection): void {
    if (conn.alive) this.idle.push(conn);
    else this.all.delete(conn);
  }
}

export interface RawRequest {
  readonly method: string;
  /** The request-target exactly as sent (non-ASCII characters go out as UTF-8). */
  readonly target: string;
  /** Sent in order, as given; no Host is added when `headers` lacks one and `host` is false. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: Uint8Array | undefined;
  /** How the body is framed: Content-Length (default), chunked, both (smuggling-shaped), or none. */
  readonly framing?: 'length' | 'chunked' | 'both' | 'none';
  /** Add `Host: 127.0.0.1` first (default true). */
  readonly host?: boolean;
}

/** The bytes of a request: request line, headers as given, framing, body. */
export function encodeRequest(r: RawRequest): Buffer {
  const body = r.body ? Buffer.from(r.body) : undefined;
  const framing = r.framing ?? 'length';
  const lines = [`${r.method} ${r.target} HTTP/1.1`];
  if (r.host !== false) lines.push('Host: 127.0.0.1');
  for (const [name, value] of r.headers) lines.push(`${name}: ${value}`);
  if (body && (framing === 'length' || framing === 'both')) lines.push(`Content-Length: ${body.length}`);
  if (body && (framing === 'chunked' || framing === 'both')) lines.push('Transfer-Encoding: chunked');
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  if (!body || framing === 'none') return head;
  if (framing === 'length') return Buffer.concat([head, body]);
  const chunked =
    body.length === 0 ? [] : [Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')];
  return Buffer.concat([head, ...chunked, Buffer.from('0\r\n\r\n')]);
}
