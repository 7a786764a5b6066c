// The environment variables the service knows: config.ts's schema and the standard OTEL_* variables
// its telemetry set-up reads (docs and the Kubernetes manifests are checked against this one list).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envSchema } from '../../service/src/config.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * OTEL_* variables named in the telemetry set-up (the SDK reads them by their standard names). A name
 * written as an object key (`OTEL_X: ...`) is one the set-up gives a child (the log worker), not one a
 * user sets, so it is left out.
 */
export function otelVariablesReadByCode(): string[] {
  const src =
    readFileSync(join(ROOT, 'service/src/telemetry/sdk.ts'), 'utf8') +
    readFileSync(join(ROOT, 'service/src/telemetry/instrumentations.ts'), 'utf8') +
    readFileSync(join(ROOT, 'service/src/instrumentation.ts'), 'utf8');
  return [...new Set(src.match(/\bOTEL_[A-Z_]*[A-Z]\b(?!\s*:)/g) ?? [])];
}

export function knownEnvironmentVariables(): string[] {
  return [...Object.keys(envSchema.shape), ...otelVariablesReadByCode()];
}
