/**
 * Picks and creates the backend: `netns` (Linux as root, fast, no images), `docker` (portable,
 * needs a daemon and the lab images), or `auto`: netns when it can run here, else docker when it
 * can, else one message saying what to install for each.
 */
import { PrerequisiteError, UsageError } from '../errors.js';
import type { Backend, BackendKind, SidecarBinary } from './backend.js';
import { dockerCapability, fixFor, netnsCapability } from './capabilities.js';
import { DockerBackend } from './docker/docker-backend.js';
import { NetnsBackend } from './netns/netns-backend.js';

export type { BackendKind };
export const BACKEND_CHOICES = ['netns', 'docker', 'auto'] as const;

export async function resolveBackendKind(choice: string, envoyVersion: string): Promise<BackendKind> {
  if (choice === 'netns' || choice === 'docker') return choice;
  if (choice !== 'auto') throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got "${choice}"`);
  const netns = netnsCapability();
  if (netns.ok) return 'netns';
  const docker = await dockerCapability(envoyVersion);
  if (docker.ok) return 'docker';
  throw new PrerequisiteError(
    `neither backend can run here: netns lacks ${netns.missing.map((r) => r.what).join(', ')}; docker: ${docker.why}`,
    { fix: `for netns: ${fixFor(netns.missing)}. For docker: ${docker.fix}` },
  );
}

export async function createBackend(kind: BackendKind, envoy: SidecarBinary): Promise<Backend> {
  return kind === 'docker' ? DockerBackend.create(envoy) : NetnsBackend.create();
}
