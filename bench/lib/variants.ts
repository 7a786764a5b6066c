// The stacks a run compares, and how to start each: command line, environment, and what it serves.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configMap, deployment } from '../../deploy/src/workload.ts';
import type { AppOptions } from '../../service/src/app.ts';
import { ENCODE_CHUNK } from '../../service/src/telemetry/otlp-export.ts';
import { BENCH_ADMIN_TOKEN, BENCH_API_TOKEN } from '../servers/common.ts';
import type { Route } from './results.ts';

export interface Variant {
  readonly id: string;
  readonly label: string;
  readonly group: 'stack' | 'layer' | 'without';
  readonly kind: 'node-http' | 'bare' | 'template' | 'naive';
  /** For template variants: the layers switched on (`all` = the production configuration). */
  readonly layers?: 'all' | readonly string[];
  readonly routes: readonly Route[];
  readonly description: string;
  /** Extra standard variables (informational rows only, e.g. to isolate what a default costs). */
  readonly env?: Readonly<Record<string, string>>;
  /** Node flags of `npm start` left out (informational rows only: what a runtime flag changes). */
  readonly withoutNodeFlags?: readonly string[];
  /**
   * A module of bench/servers imported before the service's own preload (informational rows only:
   * what one part of the template's code changes, against the library's behaviour it replaces).
   */
  readonly preload?: string;
}

/** The V8 flag `npm start` runs the template with; one row runs the template without it. */
export const NO_PRETENURING = '--no-allocation-site-pretenuring';

/** The app's layers the benchmark switches, each by the names createApp leaves out (service/src/app.ts). */
export const APP_LAYERS = {
  helmet: ['security-headers'],
  cors: ['cors'],
  // the general and api tiers on Redis (the admin tier sits on admin routes only)
  limiter: ['rate-limits'],
  'access-log': ['request-id', 'access-log'],
  metrics: ['http-metrics'],
  'request-stats': ['request-stats'],
} as const satisfies Record<string, NonNullable<AppOptions['without']>>;

// Process-level layers, switched through the service's own variables (OTEL_SDK_DISABLED, SENTRY_DSN).
const LAYERS: Readonly<Record<string, string>> = {
  otel: 'OpenTelemetry SDK: traces 100 % sampled, exported over OTLP to the local sink',
  sentry: 'Sentry, errors only, to the local DSN sink',
  helmet: 'helmet and Cache-Control',
  cors: 'the CORS allowlist',
  limiter: 'the general and api rate-limit tiers on Redis',
  'access-log': 'request id and the pino-http access line',
  metrics: 'http_server_request_duration_seconds with exemplars, http_server_active_requests',
  'request-stats': 'recent latency for /api/health/performance',
};

/** A template row on the probe route: the full configuration unless `layers` says otherwise. */
const template = (v: Omit<Variant, 'kind' | 'routes' | 'group' | 'layers'> & Partial<Variant>): Variant => ({
  kind: 'template',
  group: 'layer',
  layers: 'all',
  routes: ['hello'],
  ...v,
});

export function allVariants(): Variant[] {
  const layers = Object.keys(LAYERS);
  return [
    {
      id: 'node-http',
      label: 'node:http, no framework',
      group: 'stack',
      kind: 'node-http',
      routes: ['hello'],
      description:
        'the same body from a plain node:http handler: the ceiling of one core for this load generator',
    },
    {
      id: 'bare',
      label: 'Express 5, bare',
      group: 'stack',
      kind: 'bare',
      routes: ['hello', 'item'],
      description: 'express() with its defaults and the route; the item route reads the same SQLite row',
    },
    template({
      id: 'template',
      label: 'template, full production configuration',
      group: 'stack',
      routes: ['hello', 'item'],
      description: "the pod's environment, every layer on, exporting to the local sinks",
    }),
    {
      id: 'naive',
      label: 'naive full stack (README defaults)',
      group: 'stack',
      kind: 'naive',
      routes: ['hello'],
      description:
        'auto-instrumentations-node/register, Sentry tracesSampleRate 1, default pino-http, prom-client defaults, helmet(), RateLimiterRedis',
    },
    template({
      id: 'template-core',
      label: 'template, every optional layer off',
      layers: [],
      description: 'routing, errors and auth only',
    }),
    template({
      id: 'template-no-otlp-logs',
      label: 'template, full, without OTLP log records (OTEL_LOGS_EXPORTER=none)',
      env: { OTEL_LOGS_EXPORTER: 'none' },
      description: 'what forwarding log lines as OTel log records costs',
    }),
    template({
      id: 'template-otlp-json',
      label: 'template, full, OTLP as JSON (OTEL_EXPORTER_OTLP_PROTOCOL=http/json)',
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
      description: 'what the JavaScript protobuf encoder costs',
    }),
    template({
      id: 'template-v8-pretenuring',
      label: `template, full, with V8's allocation-site pretenuring (started without ${NO_PRETENURING})`,
      withoutNodeFlags: [NO_PRETENURING],
      description:
        "what the start command's GC flag changes (the fixed-rate table's major collections and p99)",
    }),
    template({
      id: 'template-whole-batch',
      label: 'template, full, each export batch encoded in one run (the packaged OTLP exporters)',
      preload: 'whole-batch-export.ts',
      description: `the packaged exporters instead of the template's, which encode ${ENCODE_CHUNK} items per turn of the event loop`,
    }),
    ...layers.map((layer) =>
      template({
        id: `template+${layer}`,
        label: `template + ${layer} alone`,
        layers: [layer],
        description: LAYERS[layer] as string,
      }),
    ),
    // Layers cost more together than alone (an OTel span per Redis command, a log record per access
    // line): the full configuration minus one layer shows what each costs where it really runs.
    ...layers.map((layer) =>
      template({
        id: `template-${layer}`,
        label: `template, full, without ${layer}`,
        group: 'without',
        layers: layers.filter((l) => l !== layer),
        description: `the full configuration with ${layer} switched off`,
      }),
    ),
  ];
}

export interface RunContext {
  readonly root: string;
  readonly redisUrl: string;
  readonly otlpUrl: string;
  readonly sentryDsn: string;
  readonly databasePath: string;
}

/**
 * The pod's environment as the manifests ship it: the ConfigMap the container reads and the
 * container's own `env`, from the TypeScript that generates deploy/kubernetes (so the two cannot
 * drift). Entries the cluster fills in (Secret keys, fields of the pod) are named in `runtime`.
 */
export function podEnvironment(): { values: Record<string, string>; runtime: string[] } {
  const config = configMap();
  const container = deployment().spec?.template.spec?.containers[0];
  if (!container) throw new Error('bench: the Deployment has no container');
  const values: Record<string, string> = {};
  const runtime: string[] = [];
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef?.name !== config.metadata?.name)
      throw new Error(`bench: the container reads an unknown source ${JSON.stringify(from)}`);
    Object.assign(values, config.data);
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) values[e.name] = e.value;
    else runtime.push(e.name);
  }
  return { values, runtime };
}

/**
 * What the benchmark changes in the pod's environment, and nothing else: where things are (listen
 * addresses, the local OTLP and Sentry sinks, Redis, the SQLite file that stands in for PostgreSQL
 * as in the bare stack), the Secret's values, and limiter budgets that one load generator never
 * exhausts (it is one client; the Redis round trip is the same). `undefined` removes the key.
 */
export function localOverrides(ctx: RunContext): Record<string, string | undefined> {
  const unlimited = '1000000000';
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    REDIS_URL: ctx.redisUrl,
    OTEL_EXPORTER_OTLP_ENDPOINT: ctx.otlpUrl,
    SENTRY_DSN: ctx.sentryDsn,
    DATABASE_URL: undefined,
    DATABASE_PASSWORD_FILE: undefined,
    DATABASE_PATH: ctx.databasePath,
    API_TOKENS: BENCH_API_TOKEN,
    ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    RATE_LIMIT_GENERAL_POINTS: unlimited,
    RATE_LIMIT_API_POINTS: unlimited,
    RATE_LIMIT_ADMIN_POINTS: unlimited,
    // Nothing to drain between rounds: no load balancer to wait for.
    SHUTDOWN_DELAY_MS: '0',
  };
}

/** The full template's environment: the pod's, with localOverrides applied. */
export function templateEnvironment(ctx: RunContext): Record<string, string> {
  const { values, runtime } = podEnvironment();
  const local = localOverrides(ctx);
  const env: Record<string, string | undefined> = { ...values, ...local };
  // A value the cluster fills in (`$(VAR)`, a pod field, a Secret) must have a local stand-in here.
  for (const [key, value] of Object.entries(env))
    if (value?.includes('$(') && !(key in local))
      throw new Error(`bench: ${key}=${value} refers to the pod; give it a local value in localOverrides`);
  for (const key of runtime)
    if (!(key in local)) throw new Error(`bench: ${key} is filled in by the cluster; give it a local value`);
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

export interface LaunchSpec {
  readonly args: string[];
  readonly env: NodeJS.ProcessEnv;
}

const has = (v: Variant, layer: string) => v.layers === 'all' || (v.layers?.includes(layer) ?? false);

/** The command line (after `node`) and environment that start a variant. */
export function launchSpec(v: Variant, ctx: RunContext, extraEnv: NodeJS.ProcessEnv = {}): LaunchSpec {
  const base: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    ...extraEnv,
  };
  const server = (name: string) => join(ctx.root, 'bench', 'servers', name);
  if (v.kind === 'node-http') return { args: [server('node-http.ts')], env: base };
  if (v.kind === 'bare')
    return { args: [server('bare.ts')], env: { ...base, BENCH_DATABASE_PATH: ctx.databasePath } };
  if (v.kind === 'naive')
    return {
      args: ['--import', server('naive-instrument.ts'), server('naive.ts')],
      env: {
        ...base,
        OTEL_EXPORTER_OTLP_ENDPOINT: ctx.otlpUrl,
        OTEL_SERVICE_NAME: 'naive',
        SENTRY_DSN: ctx.sentryDsn,
        REDIS_URL: ctx.redisUrl,
      },
    };

  // The template: the pod's environment as the manifests ship it, with only what localOverrides names replaced.
  const env: NodeJS.ProcessEnv = { ...base, ...templateEnvironment(ctx), ...extraEnv, ...v.env };
  if (v.layers !== 'all')
    env.BENCH_WITHOUT = Object.entries(APP_LAYERS)
      .flatMap(([layer, names]) => (v.layers?.includes(layer) ? [] : names))
      .join(',');
  const otel = has(v, 'otel');
  const sentry = has(v, 'sentry');
  if (!otel) env.OTEL_SDK_DISABLED = 'true';
  if (!sentry) delete env.SENTRY_DSN;
  const start = startCommand(ctx.root);
  const preload = otel || sentry ? start.preload : [];
  const dropped = v.withoutNodeFlags ?? [];
  // A comparison row whose flag is no longer in the start command would silently measure the same thing.
  for (const flag of dropped)
    if (!start.nodeFlags.includes(flag))
      throw new Error(`bench: ${v.id} drops ${flag}, which the start command no longer has`);
  const nodeFlags = start.nodeFlags.filter((f) => !dropped.includes(f));
  const variantPreload = v.preload ? ['--import', server(v.preload)] : [];
  return { args: [...nodeFlags, ...variantPreload, ...preload, server('template.ts')], env };
}

/**
 * The template runs with exactly the node flags of `npm start` (package.json), so a runtime flag
 * added there is measured here too; only the entry point changes (bench/servers/template.ts wraps
 * the same startService), the instrumentation preload is dropped when no telemetry layer is on, and
 * `--env-file-if-exists` is left out (the run's environment is the benchmark's alone).
 */
export function startCommand(root: string): { nodeFlags: string[]; preload: string[] } {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  const node = words.indexOf('node');
  const entry = words.findIndex((w) => /service\/src\/server\.ts$/.test(w));
  if (node < 0 || entry < node) throw new Error(`bench: cannot read the start command: ${pkg.scripts.start}`);
  const flags = words.slice(node + 1, entry);
  const nodeFlags: string[] = [];
  const preload: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i] as string;
    const next = flags[i + 1];
    if ((flag === '--import' || flag === '--require') && next?.includes('instrumentation')) {
      preload.push(flag, join(root, next));
      i++;
    } else if (flag.startsWith('--import=') && flag.includes('instrumentation')) {
      preload.push('--import', join(root, flag.slice('--import='.length)));
    } else if (flag.startsWith('--env-file')) {
    } else nodeFlags.push(flag);
  }
  return { nodeFlags, preload };
}
