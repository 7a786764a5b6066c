// Schema validation at the HTTP edge: a failure becomes a 400 problem listing fields, and a security
// event. Also the text rule every accepted string obeys (docs/contract.md, "Text").
import { z } from 'zod';
import { type FieldError, fieldErrors, problems } from '../errors/errors.ts';
import type { SecurityEvents } from '../observability/security-events.ts';

export type Parse = <S extends z.ZodType>(
  schema: S,
  input: unknown,
  where: 'body' | 'query' | 'path',
) => z.output<S>;

// C0 controls and DEL; a multi-line field also allows tab, LF and CR. Written as a regex (not only a
// refinement) so that JSON Schema generated from the zod schemas carries it as `pattern`.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const SINGLE_LINE = /^[^\u0000-\u001F\u007F]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const MULTI_LINE = /^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$/;
// zod reports a failed regex by its string form (`/^…$/`).
const TEXT_PATTERNS = new Set([String(SINGLE_LINE), String(MULTI_LINE)]);
const CONTROL_MESSAGE = 'must not contain control characters';
const WELL_FORMED_MESSAGE = 'must be well-formed Unicode (no lone surrogates)';

/**
 * A string field under the text rule: well-formed Unicode, no C0 control characters (tab and line
 * breaks only when `multiline`). The rule applies to the string as sent, before any trimming.
 */
export function text(opts: { multiline?: boolean } = {}) {
  return z
    .string()
    .refine((s) => s.isWellFormed(), { message: WELL_FORMED_MESSAGE, params: { rule: 'text' } })
    .regex(opts.multiline ? MULTI_LINE : SINGLE_LINE, CONTROL_MESSAGE);
}

/** A whole-number query parameter in min..max, `fallback` when absent (query strings are strings). */
export const intParam = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be ${min} or more`).max(max, `must be ${max} or less`))
    .optional()
    .transform((v) => v ?? fallback);

/** `?limit=1..maxLimit&offset=0..` of a paged list; nothing else is accepted. */
export const pageQuerySchema = (maxLimit: number, defaultLimit: number) =>
  z.strictObject({
    limit: intParam(1, maxLimit, defaultLimit),
    offset: intParam(0, Number.MAX_SAFE_INTEGER, 0),
  });

function isTextIssue(issue: z.core.$ZodIssue): boolean {
  if (issue.code === 'custom') return (issue.params as { rule?: unknown } | undefined)?.rule === 'text';
  return (
    issue.code === 'invalid_format' && issue.format === 'regex' && TEXT_PATTERNS.has(issue.pattern ?? '')
  );
}

// Query strings and path segments have no multi-line fields: any control character is refused.
const hasControl = (s: string) => !SINGLE_LINE.test(s);

/**
 * Every string in a parsed input (keys too, at any depth) that breaks the text rule, whatever the
 * schema says: lone surrogates anywhere; control characters in query and path. Iterative, so a deeply
 * nested body cannot overflow the stack.
 */
export function textErrors(input: unknown, where: 'body' | 'query' | 'path'): FieldError[] {
  const errors: FieldError[] = [];
  const check = (s: string, at: string) => {
    if (!s.isWellFormed()) errors.push({ field: at, message: WELL_FORMED_MESSAGE });
    else if (where !== 'body' && hasControl(s)) errors.push({ field: at, message: CONTROL_MESSAGE });
  };
  const stack: [unknown, string][] = [[input, '']];
  while (stack.length > 0 && errors.length < 20) {
    const [value, at] = stack.pop() as [unknown, string];
    if (typeof value === 'string') check(value, at || `(${where})`);
    else if (value !== null && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) {
        const field = at ? `${at}.${k}` : k;
        check(k, field);
        stack.push([v, field]);
      }
  }
  return errors;
}

export function createParser(securityEvents: SecurityEvents): Parse {
  return (schema, input, where) => {
    const broken = textErrors(input, where);
    if (broken.length > 0) {
      securityEvents.record('invalid_input', {
        reason: 'invalid_text',
        where,
        fields: broken.map((e) => e.field).join(','),
      });
      throw problems.invalidText(broken);
    }
    const result = schema.safeParse(input);
    if (result.success) return result.data;
    const errors = fieldErrors(result.error).map((e) => ({
      ...e,
      field: e.field === '(body)' && where !== 'body' ? `(${where})` : e.field,
    }));
    // A field that breaks the text rule makes the whole answer invalid-text (still listing every field).
    if (result.error.issues.some(isTextIssue)) {
      securityEvents.record('invalid_input', {
        reason: 'invalid_text',
        where,
        fields: errors.map((e) => e.field).join(','),
      });
      throw problems.invalidText(errors);
    }
    securityEvents.record('validation_failed', { where, fields: errors.map((e) => e.field).join(',') });
    throw problems.validation(errors);
  };
}
