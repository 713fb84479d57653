/**
 * Processes the lab runs outside a lab host (Envoy's validator, lab/istiod rendering, `envoy
 * --version`) run in a network namespace of their own that holds loopback only. Their configs are
 * full of lab addresses (198.18.x, the lab DNS at .53) that mean nothing on this machine: in the
 * host's namespace a DNS cluster's lookup was routed out of the default route (measured: 13
 * queries for lab names left eth0 while 40 variants were validated). In here every such packet
 * fails at once with "network unreachable", and nothing is ever routed.
 *
 * `unshare --net` as root; `unshare --net --map-root-user` otherwise (unprivileged user
 * namespaces). Where neither works the lab refuses to run the process rather than run it open.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa, type Options, type Result } from 'execa';
import { PrerequisiteError } from '../errors.js';
import { RUN_ROOT } from '../paths.js';

/** Brings loopback up (istiod may listen on it), then becomes the command: same pid, same exit code. */
const INSIDE = 'ip link set lo up 2>/dev/null || true; exec "$@"';

let prefix: Promise<string[]> | undefined;

/** The unshare invocation that works on this machine, found once per process. */
export function offlinePrefix(): Promise<string[]> {
  prefix ??= (async () => {
    const tries = process.getuid?.() === 0 ? [['unshare', '--net']] : [['unshare', '--net', '--map-root-user'], ['unshare', '--net']];
    for (const t of tries) {
      // The proof that it is sealed: inside, the only interface is lo.
      const r = await execa(t[0]!, [...t.slice(1), '--', 'sh', '-c', "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"], { reject: false });
      if (r.exitCode === 0 && String(r.stdout).trim() === 'lo') return t;
    }
    throw new PrerequisiteError('the lab runs Envoy\'s validator and Istio\'s renderer in a network namespace with loopback only, and could not make one here', {
      fix: 'run as root (`sudo`), or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1); `unshare` comes with util-linux',
    });
  })();
  prefix.catch(() => (prefix = undefined));
  return prefix;
}

/** execa(file, args) in a loopback-only network namespace. */
export async function execaOffline(file: string, args: readonly string[], options: Options = {}): Promise<Result> {
  const [cmd, ...rest] = await offlinePrefix();
  return (await execa(cmd!, [...rest, '--', 'sh', '-c', INSIDE, 'offline', file, ...args], options)) as Result;
}

/**
 * An executable that runs `bin` the same way, for tools that want a program path rather than a
 * command line (puppeteer's executablePath: the report test's headless Chromium, which otherwise
 * asks Google's update and account servers for their addresses; measured: 32 DNS queries from
 * one report test). It speaks to its parent over inherited pipes, which a namespace keeps.
 */
export async function offlineExecutable(bin: string): Promise<string> {
  const [cmd, ...rest] = await offlinePrefix();
  const dir = join(RUN_ROOT, 'offline');
  await mkdir(dir, { recursive: true });
  const script = `#!/bin/sh\n# ${bin} in a network namespace with loopback only (src/backends/offline.ts)\nexec ${[cmd, ...rest].join(' ')} -- sh -c '${INSIDE}' offline ${bin} "$@"\n`;
  // Named by its content: every caller shares one copy, and it is never half written.
  const file = join(dir, `${basename(bin)}-${createHash('sha256').update(script).digest('hex').slice(0, 12)}`);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, script, { mode: 0o755 });
  await rename(tmp, file);
  return file;
}
