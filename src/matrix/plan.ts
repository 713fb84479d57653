/**
 * A matrix run as data: every (version, scenario, phase, repeat) cell, in one fixed order, and
 * the share of them one CI runner takes with --shard i/n (every n-th phase from the i-th, with its
 * repeats: the shards cover the matrix exactly once, and long scenarios spread across runners).
 */
import { UsageError } from '../errors.js';
import { compareVersions } from '../envoy/version.js';
import type { Phase, Scenario } from '../scenario/scenario.js';

export interface MatrixCell {
  /** The column: an Envoy version, or with --istio the Istio that generates the config. */
  version: string;
  scenario: Scenario;
  phase: Phase;
  iteration: number;
}

export interface Shard {
  index: number; // 1-based
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count) throw new UsageError(`--shard "${text}" is not i/n with 1 ≤ i ≤ n`, { fix: 'e.g. --shard 2/4 (the second of four runners)' });
  return { index, count };
}

export function planMatrix(versions: string[], scenarios: Scenario[], repeat: number, shard: Shard = { index: 1, count: 1 }, order: (a: string, b: string) => number = compareVersions): MatrixCell[] {
  const sorted = [...versions].sort(order);
  // Shards split (version, scenario, phase) groups: a phase's repeats stay on one runner.
  const groups = sorted.flatMap((version) => scenarios.flatMap((scenario) => scenario.phases.map((phase) => ({ version, scenario, phase }))));
  return groups.filter((_, i) => i % shard.count === shard.index - 1).flatMap((g) => Array.from({ length: repeat }, (_, k) => ({ ...g, iteration: k + 1 })));
}
