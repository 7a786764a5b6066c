// The only module that reads the environment: validates it once, fails fast with every bad key listed.
import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import type { Component } from './component/define-component.ts';
import { COMPONENTS } from './components.ts';
import { PACKAGE_VERSION } from './package-info.ts';

export const environments = ['development', 'test', 'production'] as const;
export type Environment = (typeof environments)[number];

const csv = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
const optionalUrl = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))
  .pipe(z.url().optional());

// ioredis throws on some URLs the generic check accepts ("host:6379") and reads others as something
// else entirely ("http://h:6379" as host "http"): only what it reads as written passes.
function isRedisUrl(v: string): boolean {
  const u = URL.parse(v);
  return (
    u !== null &&
    (u.protocol === 'redis:' || u.protocol === 'rediss:') &&
    u.hostname !== '' &&
    /^\/?\d*$/.test(u.pathname)
  );
}

// TRUST_PROXY: a hop count or a list of proxy addresses/CIDRs. `true` trusts every hop and lets any
// client choose its own IP (and so its own rate-limit key), so it is refused outright.
const trustProxy = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const raw = (v ?? '').trim();
    if (raw === '' || raw === 'false' || raw === '0') return false as const;
    if (raw.toLowerCase() === 'true') {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a hop count or a list of proxy addresses/CIDRs; "true" would trust any client',
      });
      return z.NEVER;
    }
    if (/^\d+$/.test(raw)) return Number(raw);
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  });

/** Shutdown defaults; deploy/src derives the pod's terminationGracePeriodSeconds from these. */
export const SHUTDOWN_DEFAULTS = { productionDelayMs: 5_000, timeoutMs: 10_000 } as const;

export const envSchema = z.object({
  NODE_ENV: z.enum(environments).default('development'),
  HOST: z.string().min(1).optional(),
  PORT: port.default(3000),
  METRICS_HOST: z.string().min(1).optional(),
  METRICS_PORT: port.default(9464),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  DATABASE_PATH: z.string().min(1).optional(),
  // --- PostgreSQL (issue 21) ---
  DATABASE_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || (/^postgres(ql)?:\/\/\S+$/.test(v.trim()) && URL.canParse(v.trim())), {
      message: 'must be a postgres:// or postgresql:// URL',
    }),
  DATABASE_PASSWORD_FILE: z.string().min(1).optional(),
  DATABASE_POOL_MAX: positiveInt.default(10),
  DATABASE_CONNECT_TIMEOUT_MS: positiveInt.default(2_000),
  DATABASE_STATEMENT_TIMEOUT_MS: positiveInt.default(2_000),
  // --- end PostgreSQL ---
  API_TOKENS: csv,
  ADMIN_TOKEN: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : v)),
  REDIS_URL: optionalUrl.refine(
    (v) => v === undefined || isRedisUrl(v),
    'must be a redis:// or rediss:// URL with a host, e.g. redis://127.0.0.1:6379 (optional /<db number>)',
  ),
  CORS_ORIGINS: csv,
  TRUST_PROXY: trustProxy,
  SENTRY_DSN: optionalUrl,
  BODY_LIMIT_BYTES: positiveInt.default(100 * 1024),
  RATE_LIMIT_GENERAL_POINTS: positiveInt.default(100),
  RATE_LIMIT_GENERAL_DURATION_SECONDS: positiveInt.default(15 * 60),
  RATE_LIMIT_API_POINTS: positiveInt.default(60),
  RATE_LIMIT_API_DURATION_SECONDS: positiveInt.default(15 * 60),
  RATE_LIMIT_ADMIN_POINTS: positiveInt.default(10),
  RATE_LIMIT_ADMIN_DURATION_SECONDS: positiveInt.default(60 * 60),
  RATE_LIMIT_REDIS_TIMEOUT_MS: positiveInt.default(150),
  SHUTDOWN_DELAY_MS: nonNegativeInt.optional(),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(SHUTDOWN_DEFAULTS.timeoutMs),
  // --- hardening: HTTP server limits (issue 4) ---
  HTTP_HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt.default(65_000),
  HTTP_MAX_HEADER_BYTES: positiveInt.default(16 * 1024),
  SERVICE_VERSION: z.string().min(1).optional(),
  BUILD_REVISION: z.string().min(1).default('unknown'),
  // The share of fast, successful traces the gateway's tail sampler keeps; exemplars come only from
  // traces it keeps, so the service must know the same number (observability/collector/gateway.yaml).
  TAIL_SAMPLING_RATIO_PERCENT: z.coerce.number().min(0).max(100).default(10),
});

export interface Config {
  readonly env: Environment;
  readonly isProduction: boolean;
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly revision: string;
  readonly host: string;
  readonly port: number;
  readonly metrics: { readonly host: string; readonly port: number };
  readonly logLevel: string;
  readonly databasePath: string;
  /** Where items live: the embedded SQLite file, or PostgreSQL when DATABASE_URL is set. */
  readonly database: DatabaseConfig;
  readonly auth: { readonly apiTokens: readonly string[]; readonly adminToken: string | undefined };
  readonly redisUrl: string | undefined;
  readonly corsOrigins: readonly string[];
  readonly trustProxy: false | number | readonly string[];
  readonly sentryDsn: string | undefined;
  readonly bodyLimitBytes: number;
  readonly rateLimits: {
    readonly general: { readonly points: number; readonly durationSeconds: number };
    readonly api: { readonly points: number; readonly durationSeconds: number };
    readonly admin: { readonly points: number; readonly durationSeconds: number };
    readonly redisTimeoutMs: number;
  };
  readonly shutdown: { readonly delayMs: number; readonly timeoutMs: number };
  readonly http: {
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly maxHeaderBytes: number;
  };
  readonly debugRoutes: boolean;
  /** TAIL_SAMPLING_RATIO_PERCENT: the gateway's share of the rest, which exemplars stay within. */
  readonly tailSamplingRatioPercent: number;
  /** Each component's own variables (its `env` schema), parsed, by component name. */
  readonly componentSettings: Readonly<Record<string, unknown>>;
}

export type DatabaseConfig =
  | { readonly kind: 'sqlite'; readonly path: string }
  | {
      readonly kind: 'postgresql';
      /** The connection URL without its password (safe to show and log). */
      readonly url: string;
      /** The password from DATABASE_URL (development and test only); never shown or logged. */
      readonly urlPassword: string | undefined;
      readonly passwordFile: string | undefined;
      readonly poolMax: number;
      readonly connectTimeoutMs: number;
      readonly statementTimeoutMs: number;
    };

// libpq also takes the password as a query parameter (`?password=`): both places count.
const withoutPassword = (url: string): string => {
  const u = new URL(url);
  u.password = '';
  u.searchParams.delete('password');
  return u.toString();
};

// The password file is read when a connection opens (so a rotated secret is picked up); here only
// its presence is checked, so a wrong path stops the start instead of every later connection.
const readable = (path: string): boolean => {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
};

const urlPassword = (url: string): string | undefined => {
  try {
    const u = new URL(url);
    const p = u.password === '' ? (u.searchParams.get('password') ?? '') : decodeURIComponent(u.password);
    return p === '' ? undefined : p;
  } catch {
    return undefined;
  }
};

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const MIN_ADMIN_TOKEN_LENGTH = 32;

// Production must not start with settings that are only acceptable on a laptop.
function productionProblems(e: z.infer<typeof envSchema>): string[] {
  const problems: string[] = [];
  if (e.CORS_ORIGINS.includes('*')) problems.push('CORS_ORIGINS: "*" is not allowed in production');
  if (e.ADMIN_TOKEN === undefined) problems.push('ADMIN_TOKEN: required in production');
  else if (e.ADMIN_TOKEN.length < MIN_ADMIN_TOKEN_LENGTH)
    problems.push(`ADMIN_TOKEN: must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters in production`);
  if (e.API_TOKENS.length === 0) problems.push('API_TOKENS: at least one token is required in production');
  if (e.REDIS_URL === undefined)
    problems.push('REDIS_URL: required in production (rate-limit counters must be shared)');
  // Two stores named at once: refuse rather than guess which one holds the data (docs/contract.md).
  if (e.DATABASE_URL !== undefined && e.DATABASE_PATH !== undefined)
    problems.push(
      'DATABASE_PATH: set DATABASE_URL (PostgreSQL) or DATABASE_PATH (SQLite), not both, in production',
    );
  if (e.DATABASE_URL !== undefined && urlPassword(e.DATABASE_URL) !== undefined)
    problems.push(
      'DATABASE_URL: must not carry a password in production; put it in a file named by DATABASE_PASSWORD_FILE',
    );
  return problems;
}

/**
 * The environment with empty (or blank) values removed. `.env.example` lists every variable, most
 * of them empty, and `--env-file`, compose `env_file` and dotenv all set an empty line as "": an
 * empty value means "not set" for every variable, decided here once rather than per schema entry.
 */
export function withoutEmptyValues(source: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(source))
    if (value !== undefined && value.trim() !== '') env[name] = value;
  return env;
}

/**
 * The components' own variables, validated with the service's (one refusal lists every bad key).
 * `components` is service/src/components.ts unless a test passes the list it runs.
 */
function componentSettings(
  source: NodeJS.ProcessEnv,
  components: readonly Component[],
): { settings: Record<string, unknown>; problems: string[] } {
  const settings: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const c of components) {
    if (!c.env) continue;
    const parsed = c.env.safeParse(source);
    if (parsed.success) settings[c.name] = parsed.data;
    else problems.push(...parsed.error.issues.map((i) => `${i.path.join('.') || c.name}: ${i.message}`));
  }
  return { settings, problems };
}

export function loadConfig(
  raw: NodeJS.ProcessEnv = process.env,
  components: readonly Component[] = COMPONENTS,
): Config {
  const source = withoutEmptyValues(raw);
  const parsed = envSchema.safeParse(source);
  const own = componentSettings(source, components);
  if (!parsed.success || own.problems.length > 0) {
    throw new ConfigError([
      ...(parsed.error?.issues ?? []).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      ...own.problems,
    ]);
  }
  const e = parsed.data;
  const problems = e.NODE_ENV === 'production' ? productionProblems(e) : [];
  if (e.CORS_ORIGINS.some((o) => o !== '*' && !URL.canParse(o)))
    problems.push('CORS_ORIGINS: every entry must be an exact origin such as https://app.example.com');
  // Node refuses a headers timeout above the request timeout; say so in config terms instead.
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS)
    problems.push('HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS');
  if (e.DATABASE_PASSWORD_FILE !== undefined && e.DATABASE_URL === undefined)
    problems.push('DATABASE_PASSWORD_FILE: only used with DATABASE_URL, which is not set');
  if (e.DATABASE_PASSWORD_FILE !== undefined && e.DATABASE_URL !== undefined && urlPassword(e.DATABASE_URL))
    problems.push('DATABASE_PASSWORD_FILE: DATABASE_URL carries a password too; keep one of them');
  if (e.DATABASE_PASSWORD_FILE !== undefined && !readable(e.DATABASE_PASSWORD_FILE))
    problems.push('DATABASE_PASSWORD_FILE: the file cannot be read');
  if (problems.length > 0) throw new ConfigError(problems);

  const isProduction = e.NODE_ENV === 'production';
  return Object.freeze({
    env: e.NODE_ENV,
    isProduction,
    serviceName: source.OTEL_SERVICE_NAME?.trim() || 'items-api',
    serviceVersion: e.SERVICE_VERSION ?? PACKAGE_VERSION,
    revision: e.BUILD_REVISION,
    host: e.HOST ?? (isProduction ? '0.0.0.0' : '127.0.0.1'),
    port: e.PORT,
    metrics: { host: e.METRICS_HOST ?? (isProduction ? '0.0.0.0' : '127.0.0.1'), port: e.METRICS_PORT },
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'warn' : 'info'),
    databasePath: e.DATABASE_PATH ?? (e.NODE_ENV === 'test' ? ':memory:' : './data/items.db'),
    // Outside production DATABASE_URL wins over DATABASE_PATH; production refuses both (above).
    database:
      e.DATABASE_URL === undefined
        ? {
            kind: 'sqlite' as const,
            path: e.DATABASE_PATH ?? (e.NODE_ENV === 'test' ? ':memory:' : './data/items.db'),
          }
        : Object.freeze(
            // Not enumerable: a config logged or serialised whole never carries the password.
            Object.defineProperty(
              {
                kind: 'postgresql' as const,
                url: withoutPassword(e.DATABASE_URL.trim()),
                passwordFile: e.DATABASE_PASSWORD_FILE,
                poolMax: e.DATABASE_POOL_MAX,
                connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
                statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
              },
              'urlPassword',
              { value: urlPassword(e.DATABASE_URL.trim()), enumerable: false },
            ) as DatabaseConfig,
          ),
    auth: { apiTokens: e.API_TOKENS, adminToken: e.ADMIN_TOKEN },
    redisUrl: e.REDIS_URL,
    corsOrigins: e.CORS_ORIGINS,
    trustProxy: e.TRUST_PROXY,
    sentryDsn: e.SENTRY_DSN,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    rateLimits: {
      general: {
        points: e.RATE_LIMIT_GENERAL_POINTS,
        durationSeconds: e.RATE_LIMIT_GENERAL_DURATION_SECONDS,
      },
      api: { points: e.RATE_LIMIT_API_POINTS, durationSeconds: e.RATE_LIMIT_API_DURATION_SECONDS },
      admin: { points: e.RATE_LIMIT_ADMIN_POINTS, durationSeconds: e.RATE_LIMIT_ADMIN_DURATION_SECONDS },
      redisTimeoutMs: e.RATE_LIMIT_REDIS_TIMEOUT_MS,
    },
    shutdown: {
      delayMs: e.SHUTDOWN_DELAY_MS ?? (isProduction ? SHUTDOWN_DEFAULTS.productionDelayMs : 0),
      timeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    },
    http: {
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxHeaderBytes: e.HTTP_MAX_HEADER_BYTES,
    },
    debugRoutes: !isProduction,
    tailSamplingRatioPercent: e.TAIL_SAMPLING_RATIO_PERCENT,
    componentSettings: Object.freeze(own.settings),
  });
}
