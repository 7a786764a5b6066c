// Every counterexample the fuzz suite (fuzz.test.ts) has found, replayed first on every run so that a
// fixed defect stays fixed. Add the shrunk request fast-check prints, with what it broke.
import { gzipSync } from 'node:zlib';
import type { FuzzRequest } from './fuzz-arbitraries.ts';

export interface Regression {
  /** What the request used to break. */
  readonly found: string;
  readonly request: FuzzRequest;
}

const json = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const bytes = (...b: number[]) => new Uint8Array(b);
const write: [string, string][] = [
  ['Authorization', 'Bearer process-api-token-0123456789abcdef'],
  ['Content-Type', 'application/json'],
];

export const FUZZ_REGRESSIONS: readonly Regression[] = [
  // The four classes reported before the suite existed.
  {
    found: 'malformed percent-escape in the path: URIError -> 500',
    request: { method: 'GET', target: '/api/v1/items/%E0%A4%A', headers: [] },
  },
  {
    found: 'corrupt gzip body: zlib error -> 500',
    request: {
      method: 'POST',
      target: '/api/v1/items',
      headers: [...write, ['Content-Encoding', 'gzip']],
      body: json('garbage'),
    },
  },
  {
    found: 'unsupported Content-Encoding: 415 http-error -> 500',
    request: {
      method: 'POST',
      target: '/api/v1/items',
      headers: [...write, ['Content-Encoding', 'x-unknown']],
      body: gzipSync('{}'),
    },
  },
  {
    found: 'invalid UTF-8 in a JSON body: stored with U+FFFD, 201',
    request: {
      method: 'POST',
      target: '/api/v1/items',
      headers: write,
      body: new Uint8Array([...json('{"name":"a'), ...bytes(0xff), ...json('","quantity":1}')]),
    },
  },
  {
    found: 'invalid header byte: Node answered a bare 400 without problem+json or security headers',
    request: { method: 'GET', target: '/api/v1/items', headers: [['X-Odd', 'a\u0001b']] },
  },
  // Found by the suite.
  {
    found:
      "fuzz run 1 (shrunk): a request without Host got Node's bare 400, no problem+json, no security headers",
    request: { method: 'HEAD', target: '/api/health', headers: [], host: false },
  },
  {
    found: "an Expect other than 100-continue got Node's bare 417 (same code path as the missing Host)",
    request: { method: 'GET', target: '/api/v1/items', headers: [['Expect', 'garbage']] },
  },
  {
    found: 'CONNECT: Node dropped the connection without an answer (no connect listener)',
    request: { method: 'CONNECT', target: '/api/v1/items', headers: [] },
  },
  {
    found: 'a NUL in name was stored with 201',
    request: {
      method: 'POST',
      target: '/api/v1/items',
      headers: write,
      body: json('{"name":"a\\u0000b","quantity":1}'),
    },
  },
  {
    found: 'a lone surrogate in name was stored with 201',
    request: {
      method: 'POST',
      target: '/api/v1/items',
      headers: write,
      body: json('{"name":"\\ud800","quantity":1}'),
    },
  },
  {
    found: 'a body declared as UTF-16 was decoded with replacement characters and stored',
    request: {
      method: 'POST',
      target: '/api/v1/items',
      headers: [
        ['Authorization', 'Bearer process-api-token-0123456789abcdef'],
        ['Content-Type', 'application/json; charset=utf-16le'],
      ],
      body: new Uint8Array(Buffer.from('{"name":"x","quantity":1}', 'utf16le')),
    },
  },
  {
    found:
      "a target url.parse refuses (`//a@[/%00?=#`): the router skipped every middleware, finalhandler's bare HTML 404",
    request: { method: 'GET', target: '//a@[/%00?=#', headers: [['Accept', 'application/json']] },
  },
  {
    found: 'the same target without Host: the same bare 404 (no middleware ran to refuse the missing Host)',
    request: { method: 'GET', target: '//a@[/x#', headers: [], host: false },
  },
];
