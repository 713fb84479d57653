/**
 * Istio versions as the Go module proxy serves them: pseudo-versions
 * (v0.0.0-<yyyymmddhhmmss>-<commit>), since Istio's release tags are not Go semver. Their order is
 * the commit time.
 */

/** The commit time of a pseudo-version (yyyymmddhhmmss), or the version itself if it has none. */
const commitTime = (v: string) => /-(\d{14})-[0-9a-f]{12}$/.exec(v)?.[1] ?? v;

/** <0, 0, >0 as Istio `a` is older than, the same age as, or newer than `b`. */
export function compareIstioVersions(a: string, b: string): number {
  return commitTime(a).localeCompare(commitTime(b));
}
