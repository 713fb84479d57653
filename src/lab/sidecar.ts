/**
 * The pod's sidecar as a scenario sees it (`lab.sidecar`): when it starts (with the lab, or later
 * when the scenario says), how it ends (SIGTERM and pilot-agent's drain), and what it reports
 * (a stat, its memory, its view of a cluster's hosts). Its config comes from the lab's control
 * plane; another pod's own sidecar (spec.peerSidecar) starts here too.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hostsOf, type ClustersView, type Stats } from '../envoy/admin.js';
import { Envoy } from '../envoy/envoy.js';
import type { EnvoyBinary } from '../envoy/install.js';
import { LabRuntimeError } from '../errors.js';
import { captureTraffic } from '../interception/capture.js';
import { POD } from '../topology/topology.js';
import { delay } from '../util/time.js';
import type { PhaseSources } from './collect.js';
import type { ControlPlane } from './control-plane/control-plane.js';
import type { LabContext } from './lab-context.js';
import { drainTimeS, type LabTimings } from './lab-spec.js';
import { ISTIO_DEFAULT_SHUTDOWN, shutDownSidecar } from './sidecar-shutdown.js';

export class Sidecar {
  /** The pod's Envoy; undefined until it starts (a deferred sidecar starts when the scenario says). */
  private running?: Envoy;
  /** Another pod's own sidecar, when the phase runs one. */
  peer?: Envoy;
  /** Envoy's counters right after it started: the evidence's baseline. */
  statsBefore: Stats | null = null;

  constructor(
    private readonly lab: LabContext,
    private readonly controlPlane: ControlPlane,
    private readonly timings: LabTimings,
  ) {}

  /** The Envoy release the sidecars run. */
  get binary(): EnvoyBinary {
    return this.lab.options.envoy;
  }

  /** The running sidecar, or a clear error for a scenario that uses it before starting it. */
  get envoy(): Envoy {
    if (!this.running) throw new LabRuntimeError('the sidecar has not started yet', { fix: 'call `await lab.sidecar.start()` before using Envoy in a phase with `deferSidecar: true`' });
    return this.running;
  }

  /** Envoy in the pod, fed by the control plane; resolves when it is LIVE with every listener up. */
  async boot(): Promise<void> {
    const { backend, spec } = this.lab;
    const t1 = Date.now();
    const dir = join(backend.workDir, 'envoy');
    await mkdir(dir, { recursive: true });
    this.running = await Envoy.start(backend, {
      binary: this.binary,
      host: POD.name,
      dir,
      ...(await this.controlPlane.feed(POD.name, dir)),
      drainTimeS: drainTimeS(spec),
      // TPROXY: transparent sockets need CAP_NET_ADMIN (Istio gives istio-proxy NET_ADMIN in that mode).
      capabilities: spec.sidecar.inbound === 'TPROXY' ? ['net_admin'] : [],
    });
    this.timings.envoyReadyMs = Date.now() - t1;
    this.statsBefore = await this.running.admin.stats().catch(() => null);
    await this.controlPlane.checkAccepted(this.running);
  }

  /**
   * Another pod's own sidecar: istio-init's rules on that host (inbound captured to 15006 in
   * REDIRECT mode, outbound to 15001), then its Envoy with that pod's workload identity.
   */
  async bootPeer(): Promise<void> {
    const { backend, spec } = this.lab;
    const host = spec.peerSidecar!.host;
    await captureTraffic(backend, host, { inbound: 'REDIRECT' });
    const dir = join(backend.workDir, `envoy-${host}`);
    await mkdir(dir, { recursive: true });
    this.peer = await Envoy.start(backend, { binary: this.binary, host, dir, ...(await this.controlPlane.feed(host, dir)) });
  }

  /**
   * Starts the sidecar of a lab whose spec defers it (`sidecar.deferStart`) and returns when
   * Envoy is LIVE (/ready 200, every listener up). `holdApplication`: what pilot-agent's `wait`
   * does for holdApplicationUntilProxyStarts. Sets a `sidecar` marker as Envoy starts, and notes
   * `sidecar ready ms` (how long after the marker it was LIVE).
   */
  async start(o: { holdApplication?: boolean } = {}): Promise<void> {
    if (this.running) throw new LabRuntimeError('the sidecar is already running', { fix: 'set sidecar.deferStart (phase `deferSidecar: true`) to start it from the scenario' });
    await this.lab.narrate('the sidecar (Envoy) starts now', { why: 'the scenario decides when the sidecar starts relative to the app', pause: true });
    this.lab.timeline.mark('sidecar', 'Envoy starting');
    const booting = this.boot();
    if (o.holdApplication) await Promise.all([booting, this.controlPlane.holdApplication()]);
    else await booting;
    this.lab.note('sidecar ready ms', String(this.timings.envoyReadyMs));
  }

  /**
   * SIGTERM reaches the pod's sidecar, which ends as the phase's `shutdown` says (Istio's default:
   * a 5 s drain): under --istio pilot-agent drains, waits and kills Envoy itself; hand-written, the
   * lab makes pilot-agent's admin calls in its order (src/lab/sidecar-shutdown.ts). Resolves when
   * Envoy is gone; the interception stays, as in a pod whose sidecar exited and whose app still runs.
   */
  async shutDown(): Promise<void> {
    const o = this.lab.spec.sidecar.shutdown ?? ISTIO_DEFAULT_SHUTDOWN;
    await this.lab.narrate(`SIGTERM: the sidecar drains (${o.exitOnZeroActive ? `until no connection is active, at least ${o.minimumDrainMs ?? 5000} ms` : `terminationDrainDuration ${o.terminationDrainMs} ms`}), then exits`, { why: "pilot-agent's order on SIGTERM: /drain_listeners?inboundonly&graceful, wait, terminate Envoy", pause: true });
    await this.lab.scripted(() => shutDownSidecar(this.envoy, o, this.lab.timeline, (what, detail) => this.lab.note(what, detail), (ms) => delay(ms)));
  }

  /** An Envoy stat's current value, or "absent" (noted as such: a check reading it is UNKNOWN). */
  async stat(name: string): Promise<string> {
    return String((await this.envoy.admin.stat(name)) ?? 'absent');
  }

  /** Bytes Envoy's allocator holds right now (admin /memory): a sample for a memory series. */
  async memory(): Promise<number> {
    return this.envoy.admin.memoryAllocated();
  }

  /**
   * Envoy's /clusters view of one cluster's hosts now: each host's address and health flags
   * (failed_outlier_check, failed_active_hc, failed_eds_health, …; "healthy" when none), noted under
   * `hosts <label>` for the checks (src/checks/host-health.ts) and printed.
   */
  async hostHealth(label: string, cluster: string): Promise<string[]> {
    const hosts = hostsOf(JSON.parse(await this.envoy.admin.clusters()) as ClustersView, cluster);
    const lines = hosts.map((h) => {
      const flags = Object.entries(h.health_status ?? {}).filter(([k, v]) => v === true && k !== 'eds_health_status').map(([k]) => k);
      // What EDS said of the host (its control plane's view, e.g. a pod not ready), in /clusters' text-form name.
      const eds = (h.health_status as { eds_health_status?: string } | undefined)?.eds_health_status;
      if (eds && eds !== 'HEALTHY') flags.push(eds === 'UNHEALTHY' ? 'failed_eds_health' : `eds_${eds.toLowerCase()}`);
      return `${h.address?.socket_address?.address}:${h.address?.socket_address?.port_value} ${flags.join(',') || 'healthy'}`;
    });
    this.lab.note(`hosts ${label}`, JSON.stringify(lines));
    return lines;
  }

  /** Both sidecars stopped (their logs stay). */
  async stop(): Promise<void> {
    await this.running?.stop().catch(() => {});
    await this.peer?.stop().catch(() => {});
  }

  /** What the evidence reads of the sidecars after the script. */
  evidenceSources(): Pick<PhaseSources, 'envoy' | 'statsBefore' | 'peer'> {
    return { envoy: this.running, statsBefore: this.statsBefore, peer: this.peer && { host: this.lab.spec.peerSidecar!.host, envoy: this.peer } };
  }

  /** The pod's Envoy if it ever started. */
  get ifStarted(): Envoy | undefined {
    return this.running;
  }
}
