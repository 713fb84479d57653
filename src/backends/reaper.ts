/**
 * The reaper: removes what labs of dead runs left behind, asking each backend's own reaper
 * (namespaces with their processes and rules, /etc/netns files; Docker containers and networks),
 * then the lab's work directory. Runs at the start of every phase and as `lab clean`.
 * A lab whose owner process still runs is never touched.
 */
import type { BackendReaper } from './backend.js';
import { removeStaleCgroups } from './cgroup-cpu.js';
import { dockerReaper } from './docker/reaper.js';
import { isLabLive, listClaimedLabs, releaseLab } from './lab-registry.js';
import { netnsReaper } from './netns/reaper.js';

export interface SweepReport {
  swept: string[];
  live: string[];
}

export async function sweepStaleLabs(): Promise<SweepReport> {
  const reapers: BackendReaper[] = [netnsReaper, await dockerReaper()].filter((r): r is BackendReaper => !!r);
  const owned = await Promise.all(reapers.map(async (r) => ({ reaper: r, ids: await r.labIds() })));
  const ids = new Set([...owned.flatMap((o) => o.ids), ...(await listClaimedLabs())]);
  const report: SweepReport = { swept: [], live: [] };
  for (const id of ids) {
    if (await isLabLive(id)) {
      report.live.push(id);
      continue;
    }
    for (const { reaper, ids: theirs } of owned) if (theirs.includes(id)) await reaper.remove(id);
    await releaseLab(id);
    report.swept.push(id);
  }
  // A netns lab's CPU-accounting cgroup, when a straggling process kept it from going with the lab.
  await removeStaleCgroups(isLabLive);
  return report;
}
