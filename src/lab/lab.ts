/**
 * A Lab is a started Topology for one phase: the pod (app + Envoy sidecar behind Istio-shaped
 * interception), the lab DNS, the upstream hosts and the control plane, plus the phase's timeline.
 * This file is the core: bringing the lab up in order, the scenario's own time (sleep, waitFor,
 * say, note) and teardown. What a scenario does goes through one concern each:
 *   lab.sidecar  start, SIGTERM and drain, stats, host health   (sidecar.ts)
 *   lab.hosts    faults, DNS, kernel and server counters, sockets (hosts.ts)
 *   lab.app      the app in the pod and its clients               (app.ts)
 *   lab.caller() a caller on another host, calling into the pod   (caller.ts)
 *   lab.push     config, endpoints, xDS order, via the control plane (config-pushes.ts, control-plane/)
 * `await using lab = await Lab.start(...)` tears everything down, whatever happens.
 */
import { cp, lstat } from 'node:fs/promises';
import type { Backend } from '../backends/backend.js';
import type { EvidenceData } from '../evidence/evidence.js';
import { LabRuntimeError, NotApplicableError } from '../errors.js';
import type { Timeline } from '../timeline/timeline.js';
import { DNS_HOST, POD } from '../topology/topology.js';
import { delay } from '../util/time.js';
import type { AgentHandle } from './agent-handle.js';
import { App } from './app.js';
import { bootHosts, intercept, type BootedHosts } from './boot.js';
import { Caller } from './caller.js';
import { collectEvidence } from './collect.js';
import { ConfigPushes } from './config-pushes.js';
import { controlPlaneHosts, startControlPlane } from './control-plane/choose.js';
import type { ControlPlane } from './control-plane/control-plane.js';
import { Hosts } from './hosts.js';
import type { LabContext, LabStartOptions } from './lab-context.js';
import type { LabSpec, LabTimings } from './lab-spec.js';
import { trackLab, untrackLab } from './live-labs.js';
import { Recorder } from './recorder.js';
import { ScriptedTime } from './scripted-time.js';
import { Sidecar } from './sidecar.js';
import { StepClock } from './step-clock.js';

export type { LabStartOptions };

/** --app-only: how long a wait on the lab client's records lasts when your app plays instead. */
const APP_ONLY_WAIT_MS = 3000;

/** What a scenario's `run` sees: the typed verbs, never the backend or an agent's command names. */
export type ScenarioLab = Pick<Lab, 'timeline' | 'ip' | 'certDir' | 'artifactsDir' | 'sleep' | 'waitFor' | 'say' | 'note' | 'sidecar' | 'hosts' | 'app' | 'caller' | 'push'>;

export class Lab implements AsyncDisposable {
  private readonly recorder = new Recorder();
  readonly timeline = this.recorder.timeline;
  readonly timings: LabTimings = { topologyUpMs: 0, envoyReadyMs: 0, scriptedMs: 0, teardownMs: 0 };
  private readonly started: AgentHandle[] = [];
  private booted!: BootedHosts;
  private readonly time = new ScriptedTime(this.timings);
  private readonly context: LabContext;
  private controlPlane?: ControlPlane;
  readonly hosts: Hosts;
  readonly app: App;
  /** Set once the control plane is up (before any scenario code runs). */
  sidecar!: Sidecar;
  push!: ConfigPushes;
  /**
   * Set when the phase asked for something this mode cannot do: the phase is N/A with this reason,
   * even if the scenario's own code caught the error (a phase that expects a push to fail does).
   */
  notApplicableReason?: string;
  private disposing?: Promise<void>;
  /** backend.down(), once started. */
  private removal?: Promise<void>;
  private startedAt = Date.now();

  private constructor(
    readonly backend: Backend,
    readonly spec: LabSpec,
    private readonly o: LabStartOptions,
  ) {
    const log = o.log ?? (() => {});
    this.context = {
      backend, spec, options: o, timeline: this.timeline, started: this.started, log,
      ip: (h) => this.ip(h),
      agentOf: (h) => this.agentOf(h),
      sidecar: () => this.sidecar.envoy,
      note: (what, detail, n) => this.note(what, detail, n),
      narrate: async (what, n) => o.narrator?.before(what, n),
      scripted: (call) => this.time.run(call),
      sleep: (ms) => this.sleep(ms),
      notApplicable: (reason) => {
        this.notApplicableReason ??= reason;
        return new NotApplicableError(reason);
      },
    };
    this.hosts = new Hosts(this.context);
    this.app = new App(this.context);
    trackLab(this);
  }

  /** Up in a pod's order: hosts, istio-init's rules, the control plane, another pod's sidecar, then the pod's sidecar (unless deferred). */
  static async start(backend: Backend, spec: LabSpec, o: LabStartOptions): Promise<Lab> {
    const lab = new Lab(backend, spec, o);
    o.narrator?.watch(lab.timeline);
    const t0 = (lab.startedAt = Date.now());
    const clock = new StepClock((lab.timings.steps ??= {}));
    try {
      lab.booted = await bootHosts(backend, spec, lab.recorder, (h) => lab.ip(h), lab.started, (s) => clock.mark(s));
      lab.timings.topologyUpMs = Date.now() - t0;
      await intercept(backend, spec, (h) => lab.ip(h));
      clock.mark('intercept');
      // The control plane is up before any sidecar asks it for config (a pod never starts before its control plane).
      const controlPlane = (lab.controlPlane = await startControlPlane(lab.context));
      clock.mark('control plane');
      lab.sidecar = new Sidecar(lab.context, controlPlane, lab.timings);
      lab.push = new ConfigPushes(lab.context, controlPlane);
      // The other pod is up with its sidecar before the pod's app calls it, or it calls the pod.
      if (spec.peerSidecar) await lab.sidecar.bootPeer();
      if (spec.peerSidecar) clock.mark('peer');
      if (!spec.sidecar.deferStart) await lab.sidecar.boot();
      if (!spec.sidecar.deferStart) clock.mark('sidecar');
    } catch (err) {
      await lab.dispose();
      throw err;
    }
    return lab;
  }

  get artifactsDir(): string {
    return this.o.artifactsDir;
  }

  /** The lab CA and site certificates (when the lab has TLS sites): the app trusts ca.crt. */
  get certDir(): string {
    return this.booted.certDir;
  }

  ip(host: string): string {
    const all = [POD, DNS_HOST, ...this.spec.upstreams, ...controlPlaneHosts(this.spec)];
    const spec = all.find((h) => h.name === host);
    if (!spec) throw new LabRuntimeError(`no host "${host}" in this lab`, { fix: `hosts: ${all.map((h) => h.name).join(', ')}` });
    return this.backend.plan.ip(spec);
  }

  private agentOf(host: string): AgentHandle {
    const a = host === POD.name ? this.booted.app : host === DNS_HOST.name ? this.booted.dns : this.booted.upstreams.get(host);
    if (!a) throw new LabRuntimeError(`no lab agent on "${host}"`, { fix: `agents run on: pod, dns, ${[...this.booted.upstreams.keys()].join(', ')} (redis hosts run a real redis-server)` });
    return a;
  }

  /** A caller on another lab host (an upstream of kind `client`), calling into the pod. */
  caller(host: string): Caller {
    this.agentOf(host);
    return new Caller(this.context, host);
  }

  /** What --keep prints about the control plane: how to poke at it. */
  controlPlaneHints(): string[] {
    return this.controlPlane?.pokeHints() ?? [];
  }

  /** The scenario telling its story: a sentence for the workshop (--narrate prints it, --step waits for Enter after it); a note on the timeline otherwise. */
  async say(text: string): Promise<void> {
    this.timeline.add(Date.now(), { kind: 'event', source: 'scenario', what: 'story', detail: text });
    await this.o.narrator?.before(text, { pause: true });
  }

  /** Records something the scenario measured (a server-side count, a kernel counter) on the timeline. */
  note(what: string, detail: string, o: { quiet?: boolean } = {}): void {
    this.timeline.add(Date.now(), { kind: 'event', source: 'lab', what, detail });
    if (!o.quiet) this.o.log?.(`${what}: ${detail}`); // quiet: a series sampled every cycle
  }

  /** A scripted wait: counted as the scenario's own time, not lab overhead. */
  async sleep(ms: number): Promise<void> {
    if (ms >= 1000) await this.o.narrator?.before(`watch for ${(ms / 1000).toFixed(1)} s`);
    await this.time.run(() => delay(ms));
  }

  /** Waits until the timeline satisfies `predicate` (e.g. 10 calls served), or fails with `what` after `timeoutMs`. */
  async waitFor(what: string, predicate: (t: Timeline) => boolean, timeoutMs: number): Promise<void> {
    await this.o.narrator?.before(`wait for ${what}`);
    if (this.o.appOnly) {
      // The lab cannot see your app's requests: a wait on them gets a fixed time, said on the timeline.
      const givenMs = Math.min(timeoutMs, APP_ONLY_WAIT_MS);
      const met = await this.time.run(() => this.timeline.waitFor(what, predicate, givenMs)).then(() => true, () => false);
      if (!met) this.note('app-only wait', `"${what}": the lab cannot see your app's requests; gave it ${givenMs} ms`);
      return;
    }
    await this.time.run(() => this.timeline.waitFor(what, predicate, timeoutMs));
  }

  /** Stops Envoy, gathers the evidence and writes the artifacts. Call once, before dispose. */
  async collect(): Promise<EvidenceData> {
    return collectEvidence({
      scenario: this.o.scenario ?? '',
      phase: this.o.phase ?? '',
      envoy: this.sidecar?.ifStarted,
      envoyVersion: this.o.envoy.version,
      statsBefore: this.sidecar?.statsBefore ?? null,
      timeline: this.timeline,
      served: this.recorder.served,
      readFaults: () => this.hosts.faultEvidence(),
      ips: Object.fromEntries([POD, DNS_HOST, ...this.spec.upstreams].map((h) => [h.name, this.ip(h.name)])),
      snapshots: this.hosts.snapshots,
      artifactsDir: this.artifactsDir,
      peer: this.sidecar?.peer && { host: this.spec.peerSidecar!.host, envoy: this.sidecar.peer },
      labClientAbsent: this.o.appOnly ? "--app-only: the lab's own client did not run (your command was the app), so there are no request records of it" : undefined,
    });
  }

  /**
   * Stops every process, keeps the lab's files with the run and removes the lab. With
   * `teardownInBackground` the removal itself (namespaces, containers, networks: 0.1 s on netns,
   * 0.4-0.5 s on docker) is handed to the caller as a promise instead of awaited, so the next
   * phase need not wait for it; `gone()` still waits for it (Ctrl-C does).
   */
  dispose(o: { teardownInBackground?: (gone: Promise<void>) => void } = {}): Promise<void> {
    return (this.disposing ??= this.tearDown(o));
  }

  /** Resolves once every host, process and rule of the lab is gone, however it was disposed. */
  async gone(): Promise<void> {
    await this.dispose();
    await this.removal;
  }

  private async tearDown(o: { teardownInBackground?: (gone: Promise<void>) => void }): Promise<void> {
    const t = Date.now();
    for (const a of this.started) a.stop();
    await this.sidecar?.stop();
    await this.controlPlane?.stop().catch(() => {});
    // Keep what the lab wrote (configs, Envoy's log, access log, agent logs) with the run.
    await cp(this.backend.workDir, this.artifactsDir, {
      recursive: true,
      // Unix sockets (the admin relay's, pilot-agent's XDS and SDS sockets) cannot be copied: one would end the copy half-way.
      filter: async (src) => !src.endsWith('.tmp') && !src.endsWith('owner.pid') && !(await lstat(src).then((st) => st.isSocket() || st.isFIFO()).catch(() => true)),
    }).catch(() => {});
    // Before the processes go: what they used, for the scheduler's next plan.
    this.timings.cpuMs = await this.backend.cpuMs().catch(() => undefined);
    this.timings.lifetimeMs = Date.now() - this.startedAt;
    this.removal = this.backend.down().finally(() => untrackLab(this));
    if (o.teardownInBackground) o.teardownInBackground(this.removal);
    else await this.removal;
    this.timings.teardownMs = Date.now() - t;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
