// Property-based fuzz suite over real HTTP: generated requests for every route and method
// against the real service process in production mode, with a private Redis and a Sentry receiver.
// On a failure fast-check prints the seed and the shrunk batch; add each counterexample to
// fuzz-regressions.ts. FUZZ_REQUESTS and FUZZ_SEED (environment) change the size and the seed.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { encodeRequest, RawPool, type RawResponse } from '../support/raw-http.ts';
import { startRedis } from '../support/redis-server.ts';
import type { SentryReceiver } from '../support/sentry-receiver.ts';
import { ADMIN_TOKEN, API_TOKEN, type ServiceProcess } from '../support/service-process.ts';
import { startTracedService } from '../support/traced-service.ts';
import { type FuzzContext, type FuzzRequest, fuzzRequest, KNOWN_ID } from './fuzz-arbitraries.ts';
import { FUZZ_REGRESSIONS } from './fuzz-regressions.ts';

const FUZZ_REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 20_000);
const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const BATCH = 50;
// One request slot in this many is left empty, so that shrinking can drop requests from a batch.
const EMPTY_SLOT_FREQ = 1_000;
const PARALLEL = 8;
const BODY_LIMIT_BYTES = 8_192;
const MAX_HEADER_BYTES = 16_384;
const SEEDED_ITEMS = 12;

const SECURITY_HEADERS: Readonly<Record<string, RegExp>> = {
  'content-security-policy': /^default-src 'none';\s*frame-ancestors 'none'$/,
  'x-content-type-options': /^nosniff$/,
  'x-frame-options': /^DENY$/,
  'referrer-policy': /^no-referrer$/,
  'cross-origin-opener-policy': /^same-origin$/,
  'cross-origin-resource-policy': /^same-origin$/,
  'cache-control': /^no-store$/,
  'strict-transport-security': /^max-age=31536000; includeSubDomains$/,
};

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** A request in a form a person can read and paste into fuzz-regressions.ts. */
export function describeRequest(r: FuzzRequest): string {
  const body = r.body ? Buffer.from(r.body) : undefined;
  const shown = body
    ? `${JSON.stringify(body.subarray(0, 300).toString('latin1'))}${body.length > 300 ? `… (${body.length} bytes)` : ''}`
    : 'none';
  const headers = r.headers.map(
    ([k, v]) => `${k}: ${JSON.stringify(v.length > 120 ? `${v.slice(0, 120)}… (${v.length})` : v)}`,
  );
  return [
    `${r.method} ${JSON.stringify(r.target.length > 300 ? `${r.target.slice(0, 300)}… (${r.target.length})` : r.target)}`,
    `  headers: ${headers.join(' | ') || 'none'}${r.host === false ? ' (no Host)' : ''}`,
    `  body: ${shown} framing=${r.framing ?? 'length'}`,
  ].join('\n');
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** An accepted write stored only valid text, and only from a body that was valid UTF-8. */
function textRule(r: FuzzRequest, res: RawResponse): string[] {
  const problems: string[] = [];
  const item = JSON.parse(res.body.toString('utf8')) as { name?: unknown };
  if (typeof item.name === 'string' && (!item.name.isWellFormed() || CONTROL.test(item.name)))
    problems.push(`stored a name that breaks the text rule: ${JSON.stringify(item.name)}`);
  const encoded = r.headers.some(
    ([k, v]) => k.toLowerCase() === 'content-encoding' && v.toLowerCase() !== 'identity',
  );
  if (r.body && !encoded)
    try {
      strictUtf8.decode(r.body);
    } catch {
      problems.push('accepted a body that is not valid UTF-8');
    }
  return problems;
}

type Outcome = { readonly res: RawResponse } | { readonly error: Error };

class FuzzTarget {
  readonly pool: RawPool;
  sent = 0;
  readonly statuses = new Map<number, number>();
  private readonly states = new Map<string, Set<string>>();
  private readonly deleted = new Set<string>();
  private live: string[] = [];
  private logIndex = 0;
  private markers = 0;
  private db: DatabaseSync | undefined;
  private seen5xx = new Set<string>();

  readonly svc: ServiceProcess;
  readonly sentry: SentryReceiver;
  readonly dbPath: string;

  constructor(svc: ServiceProcess, sentry: SentryReceiver, dbPath: string) {
    this.svc = svc;
    this.sentry = sentry;
    this.dbPath = dbPath;
    this.pool = RawPool.forUrl(svc.url);
  }

  close(): void {
    this.pool.close();
    this.db?.close();
  }

  /** Creates items until enough exist for `{known}` to point at. */
  async seed(): Promise<void> {
    this.live = this.live.filter((id) => !this.deleted.has(id));
    while (this.live.length < SEEDED_ITEMS) {
      const res = await this.pool.send(
        encodeRequest({
          method: 'POST',
          target: '/api/v1/items',
          headers: [
            ['Authorization', `Bearer ${API_TOKEN}`],
            ['Content-Type', 'application/json'],
          ],
          body: Buffer.from(JSON.stringify({ name: `seed ${this.live.length}`, quantity: 1 })),
        }),
      );
      assert.equal(res.status, 201, `seeding an item: ${res.body.toString()}`);
      this.recordWrite('POST', '/api/v1/items', res);
    }
    this.db ??= new DatabaseSync(this.dbPath, { readOnly: true });
  }

  private resolve(r: FuzzRequest): FuzzRequest {
    if (!r.target.includes(KNOWN_ID)) return r;
    let h = 0;
    for (const c of r.target) h = (h * 31 + (c.codePointAt(0) ?? 0)) >>> 0;
    const id = this.live[h % Math.max(1, this.live.length)] ?? '00000000-0000-4000-8000-000000000001';
    return { ...r, target: r.target.replaceAll(KNOWN_ID, id) };
  }

  async exchange(request: FuzzRequest): Promise<[FuzzRequest, Outcome]> {
    const r = this.resolve(request);
    this.sent++;
    try {
      const res = await this.pool.send(encodeRequest(r), { head: r.method === 'HEAD', timeoutMs: 15_000 });
      this.statuses.set(res.status, (this.statuses.get(res.status) ?? 0) + 1);
      return [r, { res }];
    } catch (err) {
      return [r, { error: err as Error }];
    }
  }

  private recordWrite(method: string, target: string, res: RawResponse): void {
    if (res.status < 200 || res.status > 299) return;
    if ((method === 'POST' && res.status === 201) || (method === 'PATCH' && res.status === 200)) {
      const item = JSON.parse(res.body.toString('utf8')) as { id: string; name: string; quantity: number };
      if (!this.states.has(item.id)) {
        this.states.set(item.id, new Set());
        this.live.push(item.id);
      }
      this.states.get(item.id)?.add(`${item.name}\u0000${item.quantity}`);
    }
    if (method === 'DELETE' && res.status === 204)
      for (const id of safeDecode(target).match(UUID) ?? []) if (this.states.has(id)) this.deleted.add(id);
  }

  /** The per-response properties; returns what is wrong, or nothing. */
  checkResponse(r: FuzzRequest, outcome: Outcome): string[] {
    if ('error' in outcome) {
      // Node answers a head over maxHeaderSize and closes while the client may still be writing it:
      // the peer can see a reset before the 431. Nothing else may go unanswered.
      const encoded = encodeRequest(r);
      const headEnd = encoded.indexOf('\r\n\r\n');
      if ((headEnd === -1 ? encoded.length : headEnd) > MAX_HEADER_BYTES) return [];
      return [`no response: ${outcome.error.message}`];
    }
    const { res } = outcome;
    const problems: string[] = [];
    if (res.status >= 500) problems.push(`status ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
    for (const [name, pattern] of Object.entries(SECURITY_HEADERS))
      if (!pattern.test(res.headers[name] ?? ''))
        problems.push(
          `status ${res.status} without security header ${name} (got ${JSON.stringify(res.headers[name])})`,
        );
    if (res.status >= 400 && res.status < 500) {
      if (!(res.headers['content-type'] ?? '').startsWith('application/problem+json'))
        problems.push(`${res.status} is not problem+json: ${res.headers['content-type']}`);
      else if (r.method !== 'HEAD') {
        try {
          const body = JSON.parse(res.body.toString('utf8')) as {
            status?: unknown;
            type?: unknown;
            title?: unknown;
          };
          if (body.status !== res.status || typeof body.type !== 'string' || typeof body.title !== 'string')
            problems.push(
              `${res.status} problem body lacks type/title/status: ${res.body.toString('utf8').slice(0, 300)}`,
            );
        } catch {
          problems.push(
            `${res.status} problem body is not JSON: ${res.body.toString('latin1').slice(0, 300)}`,
          );
        }
      }
    }
    if (res.status >= 200 && res.status < 300 && (r.method === 'POST' || r.method === 'PATCH'))
      problems.push(...textRule(r, res));
    // Every 2xx write is recorded, even one that broke a property, so that later batches are judged
    // on their own effects and the shrunk counterexample stays the request that broke it.
    try {
      this.recordWrite(r.method, r.target, res);
    } catch (err) {
      problems.push(`a 2xx write answered something that is not an item: ${(err as Error).message}`);
    }
    return problems;
  }

  /** The properties that hold across requests: logs, Sentry, metrics, readiness, stored data. */
  async checkService(): Promise<string[]> {
    const problems: string[] = [];
    // The access line of a marker request is written after every line of the requests before it.
    const marker = `fuzz-marker-${++this.markers}`;
    const res = await fetch(`${this.svc.url}/api/v1/items?limit=1`, { headers: { 'x-request-id': marker } });
    await res.arrayBuffer();
    const deadline = Date.now() + 10_000;
    let found = -1;
    for (let i = this.logIndex; found === -1; ) {
      for (; i < this.svc.logs.length; i++)
        if (this.svc.logs[i]?.request_id === marker) {
          found = i;
          break;
        }
      if (found !== -1) break;
      if (Date.now() > deadline) {
        problems.push(`the access line of ${marker} never came`);
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    for (let i = this.logIndex; i < this.svc.logs.length; i++) {
      const l = this.svc.logs[i] as { level?: unknown };
      if (l.level === 'error' || l.level === 'fatal' || (typeof l.level === 'number' && l.level >= 50))
        problems.push(`log line at ${String(l.level)}: ${JSON.stringify(l).slice(0, 400)}`);
    }
    this.logIndex = this.svc.logs.length;
    for (const line of this.svc.stderr.splice(0))
      if (line.trim() !== '') problems.push(`stderr: ${line.slice(0, 300)}`);

    const events = this.sentry.events();
    if (events.length > 0)
      problems.push(`Sentry received ${events.length} event(s): ${JSON.stringify(events[0]).slice(0, 400)}`);

    // Compared with the last scrape, so that a shrunk batch is judged by what it added.
    const metrics = await (await fetch(`${this.svc.metricsUrl}/metrics`)).text();
    const fivexx = metrics
      .split('\n')
      .filter(
        (l) =>
          l.startsWith('http_server_request_duration_seconds_count') &&
          /http_response_status_code="5\d\d"/.test(l),
      );
    for (const line of fivexx)
      if (!this.seen5xx.has(line)) problems.push(`/metrics has a new 5xx series or count: ${line}`);
    this.seen5xx = new Set(fivexx);

    const ready = await fetch(`${this.svc.url}/api/health/ready`);
    const readyBody = await ready.text();
    if (ready.status !== 200) problems.push(`readiness answered ${ready.status}: ${readyBody}`);

    problems.push(...this.checkStore());
    return problems;
  }

  private checkStore(): string[] {
    const problems: string[] = [];
    const rows = (this.db as DatabaseSync).prepare('SELECT id, name, quantity FROM items').all() as {
      id: string;
      name: string;
      quantity: number;
    }[];
    const ids = new Set<string>();
    for (const row of rows) {
      ids.add(row.id);
      if (this.deleted.has(row.id)) problems.push(`item ${row.id} is stored after a 204 DELETE`);
      else if (!this.states.get(row.id)?.has(`${row.name}\u0000${row.quantity}`))
        problems.push(`stored item ${JSON.stringify(row)} matches no 2xx write`);
    }
    for (const id of this.states.keys())
      if (!this.deleted.has(id) && !ids.has(id)) problems.push(`item ${id} answered 2xx but is not stored`);
    return problems;
  }

  /** Sends a batch over PARALLEL keep-alive connections, then checks every property. */
  async runBatch(batch: readonly (FuzzRequest | undefined)[]): Promise<void> {
    await this.seed();
    const requests = batch.filter((r): r is FuzzRequest => r !== undefined);
    const outcomes: [FuzzRequest, Outcome][] = new Array(requests.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < requests.length) {
          const k = next++;
          outcomes[k] = await this.exchange(requests[k] as FuzzRequest);
        }
      }),
    );
    const failures: string[] = [];
    for (const [r, o] of outcomes) {
      const p = this.checkResponse(r, o);
      if (p.length > 0) failures.push(`${describeRequest(r)}\n  -> ${p.join('\n  -> ')}`);
    }
    const service = await this.checkService();
    if (service.length > 0) failures.push(`after the batch:\n  -> ${service.join('\n  -> ')}`);
    if (failures.length > 0) throw new Error(`${failures.length} failure(s):\n${failures.join('\n')}`);
  }
}

async function startTarget(t: TestContext): Promise<FuzzTarget> {
  const redis = await startRedis(t);
  const dir = mkdtempSync(join(tmpdir(), 'items-fuzz-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = join(dir, 'items.db');
  const unlimited = '1000000000';
  const { svc, sentry } = await startTracedService(t, {
    otlp: false,
    sentry: true,
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      METRICS_HOST: '127.0.0.1',
      DATABASE_PATH: dbPath,
      REDIS_URL: redis.url,
      TRUST_PROXY: '1',
      CORS_ORIGINS: 'https://app.example.com',
      BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
      HTTP_MAX_HEADER_BYTES: String(MAX_HEADER_BYTES),
      SHUTDOWN_DELAY_MS: '0',
      // The admin tier fails closed (503) when a Redis call exceeds this; on a busy CI host a fuzz burst
      // can push a local Redis past the 150 ms default, which is a slow dependency, not a client error.
      RATE_LIMIT_REDIS_TIMEOUT_MS: '2000',
      // Short, so that a request the server waits on (an incomplete head, a body that never comes)
      // ends in a 408 within the run instead of stalling a connection for the default 10/30 s.
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      HTTP_REQUEST_TIMEOUT_MS: '4000',
      RATE_LIMIT_GENERAL_POINTS: unlimited,
      RATE_LIMIT_API_POINTS: unlimited,
      RATE_LIMIT_ADMIN_POINTS: unlimited,
    },
  });
  const target = new FuzzTarget(svc, sentry, dbPath);
  t.after(() => target.close());
  await target.seed();
  return target;
}

const CONTEXT: FuzzContext = {
  apiToken: API_TOKEN,
  adminToken: ADMIN_TOKEN,
  bodyLimitBytes: BODY_LIMIT_BYTES,
  maxHeaderBytes: MAX_HEADER_BYTES,
};

describe('fuzz: no input reaches a 5xx', () => {
  test(`when ${FUZZ_REQUESTS} generated requests hit every route of the production service, then none gets a 5xx, every 4xx is problem+json with the security headers, nothing reaches Sentry or the error log, /metrics has no 5xx series, the items table changes only on a 2xx write, and the service stays ready`, async (t) => {
    const target = await startTarget(t);

    await t.test('when every counterexample found so far is replayed, then each passes', async () => {
      for (const { request } of FUZZ_REGRESSIONS) await target.runBatch([request]);
    });

    const before = target.sent;
    const started = Date.now();
    const numRuns = Math.ceil((FUZZ_REQUESTS * 1.01) / BATCH);
    // fast-check prints a counterexample with this instead of every byte of every body.
    const readable = fuzzRequest(CONTEXT).map((r) =>
      Object.assign(r, { [fc.toStringMethod]: () => `\n${describeRequest(r)}` }),
    );
    const batch = fc.array(fc.option(readable, { nil: undefined, freq: EMPTY_SLOT_FREQ }), {
      minLength: BATCH,
      maxLength: BATCH,
    });
    await fc.assert(
      fc.asyncProperty(batch, (b) => target.runBatch(b)),
      { numRuns, ...(FUZZ_SEED === undefined ? {} : { seed: FUZZ_SEED }), endOnFailure: false },
    );
    const sent = target.sent - before;
    const seconds = (Date.now() - started) / 1000;
    const statuses = [...target.statuses.entries()].sort(([a], [b]) => a - b);
    t.diagnostic(
      `${sent} generated requests in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s); statuses ${statuses.map(([s, n]) => `${s}:${n}`).join(' ')}`,
    );
    assert.ok(sent >= FUZZ_REQUESTS, `only ${sent} requests were generated`);
    // The fuzz must reach the handlers, not only the edges: writes succeed and fail.
    assert.ok(
      (target.statuses.get(201) ?? 0) > 0 && (target.statuses.get(400) ?? 0) > 0,
      'no 201 or no 400 at all',
    );
  });
});
