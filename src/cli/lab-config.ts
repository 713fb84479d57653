/**
 * `npm run lab -- <command>`: what the lab shows of configs and runs: the response-flag table, the
 * scenarios' generated docs (README's table, docs/scenarios/), a run's sidecar as istioctl
 * proxy-config shows it, a user's config_dump imported as a variant, a run's report.html rewritten.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureEnvoy } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { UsageError } from '../errors.js';
import { REPO_ROOT, RESPONSE_FLAGS_DOC_PATH, RUNS_DIR } from '../paths.js';
import { PROXY_CONFIG_VIEWS, proxyConfigText, type ProxyConfigView } from '../envoy/proxy-config.js';
import { writeRunReport } from '../report/html/run-report.js';
import { flagTable, writeFlagTable } from '../report/flag-table.js';
import { staleScenarioDocs, writeScenarioDocs } from '../report/scenario-docs.js';
import type { RunSummary } from '../report/run-files.js';
import { importVariant } from '../scenario/import-variant.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import { labIo } from './lab-io.js';

const { say, progress } = labIo;

export function addConfigCommands(program: Command): void {
  program
    .command('flags')
    .description("Envoy's response flags and the scenarios that reproduce each, from the scenarios' responseFlags (docs/response-flags.md)")
    .option('--write', "rewrite docs/response-flags.md's table")
    .action(async (o: { write?: boolean }) => {
      const scenarios = await Promise.all(scenarioIds().map(loadScenario));
      if (!o.write) {
        say(flagTable(scenarios));
        return;
      }
      say((await writeFlagTable(RESPONSE_FLAGS_DOC_PATH, scenarios)) ? 'docs/response-flags.md: table rewritten' : 'docs/response-flags.md: table already up to date');
    });
  program
    .command('docs')
    .description("the scenarios' docs generated from their files: README's scenario table and docs/scenarios/<id>.md (exit 1 when one is stale)")
    .option('--write', 'rewrite the stale ones, delete the pages of scenarios that no longer exist')
    .action(async (o: { write?: boolean }) => {
      const stale = await staleScenarioDocs(await Promise.all(scenarioIds().map(loadScenario)));
      if (!stale.length) return say('README.md and docs/scenarios/ are up to date');
      if (o.write) await writeScenarioDocs(stale);
      for (const f of stale) {
        const what = f.text === undefined ? (o.write ? 'deleted' : 'stale (no such scenario any more)') : o.write ? 'rewrote' : 'stale';
        say(`${what}: ${relative(REPO_ROOT, f.path)}`);
      }
      if (!o.write) {
        say('fix: npm run lab -- docs --write');
        labIo.exitCode = 1;
      }
    });
  program
    .command('proxy-config [view]')
    .description(`the sidecar of a run's phase as \`istioctl proxy-config\` shows it (${PROXY_CONFIG_VIEWS.join(' | ')}), from its config_dump.json`)
    .option('--dir <phase-dir>', "a phase's artifacts directory (default: the newest phase run under .lab-runs)")
    .action(async (view = 'all', o: { dir?: string }) => {
      if (!PROXY_CONFIG_VIEWS.includes(view as ProxyConfigView)) throw new UsageError(`no view "${view}"`, { fix: `one of: ${PROXY_CONFIG_VIEWS.join(', ')}` });
      const file = o.dir ? join(o.dir, 'config_dump.json') : await newestConfigDump();
      const text = await readFile(file, 'utf8').catch(() => {
        throw new UsageError(`no config_dump.json at ${file}`, { fix: "give --dir a phase's artifacts directory, e.g. .lab-runs/<time>-sticky-503/before" });
      });
      say(`# ${file}`);
      say(proxyConfigText(JSON.parse(text), view as ProxyConfigView));
    });

  /** The config_dump.json of the most recently finished phase run. */
  async function newestConfigDump(): Promise<string> {
    const dumps: Array<{ file: string; at: number }> = [];
    for (const run of await readdir(RUNS_DIR).catch(() => [] as string[])) {
      for (const phase of await readdir(join(RUNS_DIR, run)).catch(() => [] as string[])) {
        const file = join(RUNS_DIR, run, phase, 'config_dump.json');
        const at = await stat(file).then((s) => s.mtimeMs, () => 0);
        if (at) dumps.push({ file, at });
      }
    }
    const newest = dumps.sort((a, b) => b.at - a.at)[0];
    if (!newest) throw new UsageError('no phase run has left a config_dump.json yet', { fix: 'run a scenario first: npm run scenario -- sticky-503' });
    return newest.file;
  }
  program
    .command('import-config <config_dump.json>')
    .description("turn a sidecar's /config_dump (istioctl proxy-config all -o json, or a lab phase's config_dump.json) into a config variant a scenario can run with --config")
    .requiredOption('--scenario <id>', 'the scenario whose world (hosts, DNS, faults) the config will run in')
    .option('--name <name>', 'the variant becomes envoy-configs/<scenario>/imported-<name>.yaml', 'config')
    .option('--map <file>', "YAML map of your world's addresses to the scenario's lab hosts (default for a lab phase's dump: its evidence.json)")
    .option('--envoy <version>', 'the Envoy that validates it', DEFAULT_ENVOY_VERSION)
    .addHelpText('after', '\nExample (round trip):\n  npm run lab -- import-config .lab-runs/<time>-sticky-503/before/config_dump.json --scenario sticky-503 --name before\n  npm run scenario -- sticky-503 --phase before --config imported-before\n')
    .action(async (dumpFile: string, o: { scenario: string; name: string; map?: string; envoy: string }) => {
      if (!scenarioIds().includes(o.scenario)) throw new UsageError(`no scenario ${o.scenario}`, { fix: `choose from: ${scenarioIds().join(', ')}` });
      if (!/^[a-z0-9-]+$/.test(o.name)) throw new UsageError(`--name "${o.name}": use lower-case letters, digits and dashes`, { fix: 'e.g. --name prod-pod' });
      const envoy = await ensureEnvoy(o.envoy, progress);
      const r = await importVariant({ scenario: await loadScenario(o.scenario), dumpFile: resolve(dumpFile), name: o.name, mapFile: o.map, envoy });
      say(`wrote ${r.file} (validated by Envoy ${envoy.version})`);
      say(`addresses mapped from: ${r.mappedFrom}`);
      for (const c of r.changes) say(`  - ${c}`);
      say(`run it: npm run scenario -- ${o.scenario} --config imported-${o.name} [--phase …]`);
    });
  program
    .command('report [run-dir]')
    .description("(re)write a run's report.html from its result.json (default: the newest scenario run)")
    .action(async (dir?: string) => {
      const runDir = dir ? resolve(dir) : await newestRun();
      const summary = await readFile(join(runDir, 'result.json'), 'utf8').then((t) => JSON.parse(t) as RunSummary, () => {
        throw new UsageError(`no result.json in ${runDir}`, { fix: 'give the directory of a scenario run, e.g. .lab-runs/<time>-sticky-503 (a matrix run writes matrix.html itself)' });
      });
      const file = await writeRunReport(runDir, { scenario: await loadScenario(summary.scenario), results: summary.results, repeat: summary.repeat, backend: summary.backend, envoy: summary.envoy });
      say(pathToFileURL(file).href);
    });

  /** The most recent scenario run (one with a result.json). */
  async function newestRun(): Promise<string> {
    const runs = await readdir(RUNS_DIR).catch(() => [] as string[]);
    const withResult = runs.filter((r) => existsSync(join(RUNS_DIR, r, 'result.json'))).sort();
    if (!withResult.length) throw new UsageError('no scenario run has finished yet', { fix: 'run a scenario first: npm run scenario -- sticky-503' });
    return join(RUNS_DIR, withResult.at(-1)!);
  }
}
