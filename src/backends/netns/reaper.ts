/** The netns backend's reaper: lab namespaces (`efl-<labId>-<host>`), their processes and /etc/netns files. */
import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import type { BackendReaper } from '../backend.js';
import { NAME_PREFIX } from '../lab-registry.js';

/** Kills every process inside each namespace, then deletes it and its /etc/netns files. */
export async function removeNamespaces(namespaces: string[]): Promise<void> {
  // Processes first: `ip netns del` does not kill them and a live process keeps the netns alive.
  for (const ns of namespaces) {
    const r = await execa('ip', ['netns', 'pids', ns], { reject: false });
    for (const pid of r.stdout.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  for (const ns of namespaces.slice().reverse()) {
    await execa('ip', ['netns', 'del', ns], { reject: false });
    await rm(`/etc/netns/${ns}`, { recursive: true, force: true });
  }
}

/** Lab namespaces that exist now, grouped by lab id. */
export async function listLabNamespaces(): Promise<Map<string, string[]>> {
  const r = await execa('ip', ['netns', 'list'], { reject: false });
  const byLab = new Map<string, string[]>();
  for (const line of r.stdout.split('\n')) {
    const name = line.split(/\s+/)[0] ?? '';
    const m = new RegExp(`^${NAME_PREFIX}-([0-9a-f]{6})-`).exec(name);
    if (!m) continue;
    byLab.set(m[1]!, [...(byLab.get(m[1]!) ?? []), name]);
  }
  return byLab;
}

export const netnsReaper: BackendReaper = {
  labIds: async () => [...(await listLabNamespaces()).keys()],
  remove: async (labId) => removeNamespaces((await listLabNamespaces()).get(labId) ?? []),
};
