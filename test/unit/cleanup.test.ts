// Every namespace, process and rule a lab creates goes away with it, and the reaper removes what
// a dead run left. Needs root (creates real namespaces); skipped with a reason otherwise.
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labDir } from '../../src/backends/lab-registry.js';
import { NetnsBackend } from '../../src/backends/netns/netns-backend.js';
import { listLabNamespaces } from '../../src/backends/netns/reaper.js';
import { sweepStaleLabs } from '../../src/backends/reaper.js';
import { podWithUpstreams } from '../../src/topology/topology.js';

const root = process.getuid?.() === 0;
const topology = podWithUpstreams([{ name: 'old', octet: 21 }]);

async function labNamespaces(labId: string) {
  return (await listLabNamespaces()).get(labId) ?? [];
}

describe.skipIf(!root)('netns lab cleanup', () => {
  it('down() removes namespaces, kills processes and deletes /etc/netns files', async () => {
    const backend = await NetnsBackend.create();
    await backend.up(topology);
    await backend.setResolver('pod', '198.18.0.53');
    const sleeper = backend.spawn('old', ['sleep', '60']);
    await backend.exec('old', ['iptables', '-w', '-I', 'INPUT', '-p', 'tcp', '-j', 'DROP']);
    expect(await labNamespaces(backend.labId)).toHaveLength(4); // hub, pod, dns, old
    await backend.down();
    expect(await labNamespaces(backend.labId)).toEqual([]);
    expect(existsSync(`/etc/netns/${backend.nsName('pod')}`)).toBe(false);
    expect(existsSync(labDir(backend.labId))).toBe(false);
    expect((await sleeper.exited).signal).toBe('SIGKILL');
  });

  it('the hosts reach each other but have no route out of the lab', async () => {
    const backend = await NetnsBackend.create();
    try {
      await backend.up(topology);
      const routes = await backend.exec('pod', ['ip', 'route']);
      expect(routes.stdout).not.toMatch(/default/);
      expect(routes.stdout).toContain(backend.plan.cidr);
      backend.spawn('old', [process.execPath, '-e', "require('net').createServer((s) => s.end('hi')).listen(9999)"]);
      const dial = (ip: string) =>
        backend.exec('pod', [process.execPath, '-e', `const s = require('net').connect({ host: '${ip}', port: 9999, timeout: 1000 }); s.on('data', () => process.exit(0)); s.on('error', (e) => { console.log(e.code); process.exit(1); }); s.on('timeout', () => process.exit(2));`]);
      let r = await dial(backend.plan.ip({ octet: 21 }));
      for (let i = 0; r.exitCode !== 0 && i < 20; i++) r = await dial(backend.plan.ip({ octet: 21 })); // the listener may still be starting
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      // An address outside the lab's /24 has no route at all: the kernel refuses at once.
      const outside = await backend.exec('pod', [process.execPath, '-e', "require('net').connect(9999, '198.19.255.1').on('error', (e) => { console.log(e.code); process.exit(0); })"]);
      expect(outside.stdout.trim()).toBe('ENETUNREACH');
    } finally {
      await backend.down();
    }
  });

  it('when up() returns, every host is on the network: each bridge port forwards (five labs at once)', async () => {
    // A port that is not forwarding yet drops the first packets: with the veths made before the
    // bridge, a hub port took its peer's ifindex, the kernel held its carrier-up for up to a
    // second, and the app's first DNS query was lost (EAI_AGAIN).
    const labs = await Promise.all(Array.from({ length: 5 }, () => NetnsBackend.create()));
    try {
      const ports = await Promise.all(
        labs.map(async (b) => {
          await b.up(topology);
          return (await execa('bridge', ['-n', b.nsName('hub'), 'link', 'show'])).stdout;
        }),
      );
      for (const p of ports) expect(p.split('\n').filter((l) => / state forwarding /.test(l)), p).toHaveLength(topology.hosts.length);
    } finally {
      await Promise.all(labs.map((b) => b.down()));
    }
  });

  it('the reaper removes a lab whose owner died, and leaves live labs alone', async () => {
    const live = await NetnsBackend.create();
    const dead = await NetnsBackend.create();
    try {
      await live.up(topology);
      await dead.up(topology);
      const corpse = await execa('sh', ['-c', 'echo $$']);
      await writeFile(join(labDir(dead.labId), 'owner.pid'), corpse.stdout.trim()); // a pid that has exited
      const report = await sweepStaleLabs();
      expect(report.swept).toContain(dead.labId);
      expect(report.live).toContain(live.labId);
      expect(await labNamespaces(dead.labId)).toEqual([]);
      expect(await labNamespaces(live.labId)).toHaveLength(4);
    } finally {
      await live.down();
      await dead.down();
    }
  });
});
