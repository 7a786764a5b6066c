// Unexpected errors go to Sentry (through the telemetry handle, a no-op when Sentry is off).
import * as Sentry from '@sentry/node';
import type { RequestHandler } from 'express';
import { telemetryHandle } from './telemetry-handle.ts';

export function reportUnexpectedError(err: unknown): void {
  telemetryHandle().captureException(err);
}

/**
 * Gives each request its own Sentry isolation scope, so breadcrumbs (security events) of one request
 * never ride along on another request's error. Undefined (no middleware, no cost) when Sentry is off.
 */
export function sentryRequestScope(): RequestHandler | undefined {
  if (!telemetryHandle().sentryEnabled) return undefined;
  return (_req, _res, next) => {
    Sentry.withIsolationScope(() => next());
  };
}
