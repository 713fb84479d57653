/**
 * A lab's switch: a hub namespace (`efl-<labId>-hub`) holding a bridge, and one veth per host
 * whose other end is the host's eth0 with its lab address and no default route. Both backends
 * wire their hosts this way (a netns host is a named namespace; a docker host is a container
 * started with no network, named by its pid), so a lab's packets can reach only its own hosts,
 * and nothing is created in the machine's own namespace.
 */
import { execa } from 'execa';
import { LabRuntimeError } from '../errors.js';

/** Where a host's eth0 goes: a named namespace, or a process's (a container's main process). */
export type HostNetns = { name: string } | { pid: number };

const nsArg = (ns: HostNetns) => ('name' in ns ? ns.name : String(ns.pid));

/**
 * The hub namespace and its bridge. The bridge first, so no hub port has the ifindex of its peer
 * (eth0, 2 in every host): the kernel takes a veth whose ifindex equals its peer's for a plain
 * device and delays its carrier-up (linkwatch) by up to a second, and the bridge port stays
 * disabled that long. Measured with the veths first: 750-950 ms in a third of the labs, and the
 * app's first DNS query lost (EAI_AGAIN).
 */
export function hubCommands(hub: string): string[] {
  return [`netns add ${hub}`, `link add br0 netns ${hub} type bridge`];
}

/** One host's veth pair, created directly inside the hub and the host: the root namespace never sees one. */
export const vethCommand = (hub: string, veth: string, host: HostNetns) => `link add ${veth} netns ${hub} type veth peer name eth0 netns ${nsArg(host)}`;

/** The hub's side up: its loopback, the bridge, and these ports on it. */
export const hubUpCommands = (veths: string[]) => ['link set lo up', 'link set br0 up', ...veths.map((v) => `link set ${v} master br0 up`)];

/** A host's side: loopback up (REDIRECT to 127.0.0.1 needs it), its address on eth0. No default route on purpose: only the lab's /24 is reachable. */
export const hostUpCommands = (ip: string) => ['link set lo up', `addr add ${ip}/24 dev eth0`, 'link set eth0 up'];

/** `ip [-n ns] -batch -`: the commands in order, in one process; the first that fails stops it. */
export async function ipBatch(ns: string | undefined, commands: string[]): Promise<void> {
  const r = await execa('ip', [...(ns ? ['-n', ns] : []), '-batch', '-'], { input: `${commands.join('\n')}\n`, reject: false });
  if (r.exitCode !== 0) throw new LabRuntimeError(`\`ip${ns ? ` -n ${ns}` : ''} -batch\` failed`, { evidence: `${r.stderr.trim()}\ncommands:\n${commands.join('\n')}`, fix: 'run `npm run lab -- clean` (a stale lab may hold the name), then `npm run lab -- doctor`' });
}

/** The same batch inside a process's network namespace (a container's, which has no name under /run/netns). */
export async function ipBatchInPid(pid: number, commands: string[]): Promise<void> {
  const r = await execa('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-batch', '-'], { input: `${commands.join('\n')}\n`, reject: false });
  if (r.exitCode !== 0) throw new LabRuntimeError(`\`ip -batch\` in the network namespace of pid ${pid} failed`, { evidence: `${r.stderr.trim()}\ncommands:\n${commands.join('\n')}`, fix: 'run `npm run lab -- clean`, then `npm run lab -- doctor`' });
}

/**
 * Waits until every host's port on the hub's bridge forwards: a port turns on when the kernel
 * has seen both ends of its veth up, a moment after the commands return (usually 5-40 ms).
 * Until then the first packets (an ARP, the app's first DNS query) are lost.
 */
export async function untilForwarding(hub: string, ports: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const r = await execa('bridge', ['-n', hub, 'link', 'show'], { reject: false });
    const forwarding = r.stdout.split('\n').filter((l) => / state forwarding /.test(l)).length;
    if (forwarding >= ports) return;
    if (Date.now() > deadline) throw new LabRuntimeError(`the lab's bridge did not forward on all ${ports} host ports within 5 s`, { evidence: r.stdout || r.stderr, fix: 'run `npm run lab -- doctor`; the kernel brings a bridge port up once both ends of its veth are up' });
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
