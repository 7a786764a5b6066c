// The one path for security-relevant rejections: counts, logs and adds a span event (which a Sentry
// event of the same request carries as a breadcrumb, errors/error-reporting.ts).
import { trace } from '@opentelemetry/api';
import type { Logger } from './logger.ts';
import type { Metrics, SecurityEventType } from './metrics/metrics.ts';

export type SecurityEventDetails = Readonly<Record<string, string | number | boolean | undefined>>;

export interface SecurityEvents {
  record(type: SecurityEventType, details?: SecurityEventDetails): void;
}

// Details are bounded so a client cannot blow up a log line or a span by sending a huge value.
const MAX_DETAIL_LENGTH = 200;

function bounded(details: SecurityEventDetails): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(details)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'string' && v.length > MAX_DETAIL_LENGTH ? `${v.slice(0, MAX_DETAIL_LENGTH)}…` : v;
  }
  return out;
}

export function createSecurityEvents(deps: { metrics: Metrics; logger: Logger }): SecurityEvents {
  const log = deps.logger.child({ component: 'security' });
  return {
    record(type, details = {}) {
      const safe = bounded(details);
      deps.metrics.securityEvents.inc({ type });
      log.warn({ event: type, details: safe }, 'security event');
      trace.getActiveSpan()?.addEvent(`security.${type}`, safe);
    },
  };
}
