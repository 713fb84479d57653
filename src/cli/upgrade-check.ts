/**
 * npm run upgrade-check -- --from compat-1.29 --istio-yaml ./istio [--to <istio module>] [--app a --namespace ns]
 *   [--accept accepted.yaml] [--no-traffic] [--backend kind] [--envoy v] [--json]
 * What an Istio upgrade changes for a team's own Istio YAML: each behaviour change of the "to"
 * Istio, reverted one at a time to the "from" release's behaviour (Istio's own compatibility
 * profile), what it changes in the config istiod generates for the pod, and, where it changes the
 * config, what it does to calls through that config (a lab each side, real Envoy). Exit 1 when a
 * change alters traffic and the team's --accept file does not name it.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { resolveBackendKind } from '../backends/create-backend.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { assertInstallable, ensureEnvoy } from '../envoy/install.js';
import { UsageError } from '../errors.js';
import { RUNS_DIR } from '../paths.js';
import { upgradeReportHtml } from '../report/html/upgrade-report.js';
import { upgradeJunitXml } from '../report/junit.js';
import { acceptedFlags, unacceptedTrafficChanges } from '../upgrade/accept.js';
import { configChanges } from '../upgrade/config-changes.js';
import { configChangesText } from '../upgrade/config-changes-text.js';
import { cliCommand, main } from './main.js';
import { teardownOnSignals } from './signals.js';

let exitCode = 0;

const program = cliCommand('npm run upgrade-check --', "What an Istio upgrade changes for your Istio YAML, one behaviour change at a time (Istio's own compatibility profiles name them): in the config, and in calls through it")
  .requiredOption('--from <compat|istio>', 'what you upgrade from: a compatibility profile of the new Istio (compat-1.29, or 1.29), or another Istio build (a module version, pinned or latest) rendered itself')
  .requiredOption('--istio-yaml <path>', 'your Istio objects: a file, or a folder of .yaml files (ServiceEntry, DestinationRule, VirtualService, Sidecar, Service, …)')
  .option('--to <istio>', 'the Istio you upgrade to, as a module version lab/istiod builds (default: the pinned one; npm run lab -- istio versions)')
  .option('--app <label>', "the pod whose sidecar is rendered: its app label", 'app')
  .option('--namespace <ns>', 'the pod\'s namespace', 'default')
  .option('--accept <file>', 'the changes your team has reviewed: a YAML list of flags (e.g. - DISABLE_SHADOW_HOST_SUFFIX); a change that alters traffic and is not listed makes the exit 1')
  .option('--no-traffic', 'compare the config only (no lab runs)')
  .option('--envoy <version>', 'the Envoy the traffic runs on', DEFAULT_ENVOY_VERSION)
  .option('--backend <kind>', 'netns | docker | auto (netns when root on Linux, else docker)', process.env.LAB_BACKEND ?? 'auto')
  .option('--json', 'print the result as JSON')
  .addHelpText('after', '\nExit: 0 no unaccepted traffic change, 1 a change alters your traffic and --accept does not name it, 2 bad input, 3 missing prerequisite.\n\nExample:\n  npm run upgrade-check -- --from compat-1.29 --istio-yaml ./istio --app checkout --namespace shop --accept istio-upgrade-accepted.yaml\n')
  .action(async (o: { from: string; istioYaml: string; to?: string; app: string; namespace: string; accept?: string; traffic: boolean; envoy: string; backend: string; json?: boolean }) => {
    const files = await yamlFiles(o.istioYaml);
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
    const r = await configChanges({ files, from: o.from, to: o.to, app: o.app, namespace: o.namespace, progress, traffic });
    const unaccepted = unacceptedTrafficChanges(r, accepted);
    await mkdir(runDir, { recursive: true });
    await writeFile(join(runDir, 'upgrade-check.json'), JSON.stringify({ ...r, unaccepted }, null, 2));
    await writeFile(join(runDir, 'upgrade-report.html'), upgradeReportHtml(r, accepted, unaccepted));
    await writeFile(join(runDir, 'junit.xml'), upgradeJunitXml(r, unaccepted));
    process.stdout.write(`${o.json ? JSON.stringify({ ...r, unaccepted }, null, 2) : `${configChangesText(r, { accepted, unaccepted })}\n\nreport: ${join(runDir, 'upgrade-report.html')} (junit.xml and upgrade-check.json beside it)`}\n`);
    exitCode = unaccepted.length ? 1 : 0;
  });

async function yamlFiles(path: string): Promise<string[]> {
  const p = resolve(path);
  if (!existsSync(p)) throw new UsageError(`--istio-yaml ${path}: no such file or folder`, { fix: 'give the file or folder of your Istio objects (kubectl get se,dr,vs,sidecar -A -o yaml > istio.yaml)' });
  if (!statSync(p).isDirectory()) return [p];
  const files = (await readdir(p)).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(p, f));
  if (!files.length) throw new UsageError(`--istio-yaml ${path}: the folder has no .yaml files`, { fix: 'put your Istio objects there as .yaml' });
  return files;
}

await main(program, () => exitCode);
