/**
 * The lab's base image without a registry: a Debian bookworm minbase root filesystem built from
 * Debian's packages (mmdebstrap, to stdout), imported into Docker (`docker import`). It carries
 * what the lab hosts need: iproute2 and iptables (interception, faults), procps, util-linux
 * (setpriv), the real upstream servers (redis-server, mariadb-server, memcached), openssl, curl and
 * dnsutils for hand-poking, ca-certificates. The host's own apt sources are the mirror: no host
 * name is typed here.
 */
import { existsSync } from 'node:fs';
import { execa } from 'execa';

const PACKAGES = ['iproute2', 'iptables', 'procps', 'util-linux', 'redis-server', 'mariadb-server', 'memcached', 'openssl', 'curl', 'ca-certificates', 'dnsutils'];
/** Left out of the image: nothing in a lab reads them. */
const EXCLUDED = ['/usr/share/man/*', '/usr/share/doc/*', '/usr/share/locale/*'];

/** mmdebstrap | docker import into `tag`: ok, or the output of the step that failed (for the caller to say). */
export async function buildBaseRootfs(tag: string): Promise<{ ok: boolean; output: string }> {
  const sources = existsSync('/etc/apt/sources.list.d/debian.sources') ? '/etc/apt/sources.list.d/debian.sources' : '/etc/apt/sources.list';
  const rootfs = execa('mmdebstrap', ['--variant=minbase', '--quiet', `--include=${PACKAGES.join(',')}`, ...EXCLUDED.map((p) => `--dpkgopt=path-exclude=${p}`), 'bookworm', '-', sources], {
    reject: false,
    // Its stdout is the root filesystem (a 500 MB tar stream, piped on): only its stderr is kept.
    buffer: { stdout: false, stderr: true },
  });
  const imported = await rootfs.pipe('docker', ['import', '-c', 'CMD ["/bin/bash"]', '-', tag], { reject: false, all: true });
  const built = await rootfs;
  // A root filesystem cut short must not pass as an image, whatever docker import made of it.
  if (built.exitCode !== 0 || built.failed) {
    // docker import may have tagged what it got of the stream: an image that must not pass as built.
    await execa('docker', ['rmi', '-f', tag], { reject: false });
    return { ok: false, output: `mmdebstrap: ${built.shortMessage ?? `exit ${built.exitCode}`}\n${built.stderr}` };
  }
  return { ok: imported.exitCode === 0, output: `docker import (exit ${imported.exitCode}): ${imported.all}` };
}
