/**
 * Where a scenario keeps its Envoy variants and Istio YAML. A built-in scenario's are in
 * envoy-configs/<id>/; a scenario from the user's own repo keeps them beside its file
 * (./incidents/payments-503.ts → ./incidents/payments-503/), registered when that file loads.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ENVOY_CONFIGS_DIR } from '../paths.js';

const outside = new Map<string, string>();

/** A scenario loaded from outside the lab: its variants live in `dir`. */
export function registerConfigsDir(id: string, dir: string): void {
  outside.set(id, dir);
}

export function configsDir(id: string): string {
  return outside.get(id) ?? join(ENVOY_CONFIGS_DIR, id);
}

/**
 * A variant's `base:` may name one of the lab's own configs as `envoy-fault-lab:<path>`
 * (e.g. `envoy-fault-lab:sticky-503/broken.yaml`), so a user's incident builds on the lab's
 * sidecar shapes; any other value is relative to the variant's own file.
 */
export const LAB_CONFIG_PREFIX = 'envoy-fault-lab:';

export function resolveBase(variantFile: string, base: string): string {
  if (base.startsWith(LAB_CONFIG_PREFIX)) return join(ENVOY_CONFIGS_DIR, base.slice(LAB_CONFIG_PREFIX.length));
  const beside = join(variantFile, '..', base);
  // A catalogue variant copied into a team's repository keeps its base in the lab's shared
  // folders (../common/sidecar-outbound.yaml): where the team has no such file, the lab's is meant.
  const shared = /^\.\.\/([\w.-]+\/[\w./-]+)$/.exec(base);
  if (!existsSync(beside) && shared && existsSync(join(ENVOY_CONFIGS_DIR, shared[1]!))) return join(ENVOY_CONFIGS_DIR, shared[1]!);
  return beside;
}
