/**
 * What this machine can run, decided in one place: `--backend auto`, each backend's start and
 * `lab doctor` all ask here, so they never disagree. Each missing piece comes with the Debian
 * package that provides it, so the fix is one exact `apt-get install` line.
 */
import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import { PrerequisiteError } from '../errors.js';
import type { BackendKind } from './backend.js';
import { envoyImage, imageExists, nodeImage } from './docker/images.js';

export interface Requirement {
  what: string;
  ok: boolean;
  /** The Debian package that provides it, when one does. */
  debianPackage?: string;
  /** What to do when there is no package (e.g. "run as root"). */
  fix?: string;
}

const BIN_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];
export const hasCommand = (cmd: string) => BIN_DIRS.some((d) => existsSync(`${d}/${cmd}`));

const tool = (cmd: string, debianPackage: string, why: string): Requirement => ({ what: `${cmd} (${why})`, ok: hasCommand(cmd), debianPackage });

/** The netns backend: Linux, root, and the tools it runs in the namespaces. */
export function netnsRequirements(): Requirement[] {
  return [
    { what: `Linux (this is ${process.platform})`, ok: process.platform === 'linux', fix: 'use a Linux machine, or --backend docker' },
    { what: `root (uid ${process.getuid?.()})`, ok: process.getuid?.() === 0, fix: 'run as root, e.g. `sudo npm run scenario -- <id>`' },
    tool('ip', 'iproute2', 'namespaces, veth'),
    tool('ss', 'iproute2', 'connection tables'),
    tool('nstat', 'iproute2', 'kernel counters'),
    tool('iptables', 'iptables', 'interception, faults'),
    tool('setpriv', 'util-linux', 'run Envoy as uid 1337'),
  ];
}

/**
 * What a lab's upstream servers need on this machine. Redis, MariaDB and memcached run inside the lab hosts, which on
 * netns share this machine's files (the docker images carry their own); the TLS sites'
 * certificates are made here with openssl for both backends.
 */
export function upstreamRequirements(kinds: Iterable<string | undefined>, backend: BackendKind | 'any'): Requirement[] {
  const k = new Set(kinds);
  return [
    ...(k.has('redis') && backend !== 'docker' ? [tool('redis-server', 'redis-server', 'real redis upstream'), tool('redis-cli', 'redis-tools', 'real redis upstream')] : []),
    ...(k.has('mariadb') && backend !== 'docker' ? [tool('mariadbd', 'mariadb-server', 'real MariaDB upstream')] : []),
    ...(k.has('memcached') && backend !== 'docker' ? [tool('memcached', 'memcached', 'real memcached upstream')] : []),
    ...(k.has('tls') ? [tool('openssl', 'openssl', 'lab TLS certificates')] : []),
  ];
}

/** Every scenario's needs on this machine (for `lab doctor`). */
export const scenarioRequirements = () => upstreamRequirements(['redis', 'mariadb', 'memcached', 'tls'], 'any');

/** "apt-get install -y iproute2 iptables" for the missing requirements that have a package. */
export function aptInstallLine(missing: Requirement[]): string | undefined {
  const pkgs = [...new Set(missing.filter((r) => !r.ok && r.debianPackage).map((r) => r.debianPackage!))];
  return pkgs.length ? `apt-get install -y ${pkgs.join(' ')}` : undefined;
}

/** One sentence of fixes for the missing requirements: the apt line, then the rest. */
export function fixFor(missing: Requirement[]): string {
  const apt = aptInstallLine(missing);
  const other = missing.filter((r) => !r.ok && !r.debianPackage && r.fix).map((r) => r.fix!);
  return [apt && `${apt} (Debian/Ubuntu; as root)`, ...other].filter(Boolean).join('; ');
}

export function netnsCapability(): { ok: boolean; missing: Requirement[] } {
  const missing = netnsRequirements().filter((r) => !r.ok);
  return { ok: missing.length === 0, missing };
}

export function assertNetnsCapable(): void {
  const { ok, missing } = netnsCapability();
  if (!ok) throw new PrerequisiteError(`the netns backend cannot run here: missing ${missing.map((r) => r.what).join(', ')}`, { fix: fixFor(missing) });
}

export interface DockerCapability {
  ok: boolean;
  daemon: boolean;
  missingImages: string[];
  why?: string;
  fix?: string;
}

/** The Docker backend: a daemon that answers, and the lab images for this Envoy version (or `tags`). */
export async function dockerCapability(envoyVersion: string, tags = [nodeImage(), envoyImage(envoyVersion)]): Promise<DockerCapability> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (err) {
    return {
      ok: false,
      daemon: false,
      missingImages: [],
      why: `no Docker daemon answers (${(err as Error).message})`,
      fix: 'apt-get install -y docker.io mmdebstrap, start `dockerd &`, then `npm run lab -- images` (or use --backend netns)',
    };
  }
  const missingImages = (await Promise.all(tags.map(async (t) => ((await imageExists(docker, t)) ? undefined : t)))).filter((t): t is string => !!t);
  if (missingImages.length) return { ok: false, daemon: true, missingImages, why: `the lab images ${missingImages.join(', ')} are missing`, fix: `npm run lab -- images ${envoyVersion}` };
  return { ok: true, daemon: true, missingImages: [] };
}
