// Builds (and closes) everything the app depends on, from config alone: the composition root.
import type { DatabaseSync } from 'node:sqlite';
import type { Config } from './config.ts';
import { createItemRepository, itemMigrations } from './items/repository.ts';
import { createItemService, type ItemService } from './items/service.ts';
import { createLogger, type Logger } from './platform/logger.ts';
import { createMetrics, type Metrics } from './platform/metrics.ts';
import { createSecurityEvents, type SecurityEvents } from './platform/security-events.ts';
import { createInstrument, openDatabase } from './platform/sqlite.ts';

export interface Dependencies {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly securityEvents: SecurityEvents;
  readonly db: DatabaseSync;
  readonly items: ItemService;
  /** Readiness probe of the database. */
  readonly pingDatabase: () => void;
  close(): Promise<void>;
}

export interface DependencyOptions {
  /** Where log lines go (stdout by default); tests pass a stream they can read. */
  readonly logDestination?: import('pino').DestinationStream;
}

export async function createDependencies(
  config: Config,
  opts: DependencyOptions = {},
): Promise<Dependencies> {
  const logger = createLogger({
    level: config.logLevel,
    serviceName: config.serviceName,
    environment: config.env,
    ...(opts.logDestination ? { destination: opts.logDestination } : {}),
  });
  const metrics = createMetrics({ version: config.serviceVersion, revision: config.revision });
  const securityEvents = createSecurityEvents({ metrics, logger });
  const db = openDatabase(config.databasePath, itemMigrations);
  const repo = createItemRepository(db, createInstrument(metrics));

  return {
    config,
    logger,
    metrics,
    securityEvents,
    db,
    items: createItemService(repo),
    pingDatabase: () => repo.ping(),
    async close() {
      if (db.isOpen) db.close();
    },
  };
}
