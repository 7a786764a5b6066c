// The one place to add OpenTelemetry instrumentation: `npm install @opentelemetry/instrumentation-<name>`,
// then name it in INSTRUMENTATIONS below, or at start in OTEL_NODE_ENABLED_INSTRUMENTATIONS.
// @see https://github.com/open-telemetry/opentelemetry-js-contrib/tree/main/packages/auto-instrumentations-node#usage-auto-instrumentation
import type { RequestOptions } from 'node:http';
import type { Instrumentation, InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http';
import type { PinoInstrumentationConfig } from '@opentelemetry/instrumentation-pino';
import type { UndiciInstrumentationConfig } from '@opentelemetry/instrumentation-undici';
import { REDACTED, redactQuery, redactUrl } from './http-filters.ts';

/** What an entry's configuration may depend on. */
export interface InstrumentationContext {
  /** True for a call to our own exporters or to Sentry: those must not become spans (they would trace themselves). */
  isOwnRequest(req: RequestOptions): boolean;
  /** The same test for an origin (`http://host:port`), as undici-based clients give it. */
  isOwnOrigin(origin: string): boolean;
}

export interface InstrumentationEntry {
  /** The npm package, when it is not `@opentelemetry/instrumentation-<name>`. */
  readonly package?: string;
  /** Its configuration; without one the package's defaults apply. */
  readonly config?: (ctx: InstrumentationContext) => InstrumentationConfig;
}

/**
 * The instrumentations the service loads, by short name (the package name without
 * `@opentelemetry/instrumentation-`, as OTEL_NODE_ENABLED_INSTRUMENTATIONS writes it). One line adds
 * one; the modules it patches are hooked because its own module definitions name them (sdk.ts).
 */
export const INSTRUMENTATIONS: Readonly<Record<string, InstrumentationEntry>> = {
  // Not listed: express (its layers make no spans; http.route and the span name come from the app's
  // routing) and ioredis (the rate limiter's store, one round trip per request, whose outcome is on
  // the server span: rate-limit/counting.ts).
  // Outgoing HTTP calls only: the server span of each request is the app's own (observability/server-span.ts).
  http: {
    config: (ctx): HttpInstrumentationConfig => ({
      disableIncomingRequestInstrumentation: true,
      ignoreOutgoingRequestHook: (req) => ctx.isOwnRequest(req),
      // Its own redaction knows a short list of exact names; ours matches token-like names (http-filters.ts).
      startOutgoingSpanHook: (req) => {
        const path = req.path ?? '/';
        if (!path.includes('?')) return {};
        const port = req.port == null ? '' : String(req.port);
        let host = req.host || req.hostname || 'localhost';
        if (!host.includes(':') && port !== '' && port !== '80' && port !== '443') host += `:${port}`;
        const auth = req.auth ? `${REDACTED}:${REDACTED}@` : '';
        return { 'url.full': `${req.protocol ?? 'http:'}//${auth}${host}${redactUrl(path)}` };
      },
    }),
  },
  // fetch() (undici, Node's global fetch) is not node:http: it needs its own instrumentation, or its
  // calls carry no traceparent and make no client span. Query secrets are redacted as on server spans.
  undici: {
    config: (ctx): UndiciInstrumentationConfig => ({
      ignoreRequestHook: (req) => ctx.isOwnOrigin(req.origin),
      startSpanHook: (req) => {
        const q = req.path.indexOf('?');
        return q === -1
          ? {}
          : {
              'url.full': `${req.origin}${redactUrl(req.path)}`,
              'url.query': redactQuery(req.path.slice(q)),
            };
      },
    }),
  },
  // trace_id/span_id on every line logged inside a span; its log sending is off (log-records-worker.ts).
  pino: { config: (): PinoInstrumentationConfig => ({ disableLogSending: true }) },
};

/** A start-up mistake in the instrumentation list: the service refuses to start with this one line. */
export class InstrumentationSetupError extends Error {
  override readonly name = 'InstrumentationSetupError';
}

export interface LoadedInstrumentation {
  readonly name: string;
  readonly instrumentation: Instrumentation;
}

const ENABLED = 'OTEL_NODE_ENABLED_INSTRUMENTATIONS';
const DISABLED = 'OTEL_NODE_DISABLED_INSTRUMENTATIONS';

const namesIn = (value: string | undefined): string[] | undefined => {
  const names = (value ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  return names.length > 0 ? names : undefined;
};

const packageOf = (name: string) =>
  INSTRUMENTATIONS[name]?.package ?? `@opentelemetry/instrumentation-${name}`;

const isInstalled = (pkg: string): boolean => {
  try {
    import.meta.resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

/**
 * The enabled instrumentations, constructed: the list above, or exactly the names in
 * OTEL_NODE_ENABLED_INSTRUMENTATIONS when it is set, minus OTEL_NODE_DISABLED_INSTRUMENTATIONS (the
 * semantics of auto-instrumentations-node). Only those packages are imported, not the ~40 that
 * auto-instrumentations-node would. A name whose package is not installed throws InstrumentationSetupError.
 */
export async function loadInstrumentations(
  env: NodeJS.ProcessEnv,
  ctx: InstrumentationContext,
): Promise<LoadedInstrumentation[]> {
  const fromEnv = namesIn(env[ENABLED]);
  const disabled = namesIn(env[DISABLED]) ?? [];
  const missing = (name: string, where: string) => {
    const pkg = packageOf(name);
    return new InstrumentationSetupError(
      `${where} names the instrumentation "${name}", but ${pkg} is not installed (npm install ${pkg})`,
    );
  };
  // A disabled name that matches nothing is a typo that would leave the instrumentation on.
  for (const name of disabled)
    if (!(name in INSTRUMENTATIONS) && !fromEnv?.includes(name) && !isInstalled(packageOf(name)))
      throw missing(name, DISABLED);

  const names = (fromEnv ?? Object.keys(INSTRUMENTATIONS)).filter((n) => !disabled.includes(n));
  const where = fromEnv ? ENABLED : 'service/src/telemetry/instrumentations.ts';
  const classes: [string, InstrumentationClass][] = [];
  for (const name of new Set(names)) {
    const pkg = packageOf(name);
    if (!isInstalled(pkg)) throw missing(name, where);
    classes.push([name, instrumentationClass(await import(pkg), pkg)]);
  }
  // Constructed only once every package is imported: an instrumentation is enabled when constructed,
  // and a module another package's import loads in between (node:http, by CommonJS require) would
  // take the CommonJS patch, after which the http instrumentation ignores the ESM one (named imports
  // of node:http unpatched, no client spans).
  const loaded = classes.map(([name, Class]) => ({
    name,
    instrumentation: new Class(INSTRUMENTATIONS[name]?.config?.(ctx) ?? {}),
  }));
  return loaded;
}

type InstrumentationClass = new (config: InstrumentationConfig) => Instrumentation;

/** The package's one exported instrumentation class (contrib packages export it beside types and constants). */
function instrumentationClass(exports: Record<string, unknown>, pkg: string): InstrumentationClass {
  const classes = Object.values(exports).filter(
    (v): v is InstrumentationClass =>
      typeof v === 'function' && typeof v.prototype?.getModuleDefinitions === 'function',
  );
  const [only, ...more] = new Set(classes);
  if (only === undefined || more.length > 0)
    throw new InstrumentationSetupError(
      `${pkg} exports ${classes.length === 0 ? 'no' : 'more than one'} instrumentation class, so it cannot be named here`,
    );
  return only;
}
