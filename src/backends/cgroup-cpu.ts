/**
 * The CPU a lab's processes used, from the kernel's own accounting (cgroups): the scheduler
 * learns each phase's load from it (scheduler/phase-load.ts). A netns lab puts every process it
 * starts in a cgroup of its own (`efl-<labId>`, children follow, exited ones stay counted); a
 * Docker container already has one. cgroup v1 (cpuacct.usage, ns) and v2 (cpu.stat usage_usec)
 * both work; where neither is writable the figure is simply not measured.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const V1 = '/sys/fs/cgroup/cpuacct';
/** cgroup v2: the unified mount (a v2-only machine) or its hybrid mount point. */
const V2 = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'].find((d) => existsSync(join(d, 'cgroup.procs')) && !existsSync(join(d, 'cpuacct.usage')));

const usageFile = () => (existsSync(join(V1, 'cpuacct.usage')) ? { root: V1, file: 'cpuacct.usage', toMs: (n: number) => n / 1e6 } : V2 ? { root: V2, file: 'cpu.stat', toMs: (n: number) => n / 1e3 } : undefined);

async function readUsageMs(dir: string): Promise<number | undefined> {
  const u = usageFile();
  if (!u) return undefined;
  const text = await readFile(join(dir, u.file), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const n = u.file === 'cpu.stat' ? Number(/usage_usec (\d+)/.exec(text)?.[1]) : Number(text.trim());
  return Number.isFinite(n) ? u.toMs(n) : undefined;
}

export const CGROUP_PREFIX = 'efl-';

/** A cgroup holding one lab's processes. */
export class LabCgroup {
  private constructor(readonly dir: string) {}

  /** undefined where this machine offers no CPU accounting the lab can write to. */
  static async create(labId: string): Promise<LabCgroup | undefined> {
    const u = usageFile();
    if (!u) return undefined;
    const dir = join(u.root, `${CGROUP_PREFIX}${labId}`);
    try {
      await mkdir(dir, { recursive: true });
      return new LabCgroup(dir);
    } catch {
      return undefined;
    }
  }

  /** Moves a process (and the children it starts later) in. */
  async add(pid: number | undefined): Promise<void> {
    if (pid) await writeFile(join(this.dir, 'cgroup.procs'), String(pid)).catch(() => {});
  }

  cpuMs(): Promise<number | undefined> {
    return readUsageMs(this.dir);
  }

  /** Once its processes are gone; a straggler leaves it for the reaper (removeStaleCgroups). */
  async remove(): Promise<void> {
    for (let i = 0; i < 20; i++) {
      if (await rmdir(this.dir).then(() => true, (e: NodeJS.ErrnoException) => e.code === 'ENOENT')) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The CPU used so far by the cgroup `pid` is in (a Docker container's own). */
export async function cpuMsOfCgroupOf(pid: number): Promise<number | undefined> {
  const u = usageFile();
  if (!u) return undefined;
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')).split('\n');
  const path = u.root === V1 ? lines.find((l) => /:(?:[^:]*,)?cpuacct(?:,[^:]*)?:/.test(l))?.split(':')[2] : lines.find((l) => l.startsWith('0::'))?.slice(3);
  return path === undefined ? undefined : readUsageMs(join(u.root, path));
}

/** Removes the empty cgroups of labs that are gone (`alive` says which lab ids still run). */
export async function removeStaleCgroups(isLive: (labId: string) => Promise<boolean>): Promise<string[]> {
  const u = usageFile();
  if (!u) return [];
  const removed: string[] = [];
  for (const n of (await readdir(u.root).catch(() => [] as string[])).filter((n) => /^efl-[0-9a-f]{6}$/.test(n))) {
    if (!(await isLive(n.slice(CGROUP_PREFIX.length))) && (await rmdir(join(u.root, n)).then(() => true, () => false))) removed.push(n);
  }
  return removed;
}
