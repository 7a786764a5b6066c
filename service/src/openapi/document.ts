// The OpenAPI 3.1 document of the whole service: every route, its security, problem types and
// headers; served at GET /api/openapi.json and written to docs/openapi.json by `npm run openapi`.
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Component } from '../component/define-component.ts';
import { COMPONENTS } from '../components.ts';
import { PACKAGE_VERSION } from '../package-info.ts';
import {
  headerComponents,
  type JsonSchema,
  json,
  type OpenApiPaths,
  operation,
  problemSchema,
} from './builder.ts';

export const OPENAPI_PATH = '/api/openapi.json';
/** Clients and gateways may keep it this long; the ETag makes a later check cheap. */
const MAX_AGE_SECONDS = 300;

const obj = (properties: Record<string, object>, required = Object.keys(properties)): JsonSchema => ({
  type: 'object',
  properties,
  required,
});
const str = { type: 'string' };
const int = { type: 'integer', minimum: 0 };
const num = { type: 'number', minimum: 0 };

const check = obj(
  {
    status: { enum: ['up', 'down', 'not_configured'] },
    latencyMs: num,
    error: str,
  },
  ['status'],
);
const tierStatus = obj({
  backend: { enum: ['redis', 'memory', 'unavailable'] },
  degraded: { type: 'boolean' },
  points: int,
  durationSeconds: int,
});
const tiers = { type: 'object', additionalProperties: tierStatus };
const eventLoop = obj({
  delayBeyondIntervalMs: obj({ p50: num, p99: num, max: num }),
  utilization: { type: 'number', minimum: 0, maximum: 1 },
  windowSeconds: num,
});
const latency = obj({ requests: int, ratePerSecond: num, p50Ms: num, p95Ms: num, p99Ms: num });

// Admin views: the fields operators and scripts read are listed; more may be added.
const healthSchemas: Record<string, JsonSchema> = {
  Liveness: { ...obj({ status: { const: 'ok' } }), additionalProperties: false },
  Readiness: obj(
    {
      status: { enum: ['ok', 'degraded', 'unavailable', 'draining'] },
      checks: { type: 'object', additionalProperties: check },
      rateLimit: tiers,
    },
    ['status'],
  ),
  HealthDetailed: obj({
    status: { enum: ['ok', 'draining'] },
    version: str,
    revision: str,
    environment: { enum: ['development', 'test', 'production'] },
    uptimeSeconds: int,
    dependencies: { type: 'object', additionalProperties: check },
    memory: obj({ rssBytes: int, heapUsedBytes: int, heapTotalBytes: int }),
    eventLoop,
  }),
  HealthSecurity: obj({
    securityEventsSinceStart: { type: 'object', additionalProperties: int },
    rateLimit: obj({ store: str, tiers }),
    posture: { type: 'object' },
  }),
  HealthPerformance: obj({
    requests: obj({ lastMinute: latency, last5Minutes: latency }),
    eventLoop,
    heap: obj({ usedBytes: int, totalBytes: int, limitBytes: int }),
  }),
  AdminConfig: obj(
    {
      environment: str,
      version: str,
      revision: str,
      apiTokens: int,
      corsOrigins: { type: 'array', items: str },
      rateLimiterBackend: { enum: ['redis', 'memory'] },
      database: obj({ backend: { enum: ['sqlite', 'postgresql'] } }, ['backend']),
    },
    ['environment', 'version', 'revision'],
  ),
};

const admin = { tiers: ['general', 'admin'], auth: 'admin' } as const;
const adminView = (operationId: string, summary: string, schema: string) => ({
  get: operation(admin, {
    operationId,
    summary,
    responses: { 200: { description: summary, content: json(schema) } },
  }),
});

/** Liveness and readiness: public, never rate-limited. */
const probePaths = (): OpenApiPaths => ({
  '/api/health': {
    get: operation(
      { tiers: [] },
      {
        operationId: 'liveness',
        summary: 'Liveness: the process serves requests. Never rate-limited, checks no dependency.',
        responses: { 200: { description: 'Alive.', content: json('Liveness') } },
      },
    ),
  },
  '/api/health/ready': {
    get: operation(
      { tiers: [] },
      {
        operationId: 'readiness',
        summary: 'Readiness: the database answers; degraded while a rate-limit tier runs on its fallback.',
        responses: {
          200: { description: 'Ready (ok or degraded).', content: json('Readiness') },
          503: {
            description: 'Draining (shutdown began) or the database is unavailable.',
            content: json('Readiness'),
          },
        },
      },
    ),
  },
});

/** The admin token's views: health details, security, performance, configuration. */
const adminPaths = (): OpenApiPaths => ({
  '/api/health/detailed': adminView(
    'healthDetailed',
    'Dependencies, version, uptime, memory, event loop.',
    'HealthDetailed',
  ),
  '/api/health/security': adminView(
    'healthSecurity',
    'Security events since start, limiter backends, CORS / proxy / header posture.',
    'HealthSecurity',
  ),
  '/api/health/performance': adminView(
    'healthPerformance',
    'Request rate and latency percentiles over the last 1 and 5 minutes, event loop, heap.',
    'HealthPerformance',
  ),
  '/api/admin/config': adminView('adminConfig', 'The effective non-secret configuration.', 'AdminConfig'),
});

const debugPaths = (): OpenApiPaths => ({
  '/api/debug/error': {
    get: operation(
      { tiers: ['general'] },
      {
        operationId: 'debugError',
        summary: 'Throws on purpose, to follow one error through logs, traces and Sentry.',
        description: 'Absent (404) when NODE_ENV=production.',
        responses: {},
      },
    ),
  },
});

/** The document itself: public and cacheable, outside the tiers. */
const documentPaths = (): OpenApiPaths => ({
  [OPENAPI_PATH]: {
    get: operation(
      { tiers: [] },
      {
        operationId: 'openApiDocument',
        summary: 'This document. Public and cacheable; outside the rate-limit tiers, like the probes.',
        responses: {
          200: {
            description: 'The OpenAPI 3.1 document.',
            headers: {
              ETag: { required: true, schema: str },
              'Cache-Control': { required: true, schema: str },
            },
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          304: { description: 'Not modified (If-None-Match matched the ETag).' },
        },
      },
    ),
  },
});

/** /metrics, on the metrics listener: no API operation, so no traits. */
const metricsPaths = (): OpenApiPaths => ({
  '/metrics': {
    servers: [
      {
        url: 'http://localhost:9464',
        description: 'The metrics listener (METRICS_HOST:METRICS_PORT), not the API port.',
      },
    ],
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics (docs/contract.md); OpenMetrics with exemplars when Accept asks for it.',
      security: [],
      responses: {
        200: {
          description: 'The metrics.',
          content: {
            'text/plain; version=0.0.4': { schema: str },
            'application/openmetrics-text; version=1.0.0': { schema: str },
          },
        },
      },
    },
  },
});

/** The platform's own paths, in the document's order. */
const platformPaths = (): OpenApiPaths[] => [
  probePaths(),
  adminPaths(),
  debugPaths(),
  documentPaths(),
  metricsPaths(),
];

// Two components declaring the same path or schema name would silently replace one another.
function merged<T>(what: string, parts: readonly Readonly<Record<string, T>>[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const part of parts)
    for (const [key, value] of Object.entries(part)) {
      if (key in out) throw new Error(`OpenAPI ${what} ${key} is declared twice`);
      out[key] = value;
    }
  return out;
}

/**
 * The document of the platform's routes and every component's. Deterministic: the same sources give
 * byte-for-byte the same JSON. Tests pass a list with a fixture component.
 */
export function openApiDocument(components: readonly Component[] = COMPONENTS): Record<string, unknown> {
  return {
    openapi: '3.1.1',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'items-api',
      version: PACKAGE_VERSION,
      description:
        'Errors are application/problem+json (RFC 9457). Rate-limited routes carry RateLimit and RateLimit-Policy (draft-ietf-httpapi-ratelimit-headers); a 429 carries Retry-After. Every response carries X-Request-Id. x-rate-limit-tiers names the tiers that count an operation.',
    },
    // No top-level servers: the default is the host that served the document (OpenAPI 3.1, 4.8.1).
    paths: merged('path', [...components.map((c) => c.openapi.paths()), ...platformPaths()]),
    components: {
      schemas: merged('schema', [
        { Problem: problemSchema(components.flatMap((c) => c.problems ?? [])) },
        ...components.map((c) => c.openapi.schemas ?? {}),
        healthSchemas,
      ]),
      headers: headerComponents(),
      securitySchemes: {
        apiToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'A token from API_TOKENS: may write /api/v1.',
        },
        adminToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'ADMIN_TOKEN: admin views and /api/admin; may also write.',
        },
      },
    },
  };
}

/** The document as served and as committed in docs/openapi.json. */
export const renderOpenApiDocument = (components: readonly Component[] = COMPONENTS): string =>
  `${JSON.stringify(openApiDocument(components), null, 2)}\n`;

/** GET /api/openapi.json: the document, rendered once, with an ETag and a public max-age. */
export function openApiHandler(components: readonly Component[] = COMPONENTS): RequestHandler {
  const body = renderOpenApiDocument(components);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return (req, res) => {
    // Replaces the no-store every other response gets (security-headers.ts): this one is public.
    res.set({ 'Cache-Control': `public, max-age=${MAX_AGE_SECONDS}`, ETag: etag });
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    res.type('application/json').send(body);
  };
}
