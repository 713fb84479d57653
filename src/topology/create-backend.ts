/**
 * Picks and creates the backend: `netns` (Linux as root, fast, no images), `docker` (portable,
 * needs a daemon and the lab images), or `auto`: netns when it can run here, else docker when a
 * daemon answers, else one message saying what to install.
 */
import { existsSync } from 'node:fs';
import { DockerBackend, connectDocker } from '../docker/docker-backend.js';
import type { EnvoyBinary } from '../envoy/install.js';
import { PrerequisiteError, UsageError } from '../errors.js';
import type { Backend } from './backend.js';
import { NetnsBackend } from './netns-backend.js';

export type BackendKind = 'netns' | 'docker';
export const BACKEND_CHOICES = ['netns', 'docker', 'auto'] as const;

export function netnsPossible(): boolean {
  return process.platform === 'linux' && process.getuid?.() === 0 && ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'].some((p) => existsSync(p));
}

export async function resolveBackendKind(choice: string): Promise<BackendKind> {
  if (choice === 'netns' || choice === 'docker') return choice;
  if (choice !== 'auto') throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got "${choice}"`);
  if (netnsPossible()) return 'netns';
  try {
    await connectDocker();
    return 'docker';
  } catch {
    throw new PrerequisiteError(
      'neither backend can run here: the netns backend needs Linux as root with iproute2 and iptables, the docker backend a Docker daemon',
      'run as root on Linux (apt-get install -y iproute2 iptables), or start Docker and run `npm run lab -- images`',
    );
  }
}

export async function createBackend(kind: BackendKind, envoy: EnvoyBinary): Promise<Backend> {
  return kind === 'docker' ? DockerBackend.create(envoy) : NetnsBackend.create();
}
