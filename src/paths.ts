/**
 * Every place the lab reads or writes, in one module, independent of the caller's working
 * directory. Three roots:
 * - the repository (scenarios, envoy-configs, lab/ recipes);
 * - RUN_ROOT, one directory per live lab (configs, sockets, logs). Outside the repository because
 *   Envoy (uid 1337) must reach it and because unix-socket paths must stay short;
 * - CACHE_ROOT, Envoy binaries, certificates and validation results, kept across runs. Under
 *   /var/cache, not root's 0700 home: uid 1337 must be able to read the binaries.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
export const ENVOY_CONFIGS_DIR = `${REPO_ROOT}/envoy-configs`;
export const SCENARIOS_DIR = `${REPO_ROOT}/scenarios`;
export const README_PATH = `${REPO_ROOT}/README.md`;
export const LAB_DIR = `${REPO_ROOT}/lab`;
export const AGENT_ENTRY = `${REPO_ROOT}/src/agent-main.ts`;
/** Artifacts of every run: .lab-runs/<time>-<scenario>/<phase>/ */
export const RUNS_DIR = process.env.LAB_RUNS_DIR ?? `${REPO_ROOT}/.lab-runs`;

export const RUN_ROOT = process.env.LAB_RUN_DIR ?? '/run/envoy-fault-lab';
/** One directory per lab, holding its owner's pid (see backends/lab-registry.ts). */
export const LABS_DIR = join(RUN_ROOT, 'labs');
/** The agents' esbuild bundles, by content hash. */
export const AGENTS_DIR = join(RUN_ROOT, 'agents');

export const CACHE_ROOT = process.env.LAB_CACHE_DIR ?? '/var/cache/envoy-fault-lab';
export const ENVOY_CACHE_DIR = join(CACHE_ROOT, 'envoy');
export const VALIDATED_DIR = join(CACHE_ROOT, 'validated');
