// The naive full stack: the same libraries as the template, each wired with its README's defaults.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as Sentry from '@sentry/node';
import express from 'express';
import helmet from 'helmet';
import { Redis } from 'ioredis';
import { pinoHttp } from 'pino-http';
import client from 'prom-client';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { announceReady, exitOnSignal, HELLO_BODY, HELLO_PATH } from './common.ts';

client.collectDefaultMetrics();
const httpDuration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'Duration of HTTP requests in seconds',
  labelNames: ['method', 'route', 'code'],
});

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
// Limits high enough never to reject: the benchmark measures the cost of counting, not of refusing.
const limiter = new RateLimiterRedis({
  storeClient: redis,
  keyPrefix: 'naive',
  points: Number(process.env.BENCH_RATE_LIMIT_POINTS ?? 1_000_000_000),
  duration: 900,
});

const app = express();
app.use(helmet());
app.use(pinoHttp());
app.use((req, res, next) => {
  const end = httpDuration.startTimer();
  res.on('finish', () =>
    end({ method: req.method, route: req.route?.path ?? req.path, code: res.statusCode }),
  );
  next();
});
app.use((req, res, next) => {
  limiter
    .consume(req.ip ?? 'unknown')
    .then(() => next())
    .catch(() => res.status(429).send('Too Many Requests'));
});
app.get('/metrics', async (_req, res) => {
  res.set('Content-Type', client.register.contentType);
  res.end(await client.register.metrics());
});
app.get(HELLO_PATH, (_req, res) => {
  res.json(HELLO_BODY);
});
Sentry.setupExpressErrorHandler(app);

const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
announceReady({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
exitOnSignal(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  redis.disconnect();
  await Sentry.close(2_000);
});
