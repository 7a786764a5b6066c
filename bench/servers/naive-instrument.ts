// The naive stack's preload, wired as the OpenTelemetry and Sentry READMEs show it for an ESM app:
// the import-in-the-middle hook, zero-code auto-instrumentation with every default (exporters from
// OTEL_* variables), and Sentry with tracesSampleRate 1.
import { register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
await import('@opentelemetry/auto-instrumentations-node/register');
const Sentry = await import('@sentry/node');
Sentry.init({ dsn: process.env.SENTRY_DSN, tracesSampleRate: 1.0 });
