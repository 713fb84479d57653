// Bad input gets one clear message with the fix and a non-zero exit; nothing is started.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/paths.js';

const run = (script: string, args: string[]) => execa('npx', ['tsx', `src/cli/${script}.ts`, ...args], { cwd: REPO_ROOT, reject: false });

describe('CLI input errors', () => {
  it('unknown scenario: exit 2, names the known ones', async () => {
    const r = await run('scenario', ['sticky-404']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown scenario "sticky-404"/);
    expect(r.stderr).toMatch(/choose one of: .*sticky-503/);
  });

  it('unknown flag: exit 2 and a pointer to --help', async () => {
    const r = await run('scenario', ['sticky-503', '--bogus']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--bogus'[\s\S]*--help/);
  });

  it('unknown phase: exit 2, lists the phases', async () => {
    const r = await run('scenario', ['sticky-503', '--phase', 'nope']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/has no phase "nope"[\s\S]*before, fix-dns-cluster/);
  });

  it('--istio on a scenario without Istio YAML: exit 2, names the scenarios that have it', async () => {
    const r = await run('scenario', ['header-case', '--istio']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/header-case has no Istio YAML[\s\S]*scenarios with Istio YAML: .*sticky-503/);
  });

  it('bad --repeat: exit 2', async () => {
    const r = await run('scenario', ['sticky-503', '--repeat', 'x']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--repeat[\s\S]*whole number from 1 to 50/);
  });

  it('a malformed --envoy: exit 2 before anything is downloaded', async () => {
    const r = await run('scenario', ['sticky-503', '--envoy', 'latest']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/"latest" is not an Envoy version/);
  });

  it('--phase is checked before --envoy, so a typo costs no download', async () => {
    const r = await run('scenario', ['sticky-503', '--phase', 'nope', '--envoy', '9.9.9']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/has no phase "nope"/);
    expect(r.stderr).not.toMatch(/9\.9\.9/);
  });

  it('an Envoy version PyPI does not have: exit 2, lists the installable ones', async () => {
    const r = await run('scenario', ['sticky-503', '--envoy', '1.0.99']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/Envoy 1\.0\.99 cannot be installed[\s\S]*choose one of: .*1\.40\.0/);
  });

  it('--list shows every scenario and its phases', async () => {
    const r = await run('scenario', ['--list']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/sticky-503[\s\S]*fix-dns-cluster[\s\S]*live-dns-cluster/);
  });

  it('lab: unknown command exits 2', async () => {
    const r = await run('lab', ['frobnicate']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
