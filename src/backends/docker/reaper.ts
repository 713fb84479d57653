/** The Docker backend's reaper: containers and networks labelled `efl.lab=<labId>`. */
import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import type { BackendReaper } from '../backend.js';

/** Label on every container and network: which lab it belongs to. */
export const LAB_LABEL = 'efl.lab';

/** Removes a lab's containers and networks, found by label. */
export async function removeDockerLab(docker: Docker, labId: string): Promise<void> {
  const filters = JSON.stringify({ label: [`${LAB_LABEL}=${labId}`] });
  const containers = await docker.listContainers({ all: true, filters }).catch(() => []);
  // The sidecars first (the pod's `-sidecar`, a server pod's `-sidecar-<host>`): each lives in its
  // app container's namespaces. Then the rest, all at once.
  const isSidecar = (c: Docker.ContainerInfo) => c.Names.some((n) => /-sidecar(-[a-z0-9-]+)?$/.test(n));
  const remove = (c: Docker.ContainerInfo) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  await Promise.all(containers.filter(isSidecar).map(remove));
  await Promise.all(containers.filter((c) => !isSidecar(c)).map(remove));
  for (const n of await docker.listNetworks({ filters }).catch(() => [])) await docker.getNetwork(n.Id).remove().catch(() => {});
}

/** Lab ids that have Docker resources now. */
export async function listDockerLabs(docker: Docker): Promise<string[]> {
  const filters = JSON.stringify({ label: [LAB_LABEL] });
  const ids = new Set<string>();
  for (const c of await docker.listContainers({ all: true, filters }).catch(() => [])) ids.add(c.Labels[LAB_LABEL]!);
  for (const n of await docker.listNetworks({ filters }).catch(() => [])) ids.add(n.Labels?.[LAB_LABEL] ?? '');
  ids.delete('');
  return [...ids];
}

/** The reaper, when this machine runs a Docker daemon (the sweep must not fail without one). */
export async function dockerReaper(): Promise<BackendReaper | undefined> {
  if (!existsSync('/var/run/docker.sock') && !process.env.DOCKER_HOST) return undefined;
  const docker = new Docker();
  try {
    await docker.ping();
  } catch {
    return undefined;
  }
  return { labIds: () => listDockerLabs(docker), remove: (labId) => removeDockerLab(docker, labId) };
}
