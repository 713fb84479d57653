// Ctrl-C in the middle of a phase tears the lab down: no namespace, process, rule or file is left.
import { execa } from 'execa';
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/paths.js';
import { labDir } from '../../src/topology/lab-registry.js';
import { listLabNamespaces } from '../../src/topology/netns-backend.js';

const root = process.getuid?.() === 0;

describe.skipIf(!root)('Ctrl-C during a phase', () => {
  it('exits 130 and leaves nothing behind', async () => {
    const child = execa('node', ['--import', 'tsx', 'src/cli/scenario.ts', 'sticky-503', '--phase', 'before'], { cwd: REPO_ROOT, reject: false, all: true });
    let output = '';
    let labId = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no fault after 30 s:\n${output}`)), 30_000);
      child.all!.on('data', (d: Buffer) => {
        output += d.toString();
        labId ||= /lab ([0-9a-f]{6}) up/.exec(output)?.[1] ?? '';
        if (labId && output.includes('fault: blackhole')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
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
