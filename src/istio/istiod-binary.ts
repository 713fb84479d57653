/**
 * lab/istiod: Istio's real config generation and xDS server (its own Go module), built on first
 * use with the machine's Go toolchain from the Go module proxy and cached by source hash in the
 * lab cache, like Envoy. Cold build: module download (~1.5 GB) and 4-5 min of compiling on 2 cores.
 * Another Istio than the one go.mod pins is built from a copy of the module moved to that version
 * (`go get istio.io/istio@<version>`): the proxy serves Istio only as pseudo-versions (its release
 * tags are not Go semver), so a version is a pseudo-version or `latest`.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PrerequisiteError, UsageError } from '../errors.js';
import { CACHE_ROOT, LAB_DIR } from '../paths.js';
import { withTicker } from '../util/ticker.js';

const SOURCE = join(LAB_DIR, 'istiod');
const FILES = ['go.mod', 'go.sum', 'main.go'];
const CACHE = join(CACHE_ROOT, 'istiod');
import { GO_ENV } from '../go-tools/go-env.js';
export { GO_ENV };

/** The Istio version lab/istiod/go.mod pins (a pseudo-version: the proxy serves no release tags). */
export async function pinnedIstio(): Promise<string> {
  const mod = await readFile(join(SOURCE, 'go.mod'), 'utf8');
  return /istio\.io\/istio (\S+)/.exec(mod)?.[1] ?? 'unknown';
}

/** The newest Istio the Go module proxy serves (`go list -m istio.io/istio@latest`). */
export async function latestIstio(): Promise<string> {
  const r = await execa('go', ['list', '-m', '-f', '{{.Version}}', 'istio.io/istio@latest'], { cwd: SOURCE, reject: false, env: GO_ENV });
  if (r.exitCode !== 0) throw new PrerequisiteError('the Go module proxy did not say which Istio is newest', { fix: 'check that the Go module proxy is reachable (go env GOPROXY)', evidence: r.stderr.trim() });
  return r.stdout.trim();
}

/** The lab/istiod builds in the cache, with the Istio each was built from. */
export async function builtIstios(): Promise<Array<{ version: string; bin: string }>> {
  const names = await readdir(CACHE).catch(() => [] as string[]);
  const built = await Promise.all(
    names.filter((n) => n.endsWith('.version')).map(async (n) => ({ version: (await readFile(join(CACHE, n), 'utf8')).trim(), bin: join(CACHE, n.replace(/\.version$/, '')) })),
  );
  return built.filter((b) => existsSync(b.bin));
}

const building = new Map<string, Promise<string>>();

/** The lab/istiod binary for an Istio version (default: the one go.mod pins), built if needed. */
export async function istiodBinary(progress: (line: string) => void = () => {}, version?: string): Promise<string> {
  const pinned = await pinnedIstio();
  const want = !version || version === pinned ? pinned : version === 'latest' ? await latestIstio() : version;
  if (!/^v\d+\.\d+\.\d+(-[\w.-]+)?$/.test(want)) throw new UsageError(`"${version}" is not an Istio module version`, { fix: `a Go pseudo-version such as ${pinned}, or latest (npm run lab -- istio versions lists them)` });
  if (!building.has(want)) building.set(want, build(want, want === pinned, progress).finally(() => building.delete(want)));
  return building.get(want)!;
}

async function build(version: string, pinned: boolean, progress: (line: string) => void): Promise<string> {
  const source = (await Promise.all(FILES.map((f) => readFile(join(SOURCE, f), 'utf8')))).join('\0');
  const out = join(CACHE, `istiod-lab-${createHash('sha256').update(pinned ? source : `${source}\0${version}`).digest('hex').slice(0, 12)}`);
  if (existsSync(out)) {
    if (!existsSync(`${out}.version`)) await writeFile(`${out}.version`, `${version}\n`).catch(() => {});
    return out;
  }
  const go = await execa('go', ['version'], { reject: false });
  if (go.exitCode !== 0) throw new PrerequisiteError('Istio mode needs the Go toolchain to build lab/istiod', { fix: 'install Go ≥ 1.26 (or put go on PATH)', evidence: go.stderr || String(go.message) });
  progress(`building lab/istiod (Istio ${version}) with ${go.stdout.trim()}: first time only, a few minutes…`);
  await mkdir(CACHE, { recursive: true, mode: 0o755 });
  // Another Istio: a copy of the module, moved to that version (its dependencies follow).
  const dir = pinned ? SOURCE : join(CACHE, `src-${process.pid}-${version}`);
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    if (!pinned) {
      await mkdir(dir, { recursive: true });
      for (const f of FILES) await copyFile(join(SOURCE, f), join(dir, f));
      const get = await withTicker(`fetching Istio ${version}`, progress, () => execa('go', ['get', `istio.io/istio@${version}`], { cwd: dir, reject: false, all: true, env: GO_ENV }));
      if (get.exitCode !== 0) throw new UsageError(`the Go module proxy has no Istio ${version}, or it does not resolve`, { fix: 'npm run lab -- istio versions (the proxy serves pseudo-versions only; latest works)', evidence: String(get.all ?? '').split('\n').slice(-8).join('\n') });
    }
    const r = await withTicker('building lab/istiod', progress, () => execa('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, '.'], { cwd: dir, reject: false, all: true, env: GO_ENV }));
    if (r.exitCode !== 0) throw new PrerequisiteError(`go build of lab/istiod (Istio ${version}) failed`, { fix: pinned ? 'read the output: a module the proxy refuses, or too little memory (the build peaks near 3 GB)' : "read the output: this Istio's test harness (pilot/test/xds) may have changed its API", evidence: String(r.all ?? '').split('\n').slice(-15).join('\n') });
    await chmod(tmp, 0o755);
    await writeFile(`${out}.version`, `${version}\n`);
    await rename(tmp, out);
    await pruneSuperseded(out, version);
    return out;
  } finally {
    if (!pinned) await rm(dir, { recursive: true, force: true });
    await rm(tmp, { force: true });
  }
}

/** Earlier builds of the same Istio (from an older lab/istiod source) are superseded: one binary per Istio stays cached. */
async function pruneSuperseded(current: string, version: string): Promise<void> {
  for (const b of await builtIstios()) {
    if (b.bin !== current && b.version === version) await Promise.all([rm(b.bin, { force: true }), rm(`${b.bin}.version`, { force: true })]);
  }
}
