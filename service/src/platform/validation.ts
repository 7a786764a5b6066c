// Schema validation at the HTTP edge: a failure becomes a 400 problem listing fields, and a security event.
import type { z } from 'zod';
import { fieldErrors, problems } from './errors.ts';
import type { SecurityEvents } from './security-events.ts';

export type Parse = <S extends z.ZodType>(
  schema: S,
  input: unknown,
  where: 'body' | 'query' | 'path',
) => z.output<S>;

export function createParser(securityEvents: SecurityEvents): Parse {
  return (schema, input, where) => {
    const result = schema.safeParse(input);
    if (result.success) return result.data;
    const errors = fieldErrors(result.error).map((e) => ({
      ...e,
      field: e.field === '(body)' && where !== 'body' ? `(${where})` : e.field,
    }));
    securityEvents.record('validation_failed', { where, fields: errors.map((e) => e.field).join(',') });
    throw problems.validation(errors);
  };
}
