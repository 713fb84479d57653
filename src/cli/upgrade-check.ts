/**
 * npm run upgrade-check -- --from compat-1.29 --istio-yaml ./istio [--to <istio module>] [--app a --namespace ns] [--json]
 * What an Istio upgrade changes for a team's own Istio YAML: each behaviour change of the "to"
 * Istio, reverted one at a time to the "from" release's behaviour (Istio's own compatibility
 * profile), and what it changes in the config istiod generates for the pod.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { configChanges } from '../upgrade/config-changes.js';
import { configChangesText } from '../upgrade/config-changes-text.js';
import { cliCommand, main } from './main.js';

const program = cliCommand('npm run upgrade-check --', "What an Istio upgrade changes for your Istio YAML, one behaviour change at a time (Istio's own compatibility profiles name them)")
  .requiredOption('--from <compat|istio>', 'what you upgrade from: a compatibility profile of the new Istio (compat-1.29, or 1.29), or another Istio build (a module version, pinned or latest) rendered itself')
  .requiredOption('--istio-yaml <path>', 'your Istio objects: a file, or a folder of .yaml files (ServiceEntry, DestinationRule, VirtualService, Sidecar, Service, …)')
  .option('--to <istio>', 'the Istio you upgrade to, as a module version lab/istiod builds (default: the pinned one; npm run lab -- istio versions)')
  .option('--app <label>', "the pod whose sidecar is rendered: its app label", 'app')
  .option('--namespace <ns>', 'the pod\'s namespace', 'default')
  .option('--json', 'print the result as JSON')
  .addHelpText('after', '\nExample:\n  npm run upgrade-check -- --from compat-1.29 --istio-yaml ./istio --app checkout --namespace shop\n')
  .action(async (o: { from: string; istioYaml: string; to?: string; app: string; namespace: string; json?: boolean }) => {
    const files = await yamlFiles(o.istioYaml);
    const r = await configChanges({ files, from: o.from, to: o.to, app: o.app, namespace: o.namespace, progress: (l) => process.stderr.write(`${l}\n`) });
    process.stdout.write(`${o.json ? JSON.stringify(r, null, 2) : configChangesText(r)}\n`);
  });

async function yamlFiles(path: string): Promise<string[]> {
  const p = resolve(path);
  if (!existsSync(p)) throw new UsageError(`--istio-yaml ${path}: no such file or folder`, { fix: 'give the file or folder of your Istio objects (kubectl get se,dr,vs,sidecar -A -o yaml > istio.yaml)' });
  if (!statSync(p).isDirectory()) return [p];
  const files = (await readdir(p)).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(p, f));
  if (!files.length) throw new UsageError(`--istio-yaml ${path}: the folder has no .yaml files`, { fix: 'put your Istio objects there as .yaml' });
  return files;
}

await main(program, () => 0);
