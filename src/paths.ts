/** Where things are, independent of the caller's working directory. */
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
export const ENVOY_CONFIGS_DIR = `${REPO_ROOT}/envoy-configs`;
export const SCENARIOS_DIR = `${REPO_ROOT}/scenarios`;
export const LAB_DIR = `${REPO_ROOT}/lab`;
export const AGENT_ENTRY = `${REPO_ROOT}/src/agent/agent.ts`;
/** Artifacts of every run: .lab-runs/<time>-<scenario>/<phase>/ */
export const RUNS_DIR = process.env.LAB_RUNS_DIR ?? `${REPO_ROOT}/.lab-runs`;
