// The traffic mix of the stack end-to-end test: every status the dashboards and rules look at.
// Clients are told apart by X-Forwarded-For (the service runs with TRUST_PROXY=1 behind "a proxy" on
// loopback), so the mix stays under the rate limits while dedicated clients exhaust each tier.
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export const E2E_API_TOKEN = 'e2e-api-token-0123456789abcdef';
export const E2E_ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef0123456789';
export const ALLOWED_ORIGIN = 'https://app.example.com';

/** Limits the test sets through RATE_LIMIT_*_POINTS, low enough to reach with a few requests. */
export const LIMITS = { general: 40, api: 15, admin: 3 } as const;

/** How long a slow request takes: well above the latency SLO threshold (250 ms). */
export const SLOW_REQUEST_MS = 400;

export interface TrafficLog {
  /** HTTP status -> count. */
  readonly statuses: Map<number, number>;
  /** Durations (ms) of the deliberately slow requests, as the client saw them. */
  readonly slowMs: number[];
}

export function newTrafficLog(): TrafficLog {
  return { statuses: new Map(), slowMs: [] };
}

interface Req {
  method?: string;
  path: string;
  client: string;
  token?: string;
  body?: string;
  contentType?: string;
  origin?: string;
}

async function send(base: string, log: TrafficLog, r: Req): Promise<Response> {
  const headers: Record<string, string> = { 'x-forwarded-for': r.client };
  if (r.token) headers.authorization = `Bearer ${r.token}`;
  if (r.body !== undefined) headers['content-type'] = r.contentType ?? 'application/json';
  if (r.origin) headers.origin = r.origin;
  const res = await fetch(`${base}${r.path}`, {
    method: r.method ?? 'GET',
    headers,
    ...(r.body === undefined ? {} : { body: r.body }),
  });
  await res.arrayBuffer();
  log.statuses.set(res.status, (log.statuses.get(res.status) ?? 0) + 1);
  return res;
}

/** A create whose body trickles in over SLOW_REQUEST_MS: a slow client makes a slow request. */
function slowCreate(base: string, log: TrafficLog, client: string): Promise<void> {
  const body = JSON.stringify({ name: 'slow widget', quantity: 1 });
  const half = Math.floor(body.length / 2);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/api/v1/items`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${E2E_API_TOKEN}`,
          'x-forwarded-for': client,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          log.statuses.set(res.statusCode ?? 0, (log.statuses.get(res.statusCode ?? 0) ?? 0) + 1);
          log.slowMs.push(performance.now() - started);
          resolve();
        });
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, half));
    setTimeout(() => req.end(body.slice(half)), SLOW_REQUEST_MS);
  });
}

/**
 * One round of traffic. `round` makes the client addresses fresh, so each round starts every client
 * with a full rate-limit budget and produces its 429s again.
 */
export async function trafficRound(base: string, log: TrafficLog, round: number): Promise<void> {
  let n = 0;
  // A new mix client every 5 requests keeps each one far below every tier's limit.
  const mix = () => `198.51.${100 + round}.${Math.floor(n++ / 5) + 1}`;
  const write = { token: E2E_API_TOKEN, contentType: 'application/json' };

  for (let i = 0; i < 3; i++) await send(base, log, { path: '/api/health', client: mix() });
  for (let i = 0; i < 3; i++) await send(base, log, { path: '/api/v1/items?limit=5', client: mix() });
  const created = await send(base, log, {
    method: 'POST',
    path: '/api/v1/items',
    client: mix(),
    body: JSON.stringify({ name: 'widget', quantity: 3 }),
    ...write,
  });
  const location = created.headers.get('location') ?? '/api/v1/items/1';
  await send(base, log, { path: location, client: mix() });
  await send(base, log, {
    method: 'PATCH',
    path: location,
    client: mix(),
    body: JSON.stringify({ quantity: 4 }),
    ...write,
  });
  await send(base, log, { method: 'DELETE', path: location, client: mix(), token: E2E_API_TOKEN });
  // 404: a missing item on a real route, and a path that matches no route at all.
  await send(base, log, { path: '/api/v1/items/999999', client: mix() });
  await send(base, log, { path: `/no/such/path/${round}`, client: mix() });
  // 400 validation, 400 malformed JSON, 415, 413.
  await send(base, log, { method: 'POST', path: '/api/v1/items', client: mix(), body: '{}', ...write });
  await send(base, log, { method: 'POST', path: '/api/v1/items', client: mix(), body: '{"name":', ...write });
  await send(base, log, {
    method: 'POST',
    path: '/api/v1/items',
    client: mix(),
    body: 'name=widget',
    token: E2E_API_TOKEN,
    contentType: 'text/plain',
  });
  await send(base, log, {
    method: 'POST',
    path: '/api/v1/items',
    client: mix(),
    body: JSON.stringify({ name: 'x'.repeat(150_000), quantity: 1 }),
    ...write,
  });
  // 401 (no token, wrong token), 403 (API token on an admin route), admin success.
  await send(base, log, { method: 'POST', path: '/api/v1/items', client: mix(), body: '{}' });
  await send(base, log, { method: 'POST', path: '/api/v1/items', client: mix(), body: '{}', token: 'wrong' });
  await send(base, log, { path: '/api/admin/config', client: mix(), token: E2E_API_TOKEN });
  await send(base, log, { path: '/api/admin/config', client: mix(), token: E2E_ADMIN_TOKEN });
  // 500 on purpose.
  for (let i = 0; i < 2; i++) await send(base, log, { path: '/api/debug/error', client: mix() });
  // CORS: an allowed origin, and a look-alike that must be refused.
  await send(base, log, { path: '/api/v1/items', client: mix(), origin: ALLOWED_ORIGIN });
  await send(base, log, { path: '/api/v1/items', client: mix(), origin: 'https://app.example.com.evil.net' });
  // Slow requests, concurrently so they overlap (active requests > 1).
  await Promise.all([
    slowCreate(base, log, mix()),
    slowCreate(base, log, mix()),
    slowCreate(base, log, mix()),
  ]);

  // 429 on each tier, each from its own client: admin (limit 3), api (15), general (40).
  const adminClient = `203.0.${113 + round}.1`;
  for (let i = 0; i <= LIMITS.admin; i++)
    await send(base, log, { path: '/api/admin/config', client: adminClient, token: E2E_ADMIN_TOKEN });
  const apiClient = `203.0.${113 + round}.2`;
  for (let i = 0; i <= LIMITS.api; i++) await send(base, log, { path: '/api/v1/items', client: apiClient });
  const generalClient = `203.0.${113 + round}.3`;
  for (let i = 0; i <= LIMITS.general; i++)
    await send(base, log, { path: `/not-found/${i % 3}`, client: generalClient });
  await sleep(10);
}
