// Long: the Backend interface for Docker in one place: the lab's network, one container per host
// (the pod's two), processes through each host's runner, and teardown by the lab's label.
/**
 * Realises a Topology with Docker containers (dockerode): one per host on a per-lab **internal**
 * network with fixed addresses from the lab's /24. The pod is two containers, as in Kubernetes:
 * the app container and a sidecar container joined to its network and PID namespaces
 * (`container:<app>`), which runs Envoy as uid 1337 from the efl/envoy image. Every container has
 * an init process (fast stops) and NET_ADMIN (interception in the pod, faults in the upstreams).
 * Each container's main process is a lab agent, the host's process runner (host-runner.ts): the
 * host's processes start through it, over the container's attached stdin/stdout, so the harness
 * never needs to reach a container's address; the sidecar's (no node in its image) start with
 * `docker exec`. The lab's run and cache directories and lab/ are
 * mounted at the same paths as on the host, so paths mean the same inside and out.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { PassThrough, type Duplex, type Writable } from 'node:stream';
import { basename, join } from 'node:path';
import Docker from 'dockerode';
import { LabRuntimeError, PrerequisiteError } from '../../errors.js';
import { CACHE_ROOT, LAB_DIR, RUN_ROOT } from '../../paths.js';
import { AddressPlan } from '../../topology/addresses.js';
import { POD, type Topology } from '../../topology/topology.js';
import type { Backend, ExecResult, HostProcess, SidecarBinary, SpawnOptions } from '../backend.js';
import { dockerCapability, type DockerCapability } from '../capabilities.js';
import { NAME_PREFIX, claimLab, releaseLab } from '../lab-registry.js';
import { setprivArgs } from '../setpriv.js';
import { connectDocker } from './connect.js';
import { envoyImage, nodeImage } from './images.js';
import { LAB_LABEL, removeDockerLab } from './reaper.js';
import { cpuMsOfCgroupOf } from '../cgroup-cpu.js';
import { agentEntry } from '../../agent/agent-bundle.js';
import { HostRunner } from './host-runner.js';
import { hostUpCommands, hubCommands, hubUpCommands, ipBatch, ipBatchInPid, untilForwarding, vethCommand } from '../hub-bridge.js';
import { removeNamespaces } from '../netns/reaper.js';
import { hasCommand, netnsCapability } from '../capabilities.js';

/**
 * Who wires a docker lab's hosts: the lab itself (veths into a hub namespace, as the netns
 * backend does) where it can make namespaces, else Docker (an internal network).
 * LAB_DOCKER_NETWORK=docker|lab chooses.
 */
export function dockerNetworkWiring(): 'lab' | 'docker' {
  const chosen = process.env.LAB_DOCKER_NETWORK;
  if (chosen === 'docker' || chosen === 'lab') return chosen;
  return netnsCapability().ok && hasCommand('nsenter') ? 'lab' : 'docker';
}

const capable = new Map<string, Promise<DockerCapability>>();

export class DockerBackend implements Backend {
  readonly kind = 'docker' as const;
  readonly plan: AddressPlan;
  readonly nodePath = '/usr/local/bin/node';
  private readonly containers = new Map<string, Docker.Container>();
  /** Each sidecar container's start, begun in up() and awaited by its first process. */
  private readonly sidecarStarts = new Map<string, Promise<void>>();
  private readonly runners = new Map<string, HostRunner>();
  private runnerArgv: string[] = [];
  private network?: Docker.Network;
  /** The lab's hub namespace, where the lab wires the containers itself. */
  private hub?: string;
  private downed = false;

  private constructor(
    readonly docker: Docker,
    readonly labId: string,
    readonly workDir: string,
    private readonly envoyVersion: string,
  ) {
    this.plan = new AddressPlan(labId);
  }

  static async create(envoy: SidecarBinary): Promise<DockerBackend> {
    // Asked once per process and Envoy version (a daemon ping and two image lookups): a daemon or
    // an image gone later still fails the lab's start, with Docker's own message.
    const capability = await (capable.get(envoy.version) ?? dockerCapability(envoy.version));
    if (capability.ok) capable.set(envoy.version, Promise.resolve(capability));
    if (!capability.ok) throw new PrerequisiteError(`the docker backend cannot run here: ${capability.why}`, { fix: capability.fix });
    const docker = await connectDocker();
    const { labId, dir } = await claimLab();
    return new DockerBackend(docker, labId, dir, envoy.version);
  }

  envoyPath(_binary: SidecarBinary): string {
    return '/usr/local/bin/envoy'; // from the efl/envoy:<version> image
  }

  pokePrefix(host: string, o: { asApp?: boolean } = {}): string {
    return `docker exec${o.asApp ? ' -u 1000' : ''} ${this.name(host)}`;
  }

  name(host: string): string {
    return `${NAME_PREFIX}-${this.labId}-${host}`;
  }

  private resolvFile(host: string): string {
    return join(this.workDir, `resolv-${host}.conf`);
  }

  /**
   * The lab's hosts as containers. Wired by the lab (the default where it can make namespaces:
   * root on Linux): each container starts with no network and gets one veth into the lab's hub
   * namespace, as a netns host does (hub-bridge.ts), so Docker sets up no network, no embedded DNS
   * and no iptables rules for it. Else on a per-lab Docker **internal** network (LAB_DOCKER_NETWORK=docker
   * forces it). Measured: a lab's four containers start in 0.4-0.55 s with no network, against
   * 1.0-1.2 s on their network, about 0.6 s of it the engine's per-container set-up, done one
   * after another, and two re-executions of dockerd per container (about 100 ms of CPU each).
   */
  async up(topology: Topology, o: { onHostUp?: (host: string) => void } = {}): Promise<void> {
    try {
      const labels = { [LAB_LABEL]: this.labId };
      const entry = agentEntry(); // built once per harness (esbuild), while the network is made
      entry.catch(() => {}); // awaited below
      const wiredByLab = dockerNetworkWiring() === 'lab';
      const hub = this.name('hub');
      if (wiredByLab) this.hub = hub; // before it exists, so a failure half-way removes it
      const hubReady = wiredByLab ? ipBatch(undefined, hubCommands(hub)).then(() => ipBatch(hub, hubUpCommands([]))) : this.dockerNetwork(labels);
      hubReady.catch(() => {}); // awaited below
      const binds = [`${RUN_ROOT}:${RUN_ROOT}`, `${CACHE_ROOT}:${CACHE_ROOT}:ro`, `${LAB_DIR}:${LAB_DIR}:ro`];
      this.runnerArgv = [this.nodePath, await entry];
      await mkdir(join(this.workDir, 'logs'), { recursive: true });
      await Promise.all(
        topology.hosts.map(async (host, i) => {
          // Mounted over /etc/resolv.conf, rewritten in place by setResolver (a rename would break the mount).
          await writeFile(this.resolvFile(host.name), 'nameserver 127.0.0.1\n');
          if (!wiredByLab) await hubReady; // the container is created on the network
          const c = await this.docker.createContainer({
            name: this.name(host.name),
            Hostname: host.name,
            Image: nodeImage(),
            // The process runner: it ends (and the container with it) when the harness closes its stdin.
            Cmd: this.runnerArgv,
            OpenStdin: true,
            AttachStdin: true,
            AttachStdout: true,
            AttachStderr: true,
            Labels: labels,
            HostConfig: {
              Init: true,
              // NET_ADMIN: interception (pod) and faults (upstreams). SYS_PTRACE: `ss -p` in the pod
              // may name the sidecar's and the app's sockets, as `ss -antp` did in the seed.
              CapAdd: host.role === 'pod' ? ['NET_ADMIN', 'SYS_PTRACE'] : ['NET_ADMIN'],
              NetworkMode: wiredByLab ? 'none' : this.name('net'),
              Binds: [...binds, `${this.resolvFile(host.name)}:/etc/resolv.conf`],
            },
            ...(wiredByLab ? {} : { NetworkingConfig: { EndpointsConfig: { [this.name('net')]: { IPAMConfig: { IPv4Address: this.plan.ip(host) } } } } }),
          });
          this.containers.set(host.name, c);
          await this.attachRunner(host.name, c, this.runnerLog(host.name));
          // The sidecar's container is created while the pod's starts (Docker takes
          // `container:<id>` of a created one), and starts as soon as the pod runs: its namespaces
          // exist only then. Its start (150-250 ms of the engine's work) is not waited for here:
          // the servers and the pod's interception go on meanwhile, and the sidecar's first
          // process waits for it (spawnInSidecar).
          const sidecar = host.role === 'pod' || host.sidecar ? this.createSidecar(host.name, c, labels, binds) : undefined;
          const wired = c.start().then(async () => {
            if (wiredByLab) await this.wire(c, hub, `v${i}`, this.plan.ip(host), hubReady);
            o.onHostUp?.(host.name);
          });
          await Promise.all([wired, sidecar]);
          if (sidecar) {
            const started = (await sidecar).start().then(() => undefined);
            started.catch(() => {}); // reported by the sidecar's first process (spawnInSidecar)
            this.sidecarStarts.set(this.sidecarKey(host.name), started);
          }
        }),
      );
      if (wiredByLab) await untilForwarding(hub, topology.hosts.length);
    } catch (err) {
      await this.down();
      throw err;
    }
  }

  /** Docker's own per-lab network. Internal: no gateway out of the lab, whatever the host's networking. */
  private async dockerNetwork(labels: Record<string, string>): Promise<void> {
    this.network = await this.docker.createNetwork({ Name: this.name('net'), Internal: true, Labels: labels, IPAM: { Config: [{ Subnet: this.plan.cidr }] } });
  }

  /** A started container's eth0: a veth from the lab's hub into its network namespace (found by its main process). */
  private async wire(c: Docker.Container, hub: string, veth: string, ip: string, hubReady: Promise<void>): Promise<void> {
    const pid = (await c.inspect()).State.Pid;
    if (!pid) throw new LabRuntimeError(`container ${c.id.slice(0, 12)} has no running process to wire into the lab's network`, { fix: 'see its runner log in the lab folder; docker ps -a --filter label=efl.lab shows why it stopped' });
    await hubReady;
    await ipBatch(undefined, [vethCommand(hub, veth, { pid })]);
    await Promise.all([ipBatch(hub, [`link set ${veth} master br0 up`]), ipBatchInPid(pid, hostUpCommands(ip))]);
  }

  /** Attached before the container starts, so not a line of the runner's output is missed. */
  private async attachRunner(host: string, c: Docker.Container, logFile: string): Promise<void> {
    const stream = (await c.attach({ stream: true, hijack: true, stdin: true, stdout: true, stderr: true })) as unknown as Duplex;
    const out = new PassThrough();
    this.docker.modem.demuxStream(stream, out, logSink(logFile));
    stream.on('end', () => out.end()).on('close', () => out.end()).on('error', () => out.end());
    this.runners.set(host, new HostRunner(host, stream, out, logFile));
  }

  private runnerLog(host: string): string {
    return join(this.workDir, 'logs', `runner-${host}.log`);
  }

  private runner(host: string): HostRunner {
    const r = this.runners.get(host);
    if (!r) throw new LabRuntimeError(`no host ${host} in lab ${this.labId}`, { fix: 'the host name must be one of the scenario\'s hosts (pod, dns, its upstreams)' });
    return r;
  }

  /** The container key of a host's sidecar: `sidecar` for the pod's, `sidecar-<host>` for a server pod's. */
  private sidecarKey(host: string): string {
    return host === POD.name ? 'sidecar' : `sidecar-${host}`;
  }

  /** istio-proxy beside the app: the pod's (or a server pod's) network and pid namespaces, the Envoy image. */
  private async createSidecar(host: string, pod: Docker.Container, labels: Record<string, string>, binds: string[]): Promise<Docker.Container> {
    const key = this.sidecarKey(host);
    const sidecar = await this.docker.createContainer({
      name: this.name(key),
      Image: envoyImage(this.envoyVersion),
      Entrypoint: ['sleep'],
      Cmd: ['infinity'],
      Labels: labels,
      // NET_ADMIN: what Istio gives istio-proxy for TPROXY (transparent sockets); unused otherwise.
      HostConfig: { Init: true, NetworkMode: `container:${pod.id}`, PidMode: `container:${pod.id}`, Binds: binds, CapAdd: ['NET_ADMIN'] },
    });
    this.containers.set(key, sidecar);
    return sidecar;
  }

  private container(host: string, sidecar?: boolean): Docker.Container {
    const c = this.containers.get(sidecar ? this.sidecarKey(host) : host);
    if (!c) throw new LabRuntimeError(`no container for ${sidecar ? `the sidecar of ${host}` : `host ${host}`} in lab ${this.labId}`, { fix: 'the host name must be one of the scenario\'s hosts (pod, dns, its upstreams)' });
    return c;
  }

  spawn(host: string, argv: string[], options: SpawnOptions = {}): HostProcess {
    if (options.sidecar) return this.spawnInSidecar(host, argv, options);
    const runner = this.runner(host);
    // A root agent on this host: the runner is one already (its log is the runner's).
    const agentAsRoot = options.pipes && options.uid === undefined && argv.join(' ') === this.runnerArgv.join(' ');
    const self = agentAsRoot ? runner.claimSelf() : undefined;
    if (self && options.logFile) void appendFile(options.logFile, `this agent is the container's main process, its process runner: its log is ${basename(this.runnerLog(host))}, in this folder\n`);
    return self ?? runner.spawn(argv, options);
  }

  /** `docker exec` in the sidecar's container (its image has Envoy, not node). */
  private spawnInSidecar(host: string, argv: string[], options: SpawnOptions): HostProcess {
    const stdout = options.pipes ? new PassThrough() : logSink(options.logFile);
    const stderr = logSink(options.logFile);
    let stdin: Writable | null = options.pipes ? new PassThrough() : null;
    let hostPid: number | undefined;
    let code: number | null = null;
    const container = this.container(host, options.sidecar);
    // Capabilities for a non-root process: docker exec cannot set ambient ones, setpriv (as root) can.
    const caps = options.capabilities ?? [];
    const cmd = caps.length && options.uid !== undefined ? [...setprivArgs(options.uid, options.gid ?? options.uid, caps), ...argv] : argv;
    const user = caps.length || options.uid === undefined ? 'root' : `${options.uid}:${options.gid ?? options.uid}`;
    const started = this.sidecarStarts.get(this.sidecarKey(host));
    const exited = (async () => {
      await started?.catch((err: Error) => {
        stderr.write(`the sidecar's container (${this.name(this.sidecarKey(host))}) did not start: ${err.message}\n`);
        throw new LabRuntimeError(`the sidecar's container of ${host} did not start`, { fix: 'see the Docker error in this log; docker info must answer and the efl/envoy image exist (npm run lab -- images)', evidence: err.message });
      });
      const exec = await container.exec({
        Cmd: cmd,
        User: user,
        Env: Object.entries({ HOME: '/tmp', ...options.env }).map(([k, v]) => `${k}=${v}`),
        AttachStdin: !!options.pipes,
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = await exec.start({ hijack: true, stdin: !!options.pipes });
      this.docker.modem.demuxStream(stream, stdout, stderr);
      if (stdin) (stdin as PassThrough).pipe(stream);
      // The exec's host pid (for kill); 0 until the process has started.
      for (let i = 0; i < 50 && !hostPid; i++) {
        hostPid = (await exec.inspect()).Pid || undefined;
        if (!hostPid) await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((resolve) => stream.on('end', resolve).on('close', resolve).on('error', resolve));
      code = (await exec.inspect().catch(() => ({ ExitCode: -1 }))).ExitCode ?? -1;
      stdout.end();
      return { exitCode: code };
    })();
    return {
      stdin,
      stdout: options.pipes ? (stdout as PassThrough) : null,
      exited: exited.catch((err) => ({ exitCode: -1, signal: String(err) })),
      exitCode: () => code,
      // docker exec has no kill; on Linux the exec'd process is a host pid like any other.
      kill: (signal = 'SIGTERM') => {
        if (hostPid && hostPid > 0 && code === null) {
          try {
            process.kill(hostPid, signal);
          } catch {
            /* already gone */
          }
        }
        stdin?.end();
        stdin = null;
      },
    };
  }

  exec(host: string, argv: string[], options: { uid?: number; input?: string } = {}): Promise<ExecResult> {
    return this.runner(host).exec(argv, options);
  }

  async setResolver(host: string, nameserver: string): Promise<void> {
    await writeFile(this.resolvFile(host), `nameserver ${nameserver}\noptions timeout:1 attempts:1\n`);
  }

  /**
   * --app-image: the user's own image as the app, a container joining the pod's network namespace
   * (so the pod's interception catches its traffic) with the lab DNS as its resolver, running
   * `argv` as uid:gid. Labelled with the lab, so teardown removes it with the rest.
   */
  spawnInImage(image: string, argv: string[], o: { uid: number; gid: number }): HostProcess {
    const stdout = new PassThrough();
    let code: number | null = null;
    const pod = this.container('pod');
    const created = (async () => {
      await this.docker.getImage(image).inspect().catch(() => {
        throw new PrerequisiteError(`--app-image ${image}: no such image on this Docker`, { fix: `build or load it first (docker build -t ${image} . / docker load -i image.tar): the lab pulls nothing` });
      });
      const c = await this.docker.createContainer({
        name: this.name('user-app'),
        Image: image,
        Entrypoint: [],
        Cmd: argv,
        User: `${o.uid}:${o.gid}`,
        Labels: { [LAB_LABEL]: this.labId },
        HostConfig: { Init: true, NetworkMode: `container:${pod.id}`, Binds: [`${this.resolvFile('pod')}:/etc/resolv.conf:ro`] },
      });
      const stream = await c.attach({ stream: true, stdout: true, stderr: true });
      this.docker.modem.demuxStream(stream, stdout, stdout);
      await c.start();
      return c;
    })();
    const exited = created.then(async (c) => {
      const r = (await c.wait()) as { StatusCode?: number };
      code = r.StatusCode ?? -1;
      stdout.end();
      return { exitCode: code };
    });
    return {
      stdin: null,
      stdout,
      exited: exited.catch((err) => {
        stdout.end(`${(err as Error).message}\n`);
        code = -1;
        return { exitCode: -1, signal: (err as Error).message };
      }),
      exitCode: () => code,
      kill: (signal = 'SIGTERM') => void created.then((c) => c.kill({ signal })).catch(() => {}),
    };
  }

  async cpuMs(): Promise<number | undefined> {
    // Each container has its cgroup; every process exec'd in it (agents, Envoy) is counted there.
    const each = await Promise.all(
      [...this.containers.values()].map(async (c) => {
        const pid = (await c.inspect().catch(() => undefined))?.State?.Pid;
        return pid ? cpuMsOfCgroupOf(pid) : undefined;
      }),
    );
    return each.some((ms) => ms === undefined) ? undefined : each.reduce<number>((s, ms) => s + ms!, 0);
  }

  async down(): Promise<void> {
    if (this.downed) return;
    this.downed = true;
    await Promise.allSettled(this.sidecarStarts.values()); // a start in flight would race the removal
    await removeDockerLab(this.docker, this.labId);
    if (this.hub) await removeNamespaces([this.hub]);
    await releaseLab(this.labId);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}

function logSink(file?: string): Writable {
  return file ? createWriteStream(file, { flags: 'a' }) : new PassThrough().resume();
}
