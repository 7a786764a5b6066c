// What was changed in the template to make its request path cheap, and why: rendered into BENCHMARKS.md.
// Numbers never appear here: the measured effect of each change is in the tables the run writes.

export interface Tuning {
  readonly change: string;
  readonly where: string;
  readonly why: string;
}

export const TUNING: readonly Tuning[] = [];

export interface Unconfigurable {
  readonly what: string;
  readonly evidence: string;
  readonly fix: string;
}

export const UNCONFIGURABLE: readonly Unconfigurable[] = [];
