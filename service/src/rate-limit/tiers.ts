// The rate-limit tiers: general (every route but liveness/readiness), api (/api/v1/*), admin.
import type { Config } from '../config.ts';

export const TIER_NAMES = ['general', 'api', 'admin'] as const;
export type TierName = (typeof TIER_NAMES)[number];
export type Backend = 'redis' | 'memory' | 'unavailable';

export interface TierSpec {
  readonly name: TierName;
  readonly points: number;
  readonly durationSeconds: number;
  /** Distinct per tier so one request counts once in each tier, never twice in one. */
  readonly keyPrefix: string;
  /** Admin fails closed: an unlimited admin surface is worse than a short 503. */
  readonly failClosed: boolean;
  /** Precomputed `RateLimit-Policy` item (draft-ietf-httpapi-ratelimit-headers). */
  readonly policyItem: string;
  /** `"name"` as a Structured Fields string, the prefix of this tier's `RateLimit` item. */
  readonly quotedName: string;
}

export function tierSpecs(limits: Config['rateLimits']): Readonly<Record<TierName, TierSpec>> {
  const spec = (name: TierName, failClosed: boolean): TierSpec => {
    const { points, durationSeconds } = limits[name];
    return {
      name,
      points,
      durationSeconds,
      keyPrefix: `rl:${name}`,
      failClosed,
      policyItem: `"${name}";q=${points};w=${durationSeconds}`,
      quotedName: `"${name}"`,
    };
  };
  return { general: spec('general', false), api: spec('api', false), admin: spec('admin', true) };
}
