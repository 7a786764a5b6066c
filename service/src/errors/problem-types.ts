// The problem types the service sends (RFC 9457), in one catalogue: the error factories, the OpenAPI
// document and docs/contract.md's "Errors" table (written by `npm run openapi`) all read it.
import { STATUS_CODES } from 'node:http';

/** The `type` member of a problem: `/problems/<slug>`, or about:blank when the status says it all. */
export type ProblemTypeUri = 'about:blank' | `/problems/${string}`;

export interface ProblemTypeSpec {
  /** The statuses it is sent with, as the OpenAPI document lists them. */
  readonly statuses: readonly number[];
  /** One line, for the OpenAPI document's Problem schema. */
  readonly when: string;
}

/** A platform problem type: what it says, and its row in docs/contract.md. */
interface PlatformProblemType extends ProblemTypeSpec {
  /** The `title` member it is sent with; absent, the reason phrase of its status. */
  readonly title?: string;
  /** The table's status column when not `statuses`, its `when` in full, and the extra members. */
  readonly contract?: { readonly status?: string; readonly when?: string; readonly extra?: string };
}

const ERRORS_MEMBER = '`errors: [{ field, message }]`';
const RETRY_AFTER_5 = 'header `Retry-After: 5`';

// In the order of the OpenAPI Problem schema's `type` enum and of the contract's table.
export const PROBLEM_TYPES = {
  'about:blank': {
    statuses: [404, 409, 500],
    when: 'the status says it all (not found, conflict, internal error)',
    contract: { status: '404, 500, …', when: 'the status says it all' },
  },
  'validation-error': {
    title: 'Invalid request',
    statuses: [400],
    when: 'body, query or path failed validation',
    contract: { extra: ERRORS_MEMBER },
  },
  'malformed-body': {
    title: 'Malformed request body',
    statuses: [400],
    when: 'the body is not valid JSON or ended early',
    contract: {
      when: 'body is not valid JSON, not what its `Content-Encoding` says (corrupt or truncated gzip/deflate/br/zstd), or shorter than its `Content-Length`',
    },
  },
  'invalid-text': {
    title: 'Invalid text',
    statuses: [400],
    when: 'text is not well-formed Unicode or has control characters',
    contract: {
      when: 'a string breaks the text rule (below), or a JSON body is not valid UTF-8',
      extra: `${ERRORS_MEMBER} when fields are named`,
    },
  },
  'bad-path-encoding': {
    title: 'Bad path encoding',
    statuses: [400],
    when: 'the path has a malformed percent-escape',
    contract: {
      when: 'the path has a malformed percent-escape (`%`, `%G1`, `%E0%A4%A`, an encoded surrogate)',
    },
  },
  'malformed-request': {
    title: 'Malformed request',
    statuses: [400, 413],
    when: 'not valid HTTP/1.1 (e.g. no Host), or chunk extensions too large',
    contract: {
      when: "Node's HTTP parser refused the request (bad bytes in the request line or a header, unknown method, `Content-Length` with `Transfer-Encoding`), HTTP/1.1 without `Host`, or a target no URL parser reads (`//a@[/x#`); 413: chunk extensions too large",
    },
  },
  'headers-too-large': {
    title: 'Request Header Fields Too Large',
    statuses: [431],
    when: 'the request head exceeds HTTP_MAX_HEADER_BYTES',
    contract: { when: 'request head over `HTTP_MAX_HEADER_BYTES`' },
  },
  'request-timeout': {
    title: 'Request Timeout',
    statuses: [408],
    when: 'the request was not received within the HTTP timeouts',
    contract: {
      when: 'head not received within `HTTP_HEADERS_TIMEOUT_MS`, or the request within `HTTP_REQUEST_TIMEOUT_MS`',
    },
  },
  'client-error': {
    statuses: [400],
    when: 'another client error a library raised',
    contract: { status: '4xx', when: "any other client error a library raised, with the library's status" },
  },
  'method-not-allowed': {
    title: 'Method Not Allowed',
    statuses: [405],
    when: 'a CONNECT request (this is no proxy)',
    contract: { when: '`CONNECT` (no tunnels)' },
  },
  unauthorized: { title: 'Unauthorized', statuses: [401], when: 'missing or invalid bearer token' },
  forbidden: { title: 'Forbidden', statuses: [403], when: 'valid token, not allowed here' },
  'body-too-large': {
    title: 'Payload Too Large',
    statuses: [413],
    when: 'body over BODY_LIMIT_BYTES',
    contract: { when: 'body over `BODY_LIMIT_BYTES`' },
  },
  'unsupported-media-type': {
    title: 'Unsupported Media Type',
    statuses: [415],
    when: 'write body is not application/json in UTF-8',
    contract: { when: 'write body is not `application/json`, or declares a charset other than UTF-8' },
  },
  'unsupported-encoding': {
    title: 'Unsupported Content-Encoding',
    statuses: [415],
    when: 'a Content-Encoding other than identity, gzip, deflate, br, zstd',
    contract: {
      when: '`Content-Encoding` other than `identity`, `gzip`, `deflate`, `br`, `zstd` (also stacked ones such as `gzip, br`)',
    },
  },
  'expectation-failed': {
    title: 'Expectation Failed',
    statuses: [417],
    when: 'an Expect header other than 100-continue',
    contract: { when: 'an `Expect` other than `100-continue`' },
  },
  'rate-limited': {
    title: 'Too Many Requests',
    statuses: [429],
    when: 'a rate-limit tier is exhausted',
    contract: { extra: 'header `Retry-After` (seconds)' },
  },
  'rate-limiter-unavailable': {
    title: 'Service Unavailable',
    statuses: [503],
    when: 'admin route while Redis is unreachable',
    contract: { extra: RETRY_AFTER_5 },
  },
  'dependency-unavailable': {
    title: 'Dependency unavailable',
    statuses: [503],
    when: 'the database is unavailable or too slow',
    contract: {
      when: 'PostgreSQL unreachable, a connection not free within `DATABASE_CONNECT_TIMEOUT_MS`, a query over `DATABASE_STATEMENT_TIMEOUT_MS`, or the schema not migrated yet',
      extra: RETRY_AFTER_5,
    },
  },
} as const satisfies Record<string, PlatformProblemType>;

/** A platform problem type by its short name (`validation-error`), about:blank included. */
export type ProblemSlug = keyof typeof PROBLEM_TYPES;

const catalogue: Readonly<Record<string, PlatformProblemType>> = PROBLEM_TYPES;

export const problemTypeUri = (slug: ProblemSlug): ProblemTypeUri =>
  slug === 'about:blank' ? slug : `/problems/${slug}`;

/** The title a problem of the short name `slug` (a component's too) is sent with, at `status`. */
export const problemTitle = (slug: string | undefined, status: number): string =>
  (slug !== undefined && Object.hasOwn(catalogue, slug) ? catalogue[slug]?.title : undefined) ??
  STATUS_CODES[status] ??
  'Error';

/** Every platform problem type with what docs/contract.md says of it. */
export const platformProblemTypes = (): readonly (PlatformProblemType & { readonly slug: ProblemSlug })[] =>
  Object.entries(catalogue).map(([slug, spec]) => ({ ...spec, slug: slug as ProblemSlug }));

/** A problem type a component declares (its `problems`): in the OpenAPI document with the platform's. */
export interface OwnProblemType extends ProblemTypeSpec {
  readonly type: `/problems/${string}`;
}

/** Declares a component's own problem type: `new HttpProblem(status, { type: name })` sends it. */
export const problemType = (name: string, spec: ProblemTypeSpec): OwnProblemType => ({
  type: `/problems/${name}`,
  ...spec,
});
