/**
 * `lab triage` (and `npx envoy-fault-lab triage`): which incident is this, from whatever the user
 * has: a paste of mixed evidence (a file or stdin), with the pod's config_dump, /stats and socket
 * table when they have them, held against the catalogue and the team's own scenarios.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { INSTALLED } from '../paths.js';
import { addScenarioDir, loadScenario, scenarioIds } from '../scenario/registry.js';
import { readPaste } from '../triage/read/read-paste.js';
import { configDumpOf, refuseUnreadable } from '../triage/read/refuse.js';
import { parseSs, parseStats, type SocketRow } from '../triage/shapes.js';
import { envoyOfIstio } from '../triage/envoy-of-istio.js';
import { triagePaste } from '../triage/triage.js';
import { signaturesText, triageText } from '../triage/triage-text.js';

const say = (s: string) => process.stdout.write(`${s}\n`);

export function addTriageCommand(program: Command): void {
  program
    .command('triage [paste]')
    .description("which incident is this? Give what you have (a file, or - for stdin): access-log lines in any format, the app's error, curl -v output, Envoy's debug log, pilot-agent lines, Kubernetes events, /stats, /clusters, ss; mixed and in any order")
    .option('--config-dump <file>', "the pod's config_dump (istioctl proxy-config all -o json): held against each incident's config shape, and the next step runs the scenario on your config")
    .option('--stats <file>', "the pod's counters (curl localhost:15000/stats, or ?format=json): held against each incident's counters")
    .option('--ss <file>', "the pod's connection table (ss -tanp in its network namespace): held against each incident's connections")
    .option('--scenarios <dir>', "your own scenario files (e.g. ./incidents): their signatures are held against the paste beside the catalogue's")
    .option('--envoy-version <v>', "the Envoy your pod runs: forms of a signature written by other Envoy versions are left out, and the next step runs the scenario on it")
    .option('--istio-version <v>', 'the Istio your pod runs, when you do not know its Envoy (Istio 1.N ships Envoy 1.(N+8))')
    .option('--explain', 'also list which reading rule took which line, and what was not understood')
    .option('--list-signatures', "print every before's signature (or why it has none) and exit")
    .addHelpText('after', `\nExamples:\n  kubectl logs my-pod -c istio-proxy --since 10m > pod.log && ${cmd('lab')} triage pod.log\n  pbpaste | ${cmd('lab')} triage -            (the error text, curl -v output, a log excerpt)\n  ${cmd('lab')} triage pod.log --stats stats.txt --config-dump dump.json --scenarios ./incidents\n`)
    .action(async (file: string | undefined, o: { configDump?: string; stats?: string; ss?: string; scenarios?: string; envoyVersion?: string; istioVersion?: string; explain?: boolean; listSignatures?: boolean }) => {
      const own = o.scenarios ? (await addScenarioDir(o.scenarios)).map((x) => x.id) : [];
      const scenarios = await Promise.all(scenarioIds().map(loadScenario));
      if (o.listSignatures) return void say(signaturesText(scenarios));
      if (!file) throw new UsageError('nothing to triage: no file given', { fix: `${cmd('lab')} triage <file | -> (a log, an error, curl output; - reads stdin)` });
      if (o.envoyVersion && !/^\d+\.\d+\.\d+/.test(o.envoyVersion)) throw new UsageError(`--envoy-version "${o.envoyVersion}" is not a version`, { fix: 'e.g. --envoy-version 1.36.4 (istioctl version, or the proxy image tag)' });
      if (o.istioVersion && !envoyOfIstio(o.istioVersion)) throw new UsageError(`--istio-version "${o.istioVersion}" is not an Istio version`, { fix: 'e.g. --istio-version 1.24.2 (istioctl version)' });
      const envoyVersion = o.envoyVersion ?? (o.istioVersion ? envoyOfIstio(o.istioVersion) : undefined);
      const source = file === '-' ? 'stdin' : file;
      const text = file === '-' ? await readStdin() : await readText(file, 'the paste', 'give the path of the file that holds what you have (a log, an error, curl output), or - for stdin');
      refuseUnreadable(text, source);
      const pod = {
        configDump: o.configDump ? configDumpOf(await readText(o.configDump, '--config-dump', 'istioctl proxy-config all <pod> -o json > dump.json'), o.configDump) : undefined,
        stats: o.stats ? await readStats(o.stats) : undefined,
        sockets: o.ss ? await readSs(o.ss) : undefined,
      };
      const read = readPaste(text);
      say(triageText(read, triagePaste(read, scenarios, pod, { envoyVersion }), { configDump: o.configDump, envoyVersion: o.envoyVersion, command: cmd, scenarios: o.scenarios ? { dir: o.scenarios, ids: own } : undefined }, o.explain));
    });
}

const cmd = (sub: 'scenario' | 'lab') => (INSTALLED ? `npx envoy-fault-lab ${sub}` : `npm run ${sub} --`);

async function readText(file: string, what: string, fix: string): Promise<string> {
  if (!existsSync(file)) throw new UsageError(`${what} ${file}: no such file`, { fix });
  const buf = await readFile(file);
  return buf.toString('utf8');
}

/** A /stats file (Envoy's text, its JSON, Prometheus), or one clear error. */
async function readStats(file: string): Promise<Map<string, number>> {
  const fix = 'kubectl exec <pod> -c istio-proxy -- curl -s localhost:15000/stats > stats.txt';
  const text = await readText(file, '--stats', fix);
  let stats: Map<string, number>;
  try {
    stats = parseStats(text);
  } catch (err) {
    throw new UsageError(`--stats ${file} is not Envoy's /stats: ${(err as Error).message}`, { fix });
  }
  if (stats.size === 0) throw new UsageError(`--stats ${file} has no counters (no "name: value" lines, no Prometheus samples, no Envoy JSON)`, { fix });
  return stats;
}

/** An `ss -tanp` table, or one clear error. */
async function readSs(file: string): Promise<SocketRow[]> {
  const fix = 'kubectl debug <pod> --image=nicolaka/netshoot --target=istio-proxy -- ss -tanp > ss.txt (or nsenter -t <pid> -n ss -tanp on the node)';
  const rows = parseSs(await readText(file, '--ss', fix));
  if (rows.length === 0) throw new UsageError(`--ss ${file} has no connection rows (State Recv-Q Send-Q Local Peer Process)`, { fix });
  return rows;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('triage - reads stdin, and stdin is a terminal', { fix: 'pipe the paste in (pbpaste | … triage -), or give a file' });
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}
