// Where the stack's files live, so tests resolve them the same way whatever the working directory.
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const PROMETHEUS_DIR = join(ROOT, 'prometheus');
export const GRAFANA_DIR = join(ROOT, 'grafana');
export const DASHBOARDS_DIR = join(GRAFANA_DIR, 'dashboards');
export const OBSERVABILITY_DIR = join(ROOT, 'observability');
export const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
