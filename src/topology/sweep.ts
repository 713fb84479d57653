/**
 * The reaper: removes what labs of dead runs left behind (namespaces with their processes and
 * rules, /etc/netns files, work directories). Runs at the start of every phase and as `lab clean`.
 * A lab whose owner process still runs is never touched.
 */
import { isLabLive, listClaimedLabs, releaseLab } from './lab-registry.js';
import { listLabNamespaces, removeNamespaces } from './netns-backend.js';

export interface SweepReport {
  swept: string[];
  live: string[];
}

export async function sweepStaleLabs(): Promise<SweepReport> {
  const namespaces = await listLabNamespaces();
  const ids = new Set([...namespaces.keys(), ...(await listClaimedLabs())]);
  const report: SweepReport = { swept: [], live: [] };
  for (const id of ids) {
    if (await isLabLive(id)) {
      report.live.push(id);
      continue;
    }
    await removeNamespaces(namespaces.get(id) ?? []);
    await releaseLab(id);
    report.swept.push(id);
  }
  return report;
}
