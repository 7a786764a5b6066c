// One row per stack and route of a throughput run: the spread of each measure over the rounds. Its own
// module so that bench/tuning.ts can compute evidence without importing the report that renders it.
import type { Run } from './report.ts';
import { type Spread, spread } from './stats.ts';

export interface Row {
  readonly variant: string;
  readonly route: 'hello' | 'item';
  readonly rps: Spread;
  readonly cpu: Spread;
  /** Context switches of the server's threads per request (NaN in results from before it was measured). */
  readonly switches: Spread;
  readonly p50: Spread;
  readonly p99: Spread;
  readonly non2xx: number;
  readonly errors: number;
}

export function rows(runs: readonly Run[]): Row[] {
  const keys = [...new Set(runs.map((r) => `${r.variant}\u0000${r.route}`))];
  return keys.map((key) => {
    const [variant, route] = key.split('\u0000') as [string, 'hello' | 'item'];
    const rs = runs.filter((r) => r.variant === variant && r.route === route).map((r) => r.result);
    return {
      variant,
      route,
      rps: spread(rs.map((r) => r.rps)),
      cpu: spread(rs.map((r) => r.cpuUsPerRequest ?? Number.NaN)),
      switches: spread(rs.map((r) => r.switchesPerRequest ?? Number.NaN)),
      p50: spread(rs.map((r) => r.latencyUs.p50)),
      p99: spread(rs.map((r) => r.latencyUs.p99)),
      non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
      errors: rs.reduce((a, r) => a + r.errors + r.timeouts, 0),
    };
  });
}
