/**
 * A user's project, made as a user makes it: the lab packed (`npm pack`, which builds dist/), then
 * `npm ci --offline` of that tarball with vitest and TypeScript into an empty folder holding
 * test/package/project (an incident of their own and its vitest file). Nothing comes from the
 * network: the project's lockfile is this repository's (every dependency at the version npm ci
 * put in npm's cache) plus the tarball, so npm needs no registry to resolve anything.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../../src/paths.js';

/** The environment of the user's own commands: none of this test run's vitest or lab overrides. */
export function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VITEST|LAB_RUNS_DIR$|NODE_OPTIONS$|TEST$)/.test(k)));
}

export async function scratchProject(): Promise<{ dir: string; tarball: string }> {
  const root = await mkdtemp(join(tmpdir(), 'efl-user-project-'));
  const packed = await execa('npm', ['pack', '--pack-destination', root, '--loglevel=error'], { cwd: REPO_ROOT, env: userEnv() });
  const tarball = join(root, packed.stdout.trim().split('\n').pop()!);
  const dir = join(root, 'project');
  await cp(join(REPO_ROOT, 'test/package/project'), dir, { recursive: true });
  const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8'));
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8'));
  const devDependencies = { 'envoy-fault-lab': `file:${tarball}`, vitest: pkg.devDependencies.vitest, typescript: pkg.devDependencies.typescript };
  const packages: Record<string, unknown> = { '': { name: 'our-mesh-incidents', devDependencies } };
  for (const [path, entry] of Object.entries(lock.packages as Record<string, object>)) if (path.startsWith('node_modules/')) packages[path] = { ...entry, dev: true };
  const integrity = `sha512-${createHash('sha512').update(await readFile(tarball)).digest('base64')}`;
  const { version, license, dependencies, bin, engines, peerDependencies, peerDependenciesMeta } = pkg;
  packages['node_modules/envoy-fault-lab'] = { version, resolved: `file:${tarball}`, integrity, dev: true, license, dependencies, bin, engines, peerDependencies, peerDependenciesMeta };
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'our-mesh-incidents', private: true, type: 'module', devDependencies }, null, 2));
  await writeFile(join(dir, 'package-lock.json'), JSON.stringify({ name: 'our-mesh-incidents', lockfileVersion: 3, requires: true, packages }, null, 2));
  await execa('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, env: userEnv() });
  return { dir, tarball };
}
