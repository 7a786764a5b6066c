// Pure request filters shared by the preloaded SDK set-up and the app: which paths are probes, which
// query parameters are secrets. No imports, so instrumentation.ts can load it before any app module.

/** Paths that create no span, no access log line: scrapes and liveness probes hit them every few seconds. */
export const UNTRACED_PATHS: ReadonlySet<string> = new Set(['/metrics', '/api/health', '/api/health/live']);

/** `url` is a request target (`/path?query`); true when it names a probe path. */
export function isProbeRequest(url: string | undefined): boolean {
  if (url === undefined) return false;
  const q = url.indexOf('?');
  return UNTRACED_PATHS.has(q === -1 ? url : url.slice(0, q));
}

// Parameter names that carry credentials. Matched case-insensitively on the whole name or its last
// segment (`access_token`, `x-api-key`, `client_secret`, `X-Amz-Signature`...), because clients
// spell them in every style and a list of exact names always misses one.
const SENSITIVE_NAME =
  /(^|[-_.])(token|access[-_]?token|refresh[-_]?token|id[-_]?token|api[-_]?key|apikey|key|secret|client[-_]?secret|password|passwd|pwd|pass|auth|authorization|credential|credentials|session|sessionid|sid|sig|signature|code|jwt|bearer)$/i;

export const REDACTED = 'REDACTED';

export function isSensitiveParam(name: string): boolean {
  return SENSITIVE_NAME.test(name);
}

/** Redacts the values of token-like parameters in a query string (with or without the leading `?`). */
export function redactQuery(query: string): string {
  const raw = query.startsWith('?') ? query.slice(1) : query;
  if (raw === '') return '';
  const params = new URLSearchParams(raw);
  let changed = false;
  for (const name of new Set(params.keys())) {
    if (isSensitiveParam(name)) {
      params.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? params.toString() : raw;
}

/** A request target with its secrets redacted: `/path?token=REDACTED&limit=5`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const query = redactQuery(url.slice(q + 1));
  return query === '' ? url.slice(0, q) : `${url.slice(0, q)}?${query}`;
}
