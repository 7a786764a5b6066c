// fast-check generators for the HTTP fuzz suite: whole requests (method, raw target, headers, framing,
// body) for every route, shaped after the malformed input clients and scanners really send.
import { brotliCompressSync, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib';
import fc from 'fast-check';
import type { RawRequest } from '../support/raw-http.ts';

/** A request as generated; `{known}` in the target stands for an id of an item that exists. */
export interface FuzzRequest extends RawRequest {
  readonly body?: Uint8Array | undefined;
}

export const KNOWN_ID = '{known}';

export interface FuzzContext {
  readonly apiToken: string;
  readonly adminToken: string;
  readonly bodyLimitBytes: number;
  readonly maxHeaderBytes: number;
}

const ROUTES = [
  '/api/v1/items',
  `/api/v1/items/${KNOWN_ID}`,
  '/api/v1/items/00000000-0000-4000-8000-000000000000',
  '/api/health',
  '/api/health/ready',
  '/api/health/detailed',
  '/api/health/security',
  '/api/health/performance',
  '/api/admin/config',
  '/api/debug/error',
  '/',
  '/metrics',
  '/api/v1',
  '/favicon.ico',
];

// Present in `percent` of requests: every header at once would make almost every request a 400/431.
const sometimes = <T>(arb: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 100 - percent }, { arbitrary: arb, weight: percent });

const hexChars = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });

// Characters a URL may carry unescaped; the rest come up through `escapes` and the rare raw strings.
const urlText = (maxLength: number) =>
  fc.string({ unit: fc.constantFrom(..."abcXYZ019-._~!$'()*+,;=:@/?[]"), maxLength });

const escapes = fc.oneof(
  // Well-formed: ASCII, slash, NUL, space, percent, dot, multi-byte UTF-8.
  fc.constantFrom('%41', '%2F', '%2f', '%00', '%20', '%25', '%2e', '%C3%A9', '%E2%82%AC', '%F0%9F%98%80'),
  // Malformed or not UTF-8: lone %, bad hex, truncated sequence, overlong, encoded surrogate, > U+10FFFF.
  fc.constantFrom('%', '%G1', '%1', '%%', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%FF', '%F4%90%80%80', '%e0%80'),
  hexChars(2).map((h) => `%${h}`),
);

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const control = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));

const segment = fc.oneof(
  { arbitrary: fc.array(escapes, { minLength: 1, maxLength: 4 }).map((a) => a.join('')), weight: 4 },
  { arbitrary: fc.constantFrom('.', '..', '%2e', '%2e%2e', '.%2e', '..;', ''), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }), weight: 1 },
  { arbitrary: urlText(8), weight: 2 },
  { arbitrary: fc.uuid(), weight: 1 },
  { arbitrary: fc.constant(KNOWN_ID), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 8 }), weight: 1 },
  { arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => 'a'.repeat(n)), weight: 1 },
);

const path = fc
  .tuple(
    fc.constantFrom(...ROUTES),
    // Half the paths are the route as it is, so that requests also reach the handlers.
    fc.oneof(
      fc.constant([]),
      fc.array(fc.tuple(fc.nat(), fc.boolean(), segment), { minLength: 1, maxLength: 3 }),
    ),
    fc.oneof({ arbitrary: fc.constant(''), weight: 8 }, { arbitrary: fc.constantFrom('/', '//'), weight: 2 }),
    fc.oneof(
      { arbitrary: fc.constant(''), weight: 17 },
      { arbitrary: fc.constantFrom('/', '//', '/./', '/../'), weight: 3 },
    ),
  )
  .map(([route, mutations, trailing, leading]) => {
    const segs = route.split('/').slice(1);
    for (const [at, replace, s] of mutations) {
      const i = at % (segs.length + 1);
      if (replace && i < segs.length) segs[i] = s;
      else segs.splice(i, 0, s);
    }
    return `${leading === '' ? '/' : leading}${segs.join('/')}${trailing}`;
  });

const queryKey = fc.oneof(
  fc.constantFrom(
    'limit',
    'offset',
    '__proto__',
    'constructor',
    '__proto__[polluted]',
    'constructor[prototype][polluted]',
    'a[b][c][d]',
    'limit[]',
    'limit[0]',
    'offset[$gt]',
    '%zz',
    '%',
    '',
    'access_token',
  ),
  urlText(6),
  fc.string({ unit: 'binary-ascii', maxLength: 6 }),
);
const queryValue = fc.oneof(
  fc.constantFrom(
    '1',
    '20',
    '0',
    '-1',
    '100',
    '101',
    '1e3',
    '1e309',
    '99999999999999999999',
    '9007199254740993',
    '0x10',
    'NaN',
    'Infinity',
    '%zz',
    '%',
    '%00',
    '%ED%A0%80',
    '%C3%A9',
    '+',
    '',
  ),
  fc.nat().map(String),
  escapes,
  urlText(8),
  urlText(8),
  fc.string({ unit: 'binary-ascii', maxLength: 8 }),
);
const query = fc
  .array(fc.tuple(queryKey, fc.option(queryValue, { nil: undefined })), { maxLength: 6 })
  .map((pairs) => pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&'));

const target = fc.oneof(
  {
    arbitrary: fc
      .tuple(path, fc.option(query, { nil: undefined, freq: 2 }))
      .map(([p, q]) => (q === undefined ? p : `${p}?${q}`)),
    weight: 30,
  },
  { arbitrary: fc.constantFrom('*', 'http://127.0.0.1/api/v1/items', 'api/v1/items', '?', '#x'), weight: 1 },
);

const oversized = (min: number, max: number) => fc.integer({ min, max }).map((n) => 'x'.repeat(n));

const traceparent = fc.oneof(
  fc
    .tuple(hexChars(32), hexChars(16), fc.constantFrom('00', '01', 'ff'))
    .map(([t, s, f]) => `00-${t}-${s}-${f}`),
  fc.constantFrom(
    '00-00000000000000000000000000000000-0000000000000000-01',
    'ff-abc',
    '',
    '00--',
    '00-zz-zz-zz',
  ),
  fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
  oversized(100, 20_000),
);
const tracestate = fc.oneof(
  fc.constantFrom('vendor=value', 'a=1,b=2', '=', ',,,', `k=${'v'.repeat(300)}`),
  fc.array(fc.constant('k=v'), { minLength: 33, maxLength: 80 }).map((a) => a.join(',')),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
  oversized(100, 9_000),
);
const baggage = fc.oneof(
  fc.constantFrom('userId=alice', 'k=%ZZ', 'k=v;prop', '=', 'k', `k=${'%'.repeat(50)}`),
  fc.array(fc.constant('key=value'), { minLength: 100, maxLength: 400 }).map((a) => a.join(',')),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
  oversized(100, 9_000),
);
const forwardedFor = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.constantFrom('unknown', '::ffff:10.0.0.1', '[::1]:80', '300.1.1.1', '', ',', 'garbage, 1.2.3.4', '_'),
  fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { minLength: 20, maxLength: 300 }).map((a) => a.join(', ')),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
);
const requestIdHeader = fc.oneof(
  fc.uuid(),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
  oversized(129, 2_000),
);
const accept = fc.constantFrom(
  'application/json',
  '*/*',
  'application/problem+json',
  'text/html',
  'application/openmetrics-text',
  'application/json;q=0',
  ';;;',
  'x/y, */*;q=0.1',
);
const charsets = [
  'utf-8',
  'UTF-8',
  'utf8',
  'utf-16',
  'utf-16le',
  'utf-16be',
  'utf-32',
  'iso-8859-1',
  'latin1',
  'us-ascii',
  'windows-1252',
  'utf-foo',
  '"utf-8"',
  '',
];
const contentType = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 6 },
  { arbitrary: fc.constantFrom(...charsets).map((c) => `application/json; charset=${c}`), weight: 3 },
  {
    arbitrary: fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json;;;',
      'application/merge-patch+json',
      'APPLICATION/JSON',
      'application/json; foo',
      '',
      '*/*',
    ),
    weight: 2,
  },
);
const authorization = (ctx: FuzzContext) =>
  fc.oneof(
    { arbitrary: fc.constant(`Bearer ${ctx.apiToken}`), weight: 8 },
    { arbitrary: fc.constant(`Bearer ${ctx.adminToken}`), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        'Bearer',
        'Bearer ',
        `bearer ${ctx.apiToken}`,
        `Bearer  ${ctx.apiToken}`,
        `Bearer ${ctx.apiToken} extra`,
        `Bearer ${ctx.apiToken},Bearer x`,
        'Basic dXNlcjpwYXNz',
        'Basic',
        'Digest username="x"',
        `Bearer ${'a'.repeat(5000)}`,
      ),
      weight: 3,
    },
    { arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 30 }), weight: 1 },
  );
// A header with a name or value Node's parser may refuse (control bytes, separators, obs-text).
const oddHeader = fc.tuple(
  fc.oneof(
    fc.constantFrom('X-Odd', 'X Odd', 'X:Odd', 'X-Ünicode', ''),
    fc.string({ unit: 'binary-ascii', maxLength: 10 }),
  ),
  fc.oneof(
    fc.string({ unit: 'binary-ascii', maxLength: 20 }),
    fc.string({ unit: 'grapheme', maxLength: 10 }),
    control.map((c) => `a${c}b`),
  ),
);

const headers = (ctx: FuzzContext): fc.Arbitrary<[string, string][]> =>
  fc
    .tuple(
      sometimes(
        traceparent.map((v) => ['traceparent', v] as [string, string]),
        30,
      ),
      sometimes(
        tracestate.map((v) => ['tracestate', v] as [string, string]),
        10,
      ),
      sometimes(
        baggage.map((v) => ['baggage', v] as [string, string]),
        10,
      ),
      sometimes(
        forwardedFor.map((v) => ['X-Forwarded-For', v] as [string, string]),
        25,
      ),
      sometimes(
        requestIdHeader.map((v) => ['X-Request-Id', v] as [string, string]),
        25,
      ),
      sometimes(
        accept.map((v) => ['Accept', v] as [string, string]),
        25,
      ),
      sometimes(
        authorization(ctx).map((v) => ['Authorization', v] as [string, string]),
        75,
      ),
      sometimes(
        fc
          .constantFrom('https://app.example.com', 'null', 'http://evil.example', '*')
          .map((v) => ['Origin', v] as [string, string]),
        10,
      ),
      sometimes(
        fc.constantFrom('100-continue', 'garbage').map((v) => ['Expect', v] as [string, string]),
        4,
      ),
      sometimes(
        fc
          .constantFrom('keep-alive', 'close', 'upgrade', 'Keep-Alive, Upgrade')
          .map((v) => ['Connection', v] as [string, string]),
        4,
      ),
      sometimes(
        fc.constantFrom('websocket', 'h2c', 'garbage').map((v) => ['Upgrade', v] as [string, string]),
        3,
      ),
      sometimes(
        oddHeader.map(([k, v]) => [k, v] as [string, string]),
        5,
      ),
      fc.boolean(),
    )
    .map(([...all]) => {
      const reverse = all.pop() as boolean;
      const list = (all as ([string, string] | undefined)[]).filter(
        (h): h is [string, string] => h !== undefined,
      );
      return reverse ? list.reverse() : list;
    });

// Item-shaped JSON: the fields the API knows, with values at and beyond every rule.
const itemName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  fc.tuple(fc.string({ maxLength: 5 }), loneSurrogate, fc.string({ maxLength: 5 })).map((p) => p.join('')),
  fc.tuple(fc.string({ maxLength: 5 }), control, fc.string({ maxLength: 5 })).map((p) => p.join('')),
  fc.constantFrom('', ' ', '\t', 'a\nb', '\u007f', '\u0085', '\u2028', '\ufeff', '\ud83d\ude00'),
  fc.integer({ min: 195, max: 205 }).map((n) => 'n'.repeat(n)),
);
const quantity = fc.oneof(
  fc.integer({ min: 0, max: 1_000 }),
  fc.constantFrom(-1, 1.5, 2 ** 53, 1e308, -0, Number.MAX_SAFE_INTEGER),
  fc.double(),
  fc.string({ maxLength: 5 }),
  fc.constant(null),
);
const itemJson = fc
  .tuple(
    sometimes(itemName, 90),
    sometimes(quantity, 90),
    sometimes(fc.tuple(fc.string({ maxLength: 8 }), fc.jsonValue()), 10),
  )
  .map(([name, q, extra]) =>
    JSON.stringify({
      ...(name === undefined ? {} : { name }),
      ...(q === undefined ? {} : { quantity: q }),
      ...(extra === undefined ? {} : { [extra[0]]: extra[1] }),
    }),
  );

const nested = fc
  .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"name":'))
  .map(([depth, open]) => open.repeat(depth) + (open === '[' ? ']'.repeat(depth) : `1${'}'.repeat(depth)}`));

const invalidUtf8 = fc.constantFrom(
  [0xff],
  [0xc3, 0x28],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf0, 0x9f, 0x98],
  [0x80],
);

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

const bodyBytes = (ctx: FuzzContext): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    { arbitrary: itemJson.map(utf8), weight: 10 },
    { arbitrary: fc.json().map(utf8), weight: 3 },
    {
      arbitrary: fc.anything().map((v) => {
        try {
          return utf8(JSON.stringify(v) ?? 'null');
        } catch {
          return utf8('null');
        }
      }),
      weight: 2,
    },
    // Truncated JSON.
    {
      arbitrary: fc.tuple(itemJson, fc.nat()).map(([j, n]) => utf8(j.slice(0, n % Math.max(1, j.length)))),
      weight: 2,
    },
    // A byte-order mark (UTF-8's, or UTF-16's) before valid JSON.
    {
      arbitrary: fc
        .tuple(itemJson, fc.constantFrom([0xef, 0xbb, 0xbf], [0xfe, 0xff], [0xff, 0xfe]))
        .map(([j, bom]) => new Uint8Array([...bom, ...Buffer.from(j)])),
      weight: 1,
    },
    { arbitrary: nested.map(utf8), weight: 1 },
    // Duplicate keys.
    {
      arbitrary: fc
        .tuple(itemName, itemName, quantity)
        .map(([a, b, q]) =>
          utf8(`{"name":${JSON.stringify(a)},"quantity":${JSON.stringify(q)},"name":${JSON.stringify(b)}}`),
        ),
      weight: 1,
    },
    // Invalid UTF-8 inside a string value.
    {
      arbitrary: fc
        .tuple(fc.string({ maxLength: 5 }), invalidUtf8)
        .map(
          ([s, bad]) =>
            new Uint8Array([...Buffer.from(`{"name":"${s}`), ...bad, ...Buffer.from('","quantity":1}')]),
        ),
      weight: 2,
    },
    // Exactly around the body limit (whitespace padding keeps it valid JSON).
    {
      arbitrary: fc.integer({ min: -2, max: 2 }).map((d) => {
        const core = '{"name":"limit","quantity":1}';
        return utf8(core + ' '.repeat(Math.max(0, ctx.bodyLimitBytes + d - core.length)));
      }),
      weight: 1,
    },
    { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 1 },
    {
      arbitrary: fc.constantFrom('', 'a=1&b=2', 'null', '[]', '{}', '"str"', '1', 'true').map(utf8),
      weight: 1,
    },
  );

const ENCODINGS = ['gzip', 'deflate', 'br', 'zstd'] as const;
const compress = (algo: string, data: Uint8Array): Uint8Array => {
  switch (algo) {
    case 'gzip':
      return gzipSync(data);
    case 'deflate':
      return deflateSync(data);
    case 'br':
      return brotliCompressSync(data);
    case 'zstd':
      return zstdCompressSync(data);
    default:
      return data;
  }
};

interface EncodedBody {
  readonly bytes: Uint8Array;
  readonly contentEncoding: string | undefined;
}

// Content-Encoding and what the bytes really are: correct, not compressed, corrupted, truncated.
const encodedBody = (ctx: FuzzContext): fc.Arbitrary<EncodedBody> =>
  fc
    .tuple(
      bodyBytes(ctx),
      fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 8 },
        { arbitrary: fc.constantFrom(...ENCODINGS, 'identity'), weight: 4 },
        {
          arbitrary: fc.constantFrom(
            'x-unknown',
            'compress',
            'gzip, br',
            'gzip, gzip',
            'GZIP',
            'gzip;q=1',
            '',
            'identity, gzip',
          ),
          weight: 1,
        },
      ),
      fc.constantFrom('correct', 'correct', 'correct', 'raw', 'corrupt', 'truncated'),
      fc.nat(),
    )
    .map(([data, enc, mode, n]) => {
      if (enc === undefined) return { bytes: data, contentEncoding: undefined };
      const algos = enc
        .toLowerCase()
        .split(',')
        .map((s) => s.trim());
      let bytes = data;
      if (mode !== 'raw') for (const a of algos) bytes = compress(a, bytes);
      if (mode === 'corrupt' && bytes.length > 0) {
        bytes = new Uint8Array(bytes);
        const i = n % bytes.length;
        bytes[i] = (bytes[i] ?? 0) ^ 0x5a;
        const j = (i * 7 + 3) % bytes.length;
        bytes[j] = (bytes[j] ?? 0) ^ 0xa5;
      }
      if (mode === 'truncated') bytes = bytes.subarray(0, n % Math.max(1, bytes.length));
      return { bytes, contentEncoding: enc };
    });

// A CRLF inside a generated value would end the head early and make the rest a second request,
// whose answer the client would take for the next one's; bare CR or LF stay (Node refuses them).
const noCrLf = (s: string): string => {
  let out = s;
  while (out.includes('\r\n')) out = out.replaceAll('\r\n', '');
  return out;
};

const METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'HEAD', 'PUT', 'OPTIONS'] as const;
const method = fc.oneof(
  { arbitrary: fc.constantFrom(...METHODS), weight: 20 },
  {
    arbitrary: fc.constantFrom('TRACE', 'CONNECT', 'PROPFIND', 'get', 'FOO', 'M-SEARCH', 'QUERY'),
    weight: 1,
  },
);

// A request a real client could have meant: a write with a token and JSON, whose content is where
// the edge cases are (text rule, numbers, compression). Without it, almost nothing reaches a handler.
const plausibleRequest = (ctx: FuzzContext): fc.Arbitrary<FuzzRequest> =>
  fc
    .record({
      call: fc.constantFrom(
        ['POST', '/api/v1/items'],
        ['POST', '/api/v1/items'],
        ['PATCH', `/api/v1/items/${KNOWN_ID}`],
        ['DELETE', `/api/v1/items/${KNOWN_ID}`],
        ['GET', `/api/v1/items/${KNOWN_ID}`],
        ['GET', '/api/v1/items'],
      ),
      query: sometimes(fc.tuple(queryValue, queryValue), 30),
      name: itemName,
      quantity: fc.oneof(
        { arbitrary: fc.integer({ min: 0, max: 10_000 }), weight: 4 },
        { arbitrary: quantity, weight: 1 },
      ),
      charset: sometimes(fc.constantFrom(...charsets), 20),
      encoding: sometimes(fc.constantFrom(...ENCODINGS), 15),
      trace: sometimes(traceparent, 30),
      token: fc.oneof(
        { arbitrary: fc.constant(ctx.apiToken), weight: 9 },
        { arbitrary: fc.constant('wrong'), weight: 1 },
      ),
      badBytes: sometimes(invalidUtf8, 10),
      // Whitespace that brings the (inflated) body to BODY_LIMIT_BYTES - 2 .. + 2.
      padToLimit: sometimes(fc.integer({ min: -2, max: 2 }), 5),
    })
    .map((r) => {
      const [method, path] = r.call as [string, string];
      const compact = JSON.stringify(
        method === 'PATCH' ? { name: r.name } : { name: r.name, quantity: r.quantity },
      );
      const text =
        r.padToLimit === undefined
          ? compact
          : compact + ' '.repeat(Math.max(0, ctx.bodyLimitBytes + r.padToLimit - Buffer.byteLength(compact)));
      // Bytes that are not UTF-8, right inside the name's string.
      const json =
        r.badBytes === undefined
          ? utf8(text)
          : new Uint8Array([...utf8(text.slice(0, 9)), ...r.badBytes, ...utf8(text.slice(9))]);
      const hasBody = method === 'POST' || method === 'PATCH';
      const headers: [string, string][] = [['Authorization', `Bearer ${r.token}`]];
      if (r.trace !== undefined) headers.push(['traceparent', r.trace]);
      if (hasBody)
        headers.push([
          'Content-Type',
          r.charset === undefined ? 'application/json' : `application/json; charset=${r.charset}`,
        ]);
      if (hasBody && r.encoding !== undefined) headers.push(['Content-Encoding', r.encoding]);
      const target = r.query === undefined ? path : `${path}?limit=${r.query[0]}&offset=${r.query[1]}`;
      return {
        method,
        target: noCrLf(target),
        headers: headers.map(([k, v]) => [k, noCrLf(v)] as [string, string]),
        body: hasBody ? (r.encoding === undefined ? json : compress(r.encoding, json)) : undefined,
      } satisfies FuzzRequest;
    });

/** One request: everything optional varies independently, so combinations come up too. */
export const fuzzRequest = (ctx: FuzzContext): fc.Arbitrary<FuzzRequest> =>
  fc.oneof({ arbitrary: wildRequest(ctx), weight: 3 }, { arbitrary: plausibleRequest(ctx), weight: 1 });

const wildRequest = (ctx: FuzzContext): fc.Arbitrary<FuzzRequest> =>
  fc
    .record({
      method,
      target,
      headers: headers(ctx),
      body: fc.option(encodedBody(ctx), { nil: undefined, freq: 3 }),
      contentType: fc.option(contentType, { nil: undefined, freq: 6 }),
      framing: fc.oneof(
        { arbitrary: fc.constant('length'), weight: 16 },
        { arbitrary: fc.constant('chunked'), weight: 3 },
        { arbitrary: fc.constant('both'), weight: 1 },
      ),
    })
    .chain((r) =>
      // One request in 41 goes without a Host header.
      fc.nat({ max: 40 }).map((coin) => {
        const headerList: [string, string][] = [...r.headers];
        if (r.contentType !== undefined && (r.body !== undefined || coin % 4 === 0))
          headerList.push(['Content-Type', r.contentType]);
        if (r.body?.contentEncoding !== undefined)
          headerList.push(['Content-Encoding', r.body.contentEncoding]);
        const framing = r.body === undefined ? 'length' : (r.framing as 'length' | 'chunked' | 'both');
        return {
          method: r.method,
          target: noCrLf(r.target),
          headers: headerList.map(([k, v]) => [noCrLf(k), noCrLf(v)] as [string, string]),
          body: r.body?.bytes,
          framing,
          host: coin !== 0,
        } satisfies FuzzRequest;
      }),
    );
