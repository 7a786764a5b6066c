// createApp(deps): middleware order, routers and the error handler. It never listens.
import express, { type Express, type RequestHandler } from 'express';
import type { Dependencies } from './dependencies.ts';
import { rememberFailedRequest, reportUnexpectedError } from './errors/error-reporting.ts';
import { notFoundHandler, problemHandler } from './errors/handler.ts';
import { ADMIN_PATH, adminRoutes } from './health/admin-config.ts';
import { adminHealthRoutes, HEALTH_PATH, probeRoutes } from './health/routes.ts';
import { createAuth } from './http/auth.ts';
import { trustProxySetting } from './http/client-ip.ts';
import { cors } from './http/cors.ts';
import { jsonBody } from './http/json-body.ts';
import { middlewareSeries } from './http/middleware-series.ts';
import { requestConformance } from './http/request-conformance.ts';
import { requestId } from './http/request-id.ts';
import { securityHeaders } from './http/security-headers.ts';
import { createParser } from './http/validation.ts';
import { accessLog } from './observability/access-log.ts';
import { exemplarPolicy } from './observability/metrics/exemplar-policy.ts';
import { httpMetrics } from './observability/metrics/http-metrics.ts';
import { OPENAPI_PATH, openApiHandler } from './openapi/document.ts';

/** The middleware every request passes, in the order it runs; the names are stable (AppOptions). */
export type RequestMiddlewareName =
  | 'security-headers'
  | 'request-id'
  | 'http-metrics'
  | 'access-log'
  | 'drain'
  | 'request-stats'
  | 'cors'
  | 'request-conformance';

export interface NamedMiddleware {
  readonly name: RequestMiddlewareName;
  readonly handler: RequestHandler;
}

export interface AppOptions {
  /**
   * Layers left out, by name ('rate-limits': the general and api tiers). Production leaves none out;
   * the benchmark measures what each layer costs this way.
   */
  readonly without?: readonly (RequestMiddlewareName | 'rate-limits')[];
}

/**
 * The middleware every request passes, in order. 1. Security headers first, so 404/413/429/500 and
 * health responses carry them too. 2. Telemetry: request id, RED metrics, access log; before anything
 * that can reject, so rejections are measured and logged like any other response. 3. Once draining,
 * ask keep-alive clients to reconnect (to an instance that is not leaving); then recent latency, CORS.
 */
export function requestMiddleware(deps: Dependencies): NamedMiddleware[] {
  const { config, securityEvents } = deps;
  const drain: RequestHandler = (_req, res, next) => {
    if (deps.lifecycle.draining) res.setHeader('Connection', 'close');
    next();
  };
  return [
    { name: 'security-headers', handler: securityHeaders({ hsts: config.isProduction }) },
    { name: 'request-id', handler: requestId() },
    {
      name: 'http-metrics',
      handler: httpMetrics(deps.metrics, exemplarPolicy(config.tailSamplingRatioPercent)),
    },
    { name: 'access-log', handler: accessLog(deps.logger) },
    { name: 'drain', handler: drain },
    { name: 'request-stats', handler: deps.requestStats.middleware },
    { name: 'cors', handler: cors({ origins: config.corsOrigins, securityEvents }) },
    { name: 'request-conformance', handler: requestConformance(securityEvents) },
  ];
}

export function createApp(deps: Dependencies, options: AppOptions = {}): Express {
  const { config, securityEvents } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const requireRole = createAuth(config.auth, securityEvents);
  const parse = createParser(securityEvents);
  const body = jsonBody({ limitBytes: config.bodyLimitBytes, securityEvents });
  const middleware = requestMiddleware(deps);
  const without = new Set(options.without);
  // A name nothing answers to would silently keep the layer it meant to leave out.
  for (const name of without)
    if (name !== 'rate-limits' && !middleware.some((m) => m.name === name))
      throw new TypeError(`createApp: no layer named ${name}`);

  // Order matters.
  // Client address: X-Forwarded-For is believed only as far as TRUST_PROXY allows.
  app.set('trust proxy', trustProxySetting(config.trustProxy));
  // The request middleware, as one layer (middleware-series.ts: per layer, Express and the OTel
  // instrumentation charge every request).
  app.use(middlewareSeries(middleware.filter((m) => !without.has(m.name)).map((m) => m.handler)));
  // Liveness and readiness: before any rate limit (probes must never be throttled).
  app.use(HEALTH_PATH, probeRoutes(deps));
  // The OpenAPI document: public, static and cached by clients, so outside the rate limits too.
  app.get(OPENAPI_PATH, openApiHandler(deps.components.map((c) => c.component)));
  // Rate limits: general on everything below, api on /api/v1, admin on admin routes (before the
  // token check, so token guessing is limited too). The api middleware comes first: it counts the
  // general tier with its own in one Redis command, and the general middleware skips it then.
  const limits = deps.rateLimits.tier;
  if (!without.has('rate-limits')) {
    app.use('/api/v1', limits.api);
    app.use(limits.general);
  }
  const adminGuard = [limits.admin, requireRole('admin')];
  app.use(HEALTH_PATH, adminHealthRoutes(deps, adminGuard));

  // The components (service/src/components.ts), each on its own path.
  const kit = { requireRole, parse, jsonBody: body, logger: deps.logger };
  for (const { component, routes } of deps.components) app.use(component.path, routes(kit));

  app.use(ADMIN_PATH, adminRoutes(config, adminGuard));
  if (config.debugRoutes) app.get(DEBUG_ERROR_PATH, deliberateError);
  answerFailures(app, deps);
  return app;
}

const DEBUG_ERROR_PATH = '/api/debug/error';
// Throws on purpose so a user can watch one unexpected error travel through logs, traces and Sentry.
const deliberateError = (): never => {
  throw new Error(`Deliberate error from ${DEBUG_ERROR_PATH}`);
};

/** The end of the chain: no route is a 404, and every failure answers problem+json. */
function answerFailures(app: Express, deps: Dependencies): void {
  app.use(notFoundHandler());
  app.use(rememberFailedRequest());
  app.use(
    problemHandler({
      logger: deps.logger,
      securityEvents: deps.securityEvents,
      exposeInternalErrors: deps.config.env === 'development',
      onUnexpectedError: reportUnexpectedError,
    }),
  );
}
