/** setpriv (util-linux): how every backend runs a process as another user inside a lab host. */

/** Drop to uid/gid, keeping `caps` as ambient capabilities (they survive the uid change and exec). */
export function setprivArgs(uid: number, gid: number, caps: string[] = []): string[] {
  const keep = caps.length ? [`--inh-caps=${caps.map((c) => `+${c}`).join(',')}`, `--ambient-caps=${caps.map((c) => `+${c}`).join(',')}`] : [];
  return ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...keep, '--'];
}
