/**
 * The reaper: removes what labs of dead runs left behind (namespaces with their processes and
 * rules, /etc/netns files, Docker containers and networks, work directories). Runs at the start of every phase and as `lab clean`.
 * A lab whose owner process still runs is never touched.
 */
import { isLabLive, listClaimedLabs, releaseLab } from './lab-registry.js';
import { listLabNamespaces, removeNamespaces } from './netns-backend.js';
import { listDockerLabs, removeDockerLab } from '../docker/docker-backend.js';
import Docker from 'dockerode';
import { existsSync } from 'node:fs';

/** The Docker daemon, if this machine runs one (the reaper must not fail without it). */
async function dockerIfRunning(): Promise<Docker | undefined> {
  if (!existsSync('/var/run/docker.sock') && !process.env.DOCKER_HOST) return undefined;
  const docker = new Docker();
  try {
    await docker.ping();
    return docker;
  } catch {
    return undefined;
  }
}

export interface SweepReport {
  swept: string[];
  live: string[];
}

export async function sweepStaleLabs(): Promise<SweepReport> {
  const namespaces = await listLabNamespaces();
  const docker = await dockerIfRunning();
  const dockerLabs = docker ? await listDockerLabs(docker) : [];
  const ids = new Set([...namespaces.keys(), ...dockerLabs, ...(await listClaimedLabs())]);
  const report: SweepReport = { swept: [], live: [] };
  for (const id of ids) {
    if (await isLabLive(id)) {
      report.live.push(id);
      continue;
    }
    await removeNamespaces(namespaces.get(id) ?? []);
    if (docker && dockerLabs.includes(id)) await removeDockerLab(docker, id);
    await releaseLab(id);
    report.swept.push(id);
  }
  return report;
}
