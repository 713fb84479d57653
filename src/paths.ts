/**
 * Every place the lab reads or writes, in one module, independent of the caller's working
 * directory. Three roots:
 * - the repository (scenarios, envoy-configs, lab/ recipes);
 * - RUN_ROOT, one directory per live lab (configs, sockets, logs). Outside the repository because
 *   Envoy (uid 1337) must reach it and because unix-socket paths must stay short;
 * - CACHE_ROOT, Envoy binaries, certificates and validation results, kept across runs. Under
 *   /var/cache, not root's 0700 home: uid 1337 must be able to read the binaries.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** This module's own folder: src/ in the repository, dist/src/ in the installed package. */
const CODE_DIR = dirname(fileURLToPath(import.meta.url));
/** The code is TypeScript run by tsx (this repository) or compiled JavaScript (the package's dist/). */
const CODE_EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** The package root (the folder with package.json): src/.. here, dist/src/../.. when installed. */
export const REPO_ROOT = [join(CODE_DIR, '..'), join(CODE_DIR, '../..')].find((d) => existsSync(join(d, 'package.json'))) ?? join(CODE_DIR, '..');
/** Installed as a dependency of the user's project rather than run from its own checkout. */
export const INSTALLED = REPO_ROOT.split('/').includes('node_modules');
/** Where a user's outputs go: this checkout, or the user's project when installed. */
export const PROJECT_ROOT = INSTALLED ? process.cwd() : REPO_ROOT;
export const ENVOY_CONFIGS_DIR = `${REPO_ROOT}/envoy-configs`;
/** The built-in scenarios, beside the code (scenarios/*.ts here, dist/scenarios/*.js installed). */
export const SCENARIOS_DIR = join(CODE_DIR, '..', 'scenarios');
export const SCENARIO_EXT = CODE_EXT;
export const README_PATH = `${REPO_ROOT}/README.md`;
export const DOCS_DIR = `${REPO_ROOT}/docs`;
/** docs/response-flags.md: Envoy's response flags and the scenarios that show each (src/report/flag-table.ts). */
export const RESPONSE_FLAGS_DOC_PATH = `${DOCS_DIR}/response-flags.md`;
/** docs/scenarios/<id>.md: one generated page per scenario (src/report/scenario-docs.ts). */
export const SCENARIO_DOCS_DIR = `${DOCS_DIR}/scenarios`;
export const LAB_DIR = `${REPO_ROOT}/lab`;
export const AGENT_ENTRY = join(CODE_DIR, `agent-main${CODE_EXT}`);
/** `lab clean` as a command line this machine can run: through tsx from the sources, plain node from dist/. */
export const LAB_CLEAN_COMMAND =
  CODE_EXT === '.ts' ? [process.execPath, join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), join(CODE_DIR, 'cli/lab.ts'), 'clean'] : [process.execPath, join(CODE_DIR, 'cli/lab.js'), 'clean'];
/** Artifacts of every run: .lab-runs/<time>-<scenario>/<phase>/ */
export const RUNS_DIR = process.env.LAB_RUNS_DIR ?? `${PROJECT_ROOT}/.lab-runs`;

export const RUN_ROOT = process.env.LAB_RUN_DIR ?? '/run/envoy-fault-lab';
/** One directory per lab, holding its owner's pid (see backends/lab-registry.ts). */
export const LABS_DIR = join(RUN_ROOT, 'labs');
/** The agents' esbuild bundles, by content hash. */
export const AGENTS_DIR = join(RUN_ROOT, 'agents');

export const CACHE_ROOT = process.env.LAB_CACHE_DIR ?? '/var/cache/envoy-fault-lab';
export const ENVOY_CACHE_DIR = join(CACHE_ROOT, 'envoy');
export const VALIDATED_DIR = join(CACHE_ROOT, 'validated');
/** The lab CA and its sites' certificates (src/upstreams/lab-certs.ts); the version goes up with the list of names. */
export const LAB_CERTS_DIR = join(CACHE_ROOT, 'certs-v3');
