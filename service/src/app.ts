// createApp(deps): middleware order, routers and the error handler. It never listens.
import express, { type Express } from 'express';
import type { Dependencies } from './dependencies.ts';
import { ITEMS_PATH, itemRoutes } from './items/routes.ts';
import { accessLog } from './platform/access-log.ts';
import { createAuth } from './platform/auth.ts';
import { reportUnexpectedError, sentryRequestScope } from './platform/error-reporting.ts';
import { notFoundHandler, problemHandler } from './platform/errors.ts';
import { httpMetrics } from './platform/http-metrics.ts';
import { jsonBody } from './platform/json-body.ts';
import { requestId } from './platform/request-id.ts';
import { createParser } from './platform/validation.ts';

export function createApp(deps: Dependencies): Express {
  const { config, securityEvents } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const requireRole = createAuth(config.auth, securityEvents);
  const parse = createParser(securityEvents);
  const body = jsonBody({ limitBytes: config.bodyLimitBytes, securityEvents });

  // --- telemetry (issue 3): request id, RED metrics, access log, per-request Sentry scope ---
  app.use(requestId());
  app.use(httpMetrics(deps.metrics));
  app.use(accessLog(deps.logger));
  const sentryScope = sentryRequestScope();
  if (sentryScope) app.use(sentryScope);
  // --- end telemetry ---

  app.get('/api/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.use(ITEMS_PATH, itemRoutes({ items: deps.items, requireRole, parse, jsonBody: body }));

  const admin = express.Router();
  admin.use(requireRole('admin'));
  admin.get('/config', (_req, res) => {
    res.json({
      environment: config.env,
      version: config.serviceVersion,
      revision: config.revision,
      apiTokens: config.auth.apiTokens.length,
      corsOrigins: config.corsOrigins,
      rateLimiterBackend: config.redisUrl ? 'redis' : 'memory',
    });
  });
  app.use('/api/admin', admin);

  if (config.debugRoutes) {
    // Deliberately throws so a user can watch one unexpected error travel through logs, traces and Sentry.
    app.get('/api/debug/error', () => {
      throw new Error('Deliberate error from /api/debug/error');
    });
  }

  app.use(notFoundHandler());
  app.use(
    problemHandler({
      logger: deps.logger,
      securityEvents,
      exposeInternalErrors: config.env === 'development',
      onUnexpectedError: reportUnexpectedError,
    }),
  );
  return app;
}
