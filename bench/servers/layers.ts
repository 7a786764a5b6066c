// Benchmark-only: which router layers of the template's app make up each optional layer, so the
// benchmark can measure one layer at a time. Production never loads this file.
import type { Express } from 'express';

/**
 * App-level layers by name, each matched by the names of the middleware functions that make it up
 * (the names the template's modules give them). Process-level layers (the OTel SDK, Sentry) are
 * switched by the orchestrator with the service's own variables instead.
 */
export const APP_LAYERS: Readonly<Record<string, readonly string[]>> = {};

interface RouterLayer {
  readonly name: string;
}

/** Removes every known app-level layer not in `keep`; throws when a layer's middleware is not found. */
export function keepOnlyLayers(app: Express, keep: readonly string[]): void {
  const stack = (app.router as unknown as { stack: RouterLayer[] }).stack;
  for (const [layer, names] of Object.entries(APP_LAYERS)) {
    if (keep.includes(layer)) continue;
    for (const name of names) {
      const i = stack.findIndex((l) => l.name === name);
      if (i < 0) throw new Error(`bench: layer ${layer}: middleware ${name} not found in the template app`);
      stack.splice(i, 1);
    }
  }
}
