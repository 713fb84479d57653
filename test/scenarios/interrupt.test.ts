// Ctrl-C in the middle of a phase tears the lab down, on every backend: no namespace, container,
// network, process, rule or file of that lab is left. So does a run's normal end, by the time the
// command returns, and a kill -9 of the run, within 10 s, with no other command run.
import { execa } from 'execa';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/backends/docker/connect.js';
import { listDockerLabs } from '../../src/backends/docker/reaper.js';
import { labDir } from '../../src/backends/lab-registry.js';
import { listLabNamespaces } from '../../src/backends/netns/reaper.js';
import { REPO_ROOT } from '../../src/paths.js';
import { backendsUnderTest } from '../support/backends.js';

/**
 * Starts a phase, waits until the fault is in, then sends SIGINT. Returns the lab id and the exit.
 * The fault is due 60 s after the lab is up; before that the phase may wait in the machine's queue
 * for as long as the suite's other files hold it (a phase that needs the machine alone), up to the
 * test's own timeout.
 */
async function interruptMidPhase(backend: string) {
  const child = execa('node', ['--import', 'tsx', 'src/cli/scenario.ts', 'sticky-503', '--phase', 'before', '--backend', backend], { cwd: REPO_ROOT, reject: false, all: true });
  let output = '';
  let labId = '';
  const started = Date.now();
  let upAt: number | undefined;
  await new Promise<void>((resolve, reject) => {
    const watch = setInterval(() => {
      const queued = !upAt && output.includes('waiting for the machine');
      const since = upAt ?? started;
      if (!queued && Date.now() - since > 60_000) {
        clearInterval(watch);
        reject(new Error(`no fault ${upAt ? '60 s after the lab came up' : 'after 60 s, and the phase was not queued'}:\n${output}`));
      }
    }, 1000);
    child.all!.on('data', (d: Buffer) => {
      output += d.toString();
      labId ||= /lab ([0-9a-f]{6}) up/.exec(output)?.[1] ?? '';
      if (labId) upAt ??= Date.now();
      if (labId && output.includes('fault: blackhole')) {
        clearInterval(watch);
        resolve();
      }
    });
  });
  return { labId, child };
}

const backends = await backendsUnderTest();
/** Why a backend's test cannot run here, or undefined when it can. */
const skipReason = (kind: string) => {
  const b = backends.find((x) => x.kind === kind);
  return b ? b.unavailable : `${kind} is not under test (LAB_BACKENDS=${process.env.LAB_BACKENDS})`;
};

describe('Ctrl-C during a phase (netns)', () => {
  it('exits 130 and leaves nothing behind', async (ctx) => {
    const why = skipReason('netns');
    if (why) ctx.skip(why);
    const { labId, child } = await interruptMidPhase('netns');
    const before = (await listLabNamespaces()).get(labId) ?? [];
    expect(before.length).toBeGreaterThan(0);
    const pids = (await execa('ip', ['netns', 'pids', before.find((n) => n.endsWith('-pod'))!])).stdout.split(/\s+/).filter(Boolean);
    expect(pids.length).toBeGreaterThan(0); // Envoy and the app are running
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, r.all).toBe(130);
    expect(r.all).toMatch(/tearing the lab down/);
    expect((await listLabNamespaces()).get(labId)).toBeUndefined();
    expect(existsSync(labDir(labId))).toBe(false);
    expect(existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.includes(labId)) : []).toEqual([]);
    for (const pid of pids) expect(existsSync(`/proc/${pid}`), `pid ${pid} survived`).toBe(false);
  });
});

describe('Ctrl-C during a phase (docker)', () => {
  it('exits 130 and leaves no container or network behind', async (ctx) => {
    const why = skipReason('docker');
    if (why) ctx.skip(why);
    const { labId, child } = await interruptMidPhase('docker');
    const docker = await connectDocker();
    expect(await listDockerLabs(docker)).toContain(labId);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, r.all).toBe(130);
    expect(await listDockerLabs(docker)).not.toContain(labId);
    expect(existsSync(labDir(labId))).toBe(false);
  });
});

/** Processes whose command line names the lab's run directory (its Envoys, agents, pilot-agent). */
function processesOf(labId: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`/labs/${labId}/`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** What is left of a lab: its namespaces, containers, processes, directory. */
async function leftOf(labId: string) {
  const docker = backends.some((b) => b.kind === 'docker' && !b.unavailable) ? await connectDocker() : undefined;
  return {
    namespaces: (await listLabNamespaces()).get(labId) ?? [],
    containers: docker && (await listDockerLabs(docker)).includes(labId) ? [labId] : [],
    processes: processesOf(labId),
    dir: existsSync(labDir(labId)) ? [labDir(labId)] : [],
  };
}
const nothing = { namespaces: [], containers: [], processes: [], dir: [] };

for (const kind of ['netns', 'docker']) {
  describe(`a run's end (${kind})`, () => {
    it('the command returns only when its labs are gone: nothing of them in the instant it exits', async (ctx) => {
      const why = skipReason(kind);
      if (why) ctx.skip(why);
      const r = await execa('node', ['--import', 'tsx', 'src/cli/scenario.ts', 'catch-all-cert', '--phase', 'before', '--backend', kind], { cwd: REPO_ROOT, reject: false, all: true });
      const labId = /lab ([0-9a-f]{6}) up/.exec(r.all ?? '')?.[1];
      expect(r.exitCode, r.all).toBe(0);
      expect(labId, r.all).toBeTruthy();
      expect(await leftOf(labId!)).toEqual(nothing);
    });

    it('kill -9 of the run mid-phase: nothing of its lab is left 10 s later, with no other command run', async (ctx) => {
      const why = skipReason(kind);
      if (why) ctx.skip(why);
      const { labId, child } = await interruptMidPhase(kind);
      const owner = Number(readFileSync(`${labDir(labId)}/owner.pid`, 'utf8'));
      expect(owner).toBe(child.pid);
      process.kill(owner, 'SIGKILL');
      await child;
      const deadline = Date.now() + 10_000;
      let left = await leftOf(labId);
      while (JSON.stringify(left) !== JSON.stringify(nothing) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        left = await leftOf(labId);
      }
      expect(left).toEqual(nothing);
    });
  });
}
