// GET /api/admin/config: the effective non-secret configuration, for operators and their scripts.
import { type RequestHandler, Router } from 'express';
import type { Config } from '../config.ts';

export const ADMIN_PATH = '/api/admin';

/** The admin routes, mounted at ADMIN_PATH; `guard` (the admin tier and token) covers every path under it. */
export function adminRoutes(config: Config, guard: readonly RequestHandler[]): Router {
  const router = Router();
  router.use(...guard);
  router.get('/config', (_req, res) => {
    res.json({
      environment: config.env,
      version: config.serviceVersion,
      revision: config.revision,
      apiTokens: config.auth.apiTokens.length,
      corsOrigins: config.corsOrigins,
      rateLimiterBackend: config.redisUrl ? 'redis' : 'memory',
      // The URL without its password (config.ts strips it); the SQLite path is not shown.
      database:
        config.database.kind === 'postgresql'
          ? { backend: 'postgresql', url: config.database.url, poolMax: config.database.poolMax }
          : { backend: 'sqlite' },
    });
  });
  return router;
}
