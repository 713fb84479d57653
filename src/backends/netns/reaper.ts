/** The netns backend's reaper: lab namespaces (`efl-<labId>-<host>`), their processes and /etc/netns files. */
import { readFile, readdir, readlink, rm, stat } from 'node:fs/promises';
import { execa } from 'execa';
import type { BackendReaper } from '../backend.js';
import { NAME_PREFIX } from '../lab-registry.js';

/**
 * Kills every process inside each namespace, then deletes them and their /etc/netns files. The
 * processes are found the way `ip netns pids` finds them (a /proc/<pid>/ns/net that is the
 * namespace's inode), in one pass over /proc for all namespaces; the deletions are one `ip -batch`.
 */
export async function removeNamespaces(namespaces: string[]): Promise<void> {
  // Processes first: `ip netns del` does not kill them and a live process keeps the netns alive.
  const pids = await pidsIn(namespaces);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  // A killed process goes when the kernel has released it (an Envoy flushing a big log takes a
  // moment): whoever runs next must find none of them.
  await untilGone(pids);
  if (namespaces.length) await execa('ip', ['-force', '-batch', '-'], { input: `${namespaces.slice().reverse().map((ns) => `netns del ${ns}`).join('\n')}\n`, reject: false });
  await Promise.all(namespaces.map((ns) => rm(`/etc/netns/${ns}`, { recursive: true, force: true })));
}

/** Waits until none of these processes runs (a zombie awaiting its parent's wait counts as gone), 5 s at most. */
async function untilGone(pids: number[]): Promise<void> {
  const running = async (pid: number) => (await readFile(`/proc/${pid}/stat`, 'utf8').then((st) => !/^\d+ \(.*\) Z /s.test(st), () => false));
  for (let left = pids, deadline = Date.now() + 5000; left.length && Date.now() < deadline; ) {
    left = (await Promise.all(left.map(async (p) => ((await running(p)) ? [p] : [])))).flat();
    if (left.length) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The processes whose network namespace is one of these (named, under /run/netns). */
async function pidsIn(namespaces: string[]): Promise<number[]> {
  const inodes = new Set((await Promise.all(namespaces.map((ns) => stat(`/run/netns/${ns}`).then((s) => `net:[${s.ino}]`, () => undefined)))).filter(Boolean));
  if (!inodes.size) return [];
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d));
  const inside = await Promise.all(pids.map((p) => readlink(`/proc/${p}/ns/net`).then((l) => inodes.has(l), () => false)));
  return pids.filter((_, i) => inside[i]).map(Number);
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
