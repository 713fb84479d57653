/**
 * Realises a Topology with Linux network namespaces: a hub namespace holds the bridge, every
 * host is a namespace with one veth into it. Nothing is created in the host's own namespace:
 * no interface, route, iptables rule or resolv.conf of the machine is touched.
 * Processes start with `ip netns exec <ns> setpriv --reuid …`, so their pid is the real program's.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import { AddressPlan } from '../../topology/addresses.js';
import type { Topology } from '../../topology/topology.js';
import type { Backend, ExecResult, HostProcess, SidecarBinary, SpawnOptions } from '../backend.js';
import { assertNetnsCapable } from '../capabilities.js';
import { NAME_PREFIX, claimLab, releaseLab } from '../lab-registry.js';
import { LabCgroup } from '../cgroup-cpu.js';
import { setprivArgs } from '../setpriv.js';
import { removeNamespaces } from './reaper.js';
import { hostUpCommands, hubCommands, hubUpCommands, ipBatch, untilForwarding, vethCommand } from '../hub-bridge.js';

export class NetnsBackend implements Backend {
  readonly kind = 'netns' as const;
  readonly plan: AddressPlan;
  readonly nodePath = process.execPath;
  private readonly namespaces: string[] = [];
  private readonly processes = new Set<ResultPromise>();
  private downed = false;

  private constructor(
    readonly labId: string,
    readonly workDir: string,
    /** Every process of the lab, for its CPU (undefined where cgroups cannot be written). */
    private readonly cgroup: LabCgroup | undefined,
  ) {
    this.plan = new AddressPlan(labId);
  }

  static async create(): Promise<NetnsBackend> {
    assertNetnsCapable();
    const { labId, dir } = await claimLab();
    return new NetnsBackend(labId, dir, await LabCgroup.create(labId));
  }

  envoyPath(binary: SidecarBinary): string {
    return binary.bin;
  }

  pokePrefix(host: string, o: { asApp?: boolean } = {}): string {
    return `ip netns exec ${this.nsName(host)}${o.asApp ? ' setpriv --reuid=1000 --regid=1000 --clear-groups' : ''}`;
  }

  nsName(host: string): string {
    return `${NAME_PREFIX}-${this.labId}-${host}`;
  }

  /**
   * The lab's switch (hub-bridge.ts) with a named namespace per host, in two rounds of `ip -batch`
   * instead of one `ip` per step (34 processes one after another for a five-host lab): one for
   * every namespace and veth pair, then one per namespace, side by side, for its own links. A host
   * is up for processes once its own batch is done.
   */
  async up(topology: Topology, o: { onHostUp?: (host: string) => void } = {}): Promise<void> {
    const hub = this.nsName('hub');
    const hosts = topology.hosts.map((host, i) => ({ host, ns: this.nsName(host.name), veth: `v${i}` }));
    try {
      // Listed before they exist, so a failure half-way removes whichever were made.
      this.namespaces.push(hub, ...hosts.map((h) => h.ns));
      await ipBatch(undefined, [...hubCommands(hub), ...hosts.map((h) => `netns add ${h.ns}`), ...hosts.map((h) => vethCommand(hub, h.veth, { name: h.ns }))]);
      await Promise.all([
        ipBatch(hub, hubUpCommands(hosts.map((h) => h.veth))),
        ...hosts.map(async (h) => {
          await ipBatch(h.ns, hostUpCommands(this.plan.ip(h.host)));
          o.onHostUp?.(h.host.name);
        }),
      ]);
      await untilForwarding(hub, hosts.length);
    } catch (err) {
      await this.down();
      throw err;
    }
  }

  private prefix(host: string, uid?: number, gid?: number, caps: string[] = []): string[] {
    const base = ['netns', 'exec', this.nsName(host)];
    if (uid === undefined) return base;
    return [...base, ...setprivArgs(uid, gid ?? uid, caps)];
  }

  spawn(host: string, argv: string[], options: SpawnOptions = {}): HostProcess {
    const log = options.logFile ? ({ file: options.logFile, append: true } as const) : ('ignore' as const);
    const child = execa('ip', [...this.prefix(host, options.uid, options.gid, options.capabilities), ...argv], {
      env: { HOME: '/tmp', ...options.env },
      extendEnv: true,
      stdin: options.pipes ? 'pipe' : 'ignore',
      stdout: options.pipes ? 'pipe' : log,
      stderr: log,
      buffer: false,
      cleanup: true,
      forceKillAfterDelay: options.ownShutdown ? false : 2000,
      reject: false,
    });
    this.processes.add(child);
    void this.cgroup?.add(child.pid); // before it starts children of its own: they follow it
    const exited = child.then((r) => ({ exitCode: r.exitCode, signal: r.signal }));
    void exited.finally(() => this.processes.delete(child));
    return {
      stdin: child.stdin,
      stdout: child.stdout,
      exited,
      exitCode: () => child.exitCode,
      kill: (signal = 'SIGTERM') => void child.kill(signal),
    };
  }

  async exec(host: string, argv: string[], options: { uid?: number; input?: string } = {}): Promise<ExecResult> {
    const r = await execa('ip', [...this.prefix(host, options.uid), ...argv], {
      input: options.input,
      reject: false,
      env: { HOME: '/tmp' },
    });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1 };
  }

  async setResolver(host: string, nameserver: string): Promise<void> {
    // `ip netns exec` bind-mounts /etc/netns/<ns>/* over /etc/* for the processes it starts.
    const dir = `/etc/netns/${this.nsName(host)}`;
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/resolv.conf`, `nameserver ${nameserver}\noptions timeout:1 attempts:1\n`);
    await writeFile(`${dir}/hosts`, '127.0.0.1 localhost\n');
  }

  async cpuMs(): Promise<number | undefined> {
    return this.cgroup?.cpuMs();
  }

  async down(): Promise<void> {
    if (this.downed) return;
    this.downed = true;
    for (const p of this.processes) p.kill('SIGKILL');
    await removeNamespaces(this.namespaces);
    await this.cgroup?.remove();
    await releaseLab(this.labId);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}
