// What a business component declares to the rest of the service, and the kit it is built with. A
// component is one folder whose component.ts calls defineComponent; service/src/components.ts lists
// them, and the composition root, the app, the OpenAPI document and the tests read that list only.
import type { DatabaseSync } from 'node:sqlite';
import type { RequestHandler, Router } from 'express';
import type { z } from 'zod';
import type { OwnProblemType } from '../errors/problem-types.ts';
import type { RequireRole } from '../http/auth.ts';
import type { Parse } from '../http/validation.ts';
import type { Instrument } from '../observability/db-telemetry.ts';
import type { Logger } from '../observability/logger.ts';
import type { JsonSchema, OpenApiPaths } from '../openapi/builder.ts';
import type { Migration } from '../storage/migrations.ts';
import type { Postgres } from '../storage/postgres/postgres.ts';

export { HttpProblem, problems } from '../errors/errors.ts';
export { type OwnProblemType, problemType } from '../errors/problem-types.ts';
export { intParam, pageQuerySchema, text } from '../http/validation.ts';
// The kit: everything a component needs from the platform, from this one module.
export type { Instrument } from '../observability/db-telemetry.ts';
export {
  body,
  json,
  type OpenApiPaths,
  operation,
  pathParameter,
  queryParameters,
  schemaOf,
} from '../openapi/builder.ts';
export type { Migration } from '../storage/migrations.ts';
export { databaseProblem } from '../storage/postgres/failures.ts';
export type { Postgres } from '../storage/postgres/postgres.ts';

/** The open database a component's repositories run on: one backend per process. */
export type Store =
  | { readonly backend: 'sqlite'; readonly db: DatabaseSync; readonly instrument: Instrument }
  | { readonly backend: 'postgresql'; readonly pg: Postgres; readonly pingTimeoutMs: number };

/** What routes get from the app: the token check, the validating parser, the JSON body parser. */
export interface HttpKit {
  readonly requireRole: RequireRole;
  readonly parse: Parse;
  readonly jsonBody: readonly RequestHandler[];
  readonly logger: Logger;
}

/** A component as written in its folder; `R` is its repository contract, `S` its settings. */
export interface ComponentDefinition<R, S extends z.ZodType = z.ZodType<undefined>> {
  /** Lowercase; every migration name starts with `<name>/`. */
  readonly name: string;
  /** Its folder (`import.meta.dirname`): the problem-type check reads the sources there. */
  readonly dir: string;
  /** Where its router is mounted, e.g. `/api/v1/items` (under /api/v1: the api rate-limit tier). */
  readonly path: string;
  /** Append only, per backend; each name unique across the service (storage/migrations.ts). */
  readonly migrations: { readonly sqlite: readonly Migration[]; readonly postgresql: readonly Migration[] };
  readonly repository: {
    readonly sqlite: (store: Extract<Store, { backend: 'sqlite' }>) => R;
    readonly postgresql: (store: Extract<Store, { backend: 'postgresql' }>) => R;
  };
  /**
   * Its own environment variables, e.g. `z.object({ ORDERS_STOCK_URL: z.url() })`: validated at start
   * with the service's (config.ts), handed to `routes` parsed. Prefix them with the component's name.
   */
  readonly env?: S;
  /** Its router: routes call its use cases, built here on the repository. */
  routes(repository: R, kit: HttpKit, settings: z.output<S>): Router;
  readonly openapi: {
    readonly paths: () => OpenApiPaths;
    /** Added to components.schemas (names must not collide with another component's). */
    readonly schemas?: Readonly<Record<string, JsonSchema>>;
  };
  /** Problem types it sends beyond the platform's (errors/problem-types.ts). */
  readonly problems?: readonly OwnProblemType[];
}

/** A component as the service sees it: its repository type is its own business. */
export interface Component extends Omit<ComponentDefinition<unknown>, 'repository' | 'routes' | 'env'> {
  readonly env?: z.ZodType;
  /** Builds its repositories on the open store; the app mounts the router `routes` returns. */
  open(store: Store, settings: unknown): { readonly routes: (kit: HttpKit) => Router };
}

export function defineComponent<R, S extends z.ZodType = z.ZodType<undefined>>(
  definition: ComponentDefinition<R, S>,
): Component {
  const { repository, routes, ...declared } = definition;
  return {
    ...declared,
    open(store, settings) {
      const repo = store.backend === 'sqlite' ? repository.sqlite(store) : repository.postgresql(store);
      // config.ts parsed them with this component's own schema.
      return { routes: (kit) => routes(repo, kit, settings as z.output<S>) };
    },
  };
}
