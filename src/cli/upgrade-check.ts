/**
 * npm run upgrade-check -- --from compat-1.29 --istio-yaml ./istio [--to <istio module>] [--app a --namespace ns]
 *   [--accept accepted.yaml] [--no-traffic] [--backend kind] [--envoy v] [--json]
 * npm run upgrade-check -- --from envoy-1.36.4 [--to envoy-1.40.0] [--scenarios ./incidents | --scenario ids]
 * What an Istio upgrade changes for a team's own Istio YAML: each behaviour change of the "to"
 * Istio, reverted one at a time to the "from" release's behaviour (Istio's own compatibility
 * profile), what it changes in the config istiod generates for the pod, and, where it changes the
 * config, what it does to calls through that config (a lab each side, real Envoy). Exit 1 when a
 * change alters traffic and the team's --accept file does not name it. With Envoy versions, every
 * phase of the scenarios runs on both Envoys, and each phase whose verdict differs is a change.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { agentBundle } from '../agent/agent-bundle.js';
import { resolveBackendKind } from '../backends/create-backend.js';
import { connectDocker } from '../backends/docker/connect.js';
import { ensureImages } from '../backends/docker/images.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { assertInstallable, ensureEnvoy } from '../envoy/install.js';
import { UsageError } from '../errors.js';
import { RUNS_DIR } from '../paths.js';
import { upgradeReportHtml } from '../upgrade/upgrade-report-html.js';
import { envoyUpgradeJunitXml, upgradeJunitXml } from '../upgrade/upgrade-junit.js';
import { acceptedFlags, unacceptedEnvoyChanges, unacceptedTrafficChanges } from '../upgrade/accept.js';
import { envoyChanges } from '../upgrade/envoy-changes.js';
import { MATRIX_REPORT_FILE } from '../matrix/matrix-report.js';
import { envoyChangesText } from '../upgrade/envoy-changes-text.js';
import { configChanges } from '../upgrade/config-changes.js';
import { configChangesText } from '../upgrade/config-changes-text.js';
import { scenarioChanges } from '../upgrade/scenario-changes.js';
import { scenarioChangesText } from '../upgrade/scenario-changes-text.js';
import { configsDir } from '../envoy/configs-dir.js';
import { addScenarioDir, loadScenario, scenarioIds } from '../scenario/registry.js';
import type { Scenario } from '../scenario/scenario.js';
import { cliCommand, main } from './main.js';
import { teardownOnSignals } from './signals.js';

let exitCode = 0;

const program = cliCommand('npm run upgrade-check --', "What an Istio upgrade changes for your Istio YAML, one behaviour change at a time (Istio's own compatibility profiles name them): in the config, and in calls through it")
  .requiredOption('--from <compat|istio|envoy>', 'what you upgrade from: a compatibility profile of the new Istio (compat-1.29, or 1.29), another Istio build (a module version, pinned or latest) rendered itself, or an Envoy release (envoy-1.36.4)')
  .option('--istio-yaml <path>', 'your Istio objects: a file, or a folder of .yaml files (ServiceEntry, DestinationRule, VirtualService, Sidecar, Service, …); without it, the scenarios\' Istio YAML')
  .option('--scenario <ids>', 'without --istio-yaml: these scenarios (comma-separated; default: your own with --scenarios, else every one with Istio YAML)', (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean))
  .option('--scenarios <dir>', "without --istio-yaml: add your own scenario files from this folder (e.g. ./incidents) to the lab's")
  .option('--to <istio|envoy>', `the Istio you upgrade to, as a module version lab/istiod builds (default: the pinned one; npm run lab -- istio versions); after an Envoy --from, the Envoy (default: envoy-${DEFAULT_ENVOY_VERSION})`)
  .option('--app <label>', "the pod whose sidecar is rendered: its app label", 'app')
  .option('--namespace <ns>', 'the pod\'s namespace', 'default')
  .option('--accept <file>', 'the changes your team has reviewed: a YAML list of flags (e.g. - DISABLE_SHADOW_HOST_SUFFIX); a change that alters traffic and is not listed makes the exit 1')
  .option('--no-traffic', 'compare the config only (no lab runs)')
  .option('--envoy <version>', 'the Envoy the traffic runs on', DEFAULT_ENVOY_VERSION)
  .option('--backend <kind>', 'netns | docker | auto (netns when root on Linux, else docker)', process.env.LAB_BACKEND ?? 'auto')
  .option('--json', 'print the result as JSON')
  .addHelpText('after', '\nExit: 0 no unaccepted traffic change, 1 a change alters your traffic and --accept does not name it, 2 bad input, 3 missing prerequisite.\n\nExamples:\n  npm run upgrade-check -- --from compat-1.29 --istio-yaml ./istio --app checkout --namespace shop --accept istio-upgrade-accepted.yaml\n  npm run upgrade-check -- --from compat-1.27 --scenarios ./incidents      # do our incidents and their fixes behave the same?\n  npm run upgrade-check -- --from envoy-1.36.4 --to envoy-1.40.0 --scenarios ./incidents   # the same, through an Envoy upgrade\n')
  .action(async (o: { from: string; istioYaml?: string; scenario?: string[]; scenarios?: string; to?: string; app: string; namespace: string; accept?: string; traffic: boolean; envoy: string; backend: string; json?: boolean }) => {
    const fromEnvoy = envoyRelease(o.from);
    if (fromEnvoy) return void (exitCode = await envoyUpgrade({ ...o, from: fromEnvoy }));
    if (o.to && envoyRelease(o.to)) throw new UsageError(`--to ${o.to} is an Envoy release, --from ${o.from} is not`, { fix: `an Envoy upgrade names Envoy on both sides (--from envoy-1.36.4 --to ${o.to}); an Istio one, Istio on both` });
    if (o.istioYaml && (o.scenario || o.scenarios)) throw new UsageError('--istio-yaml and --scenario/--scenarios choose what is checked', { fix: 'your own Istio YAML (--istio-yaml), or scenarios (--scenario ids, --scenarios ./incidents): one of them per run' });
    const files = o.istioYaml ? await yamlFiles(o.istioYaml) : undefined;
    const scenarios = files ? [] : await scenariosToCheck(o.scenario, o.scenarios);
    const accepted = o.accept ? await acceptedFlags(o.accept) : new Set<string>();
    const progress = (l: string) => process.stderr.write(`${l}\n`);
    const runDir = join(RUNS_DIR, `${new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '')}-upgrade-check`);
    let traffic: Parameters<typeof configChanges>[0]['traffic'];
    if (o.traffic) {
      await assertInstallable(o.envoy);
      const backend = await resolveBackendKind(o.backend, o.envoy);
      teardownOnSignals();
      const envoy = await ensureEnvoy(o.envoy, progress);
      traffic = { envoy, backend, artifactsDir: join(runDir, 'traffic') };
    }
    await mkdir(runDir, { recursive: true });
    if (!files) {
      const r = await scenarioChanges({ scenarios, from: o.from, to: o.to, progress, traffic });
      const unaccepted = unacceptedTrafficChanges(r, accepted);
      await writeFile(join(runDir, 'upgrade-check.json'), JSON.stringify({ ...r, unaccepted }, null, 2));
      process.stdout.write(`${o.json ? JSON.stringify({ ...r, unaccepted }, null, 2) : `${scenarioChangesText(r, { accepted, unaccepted })}\n\nresult: ${join(runDir, 'upgrade-check.json')}${traffic ? `; each phase's evidence under ${traffic.artifactsDir}` : ''}`}\n`);
      exitCode = unaccepted.length ? 1 : 0;
      return;
    }
    const r = await configChanges({ files, from: o.from, to: o.to, app: o.app, namespace: o.namespace, progress, traffic });
    const unaccepted = unacceptedTrafficChanges(r, accepted);
    await writeFile(join(runDir, 'upgrade-check.json'), JSON.stringify({ ...r, unaccepted }, null, 2));
    await writeFile(join(runDir, 'upgrade-report.html'), upgradeReportHtml(r, accepted, unaccepted));
    await writeFile(join(runDir, 'junit.xml'), upgradeJunitXml(r, unaccepted));
    process.stdout.write(`${o.json ? JSON.stringify({ ...r, unaccepted }, null, 2) : `${configChangesText(r, { accepted, unaccepted })}\n\nreport: ${join(runDir, 'upgrade-report.html')} (junit.xml and upgrade-check.json beside it)`}\n`);
    exitCode = unaccepted.length ? 1 : 0;
  });

/** "envoy-1.36.4": the Envoy release; else undefined. The prefix is needed: Istio's releases are three numbers too. */
const envoyRelease = (v: string) => /^envoy-(\d+\.\d+\.\d+(?:\.post\d+)?)$/.exec(v)?.[1];

/** --from <envoy>: every phase of the scenarios on both Envoys; exit 1 when one behaves differently and --accept does not name it. */
async function envoyUpgrade(o: { from: string; to?: string; istioYaml?: string; scenario?: string[]; scenarios?: string; accept?: string; backend: string; json?: boolean }): Promise<number> {
  if (o.istioYaml) throw new UsageError('--istio-yaml goes with an Istio upgrade: an Envoy upgrade runs scenarios', { fix: `npm run upgrade-check -- --from envoy-${o.from} --scenarios ./incidents (your incidents), or --scenario a,b` });
  const to = o.to ? envoyRelease(o.to) : DEFAULT_ENVOY_VERSION;
  if (!to) throw new UsageError(`--to ${o.to} is not an Envoy release, and --from envoy-${o.from} is`, { fix: `--to envoy-${DEFAULT_ENVOY_VERSION} (npm run lab -- versions lists what can be installed)` });
  if (to === o.from) throw new UsageError(`--from and --to are both Envoy ${to}: nothing to compare`, { fix: `--to envoy-${DEFAULT_ENVOY_VERSION}, or the release you upgrade to` });
  for (const v of [o.from, to]) await assertInstallable(v);
  const own = o.scenarios ? (await addScenarioDir(o.scenarios)).map((s) => s.id) : undefined;
  const unknown = (o.scenario ?? []).filter((id) => !scenarioIds().includes(id));
  if (unknown.length) throw new UsageError(`--scenario ${unknown.join(', ')}: no such scenario`, { fix: `choose from: ${scenarioIds().join(', ')}` });
  const scenarios = await Promise.all((o.scenario ?? own ?? scenarioIds()).map(loadScenario));
  const backend = await resolveBackendKind(o.backend, o.from);
  teardownOnSignals();
  const progress = (l: string) => process.stderr.write(`${l}\n`);
  // Each Envoy runs from its own image on docker: build what is missing first, as `npm run lab -- images` does.
  if (backend === 'docker') {
    const docker = await connectDocker();
    for (const v of [o.from, to]) await ensureImages(docker, await ensureEnvoy(v, progress), await agentBundle(), (l) => progress(`images for Envoy ${v}: ${l}`));
  }
  const accepted = o.accept ? await acceptedFlags(o.accept) : new Set<string>();
  const runDir = join(RUNS_DIR, `${new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '')}-upgrade-check`);
  await mkdir(runDir, { recursive: true });
  progress(`upgrade-check: Envoy ${o.from} → ${to}, ${scenarios.length} scenario(s), every phase on both (${backend})`);
  const r = await envoyChanges({ scenarios, from: o.from, to, backend, runDir, progress });
  const unaccepted = unacceptedEnvoyChanges(r, accepted);
  await writeFile(join(runDir, 'upgrade-check.json'), JSON.stringify({ ...r, unaccepted }, null, 2));
  await writeFile(join(runDir, 'junit.xml'), envoyUpgradeJunitXml(r, unaccepted));
  process.stdout.write(`${o.json ? JSON.stringify({ ...r, unaccepted }, null, 2) : `${envoyChangesText(r, { accepted, unaccepted })}\n\nreport: ${join(r.matrixDir, MATRIX_REPORT_FILE)} (the two columns, each phase's evidence); junit.xml and upgrade-check.json in ${runDir}`}\n`);
  return unaccepted.length ? 1 : 0;
}

/**
 * The scenarios to check, those with Istio YAML: the ones named (--scenario), else the team's own
 * (--scenarios: their incidents are what the gate is for), else the whole catalogue.
 */
async function scenariosToCheck(ids?: string[], dir?: string): Promise<Scenario[]> {
  const own = dir ? (await addScenarioDir(dir)).map((s) => s.id) : undefined;
  const withIstio = scenarioIds().filter((id) => existsSync(join(configsDir(id), 'istio')));
  const unknown = (ids ?? []).filter((id) => !withIstio.includes(id));
  if (unknown.length) throw new UsageError(`--scenario ${unknown.join(', ')}: no such scenario with Istio YAML`, { fix: `scenarios with Istio YAML: ${withIstio.join(', ')}` });
  const chosen = ids ?? own?.filter((id) => withIstio.includes(id)) ?? withIstio;
  if (!chosen.length) throw new UsageError(`${dir}: none of its scenarios has Istio YAML (<scenario>/istio/<variant>.yaml beside it), so an Istio upgrade has nothing to change in them`, { fix: 'write the objects of each incident as Istio YAML beside its file (docs/own-repo.md), or check your Istio YAML itself with --istio-yaml' });
  return Promise.all(chosen.map(loadScenario));
}

async function yamlFiles(path: string): Promise<string[]> {
  const p = resolve(path);
  if (!existsSync(p)) throw new UsageError(`--istio-yaml ${path}: no such file or folder`, { fix: 'give the file or folder of your Istio objects (kubectl get se,dr,vs,sidecar -A -o yaml > istio.yaml)' });
  if (!statSync(p).isDirectory()) return [p];
  const files = (await readdir(p)).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(p, f));
  if (!files.length) throw new UsageError(`--istio-yaml ${path}: the folder has no .yaml files`, { fix: 'put your Istio objects there as .yaml' });
  return files;
}

await main(program, () => exitCode);
