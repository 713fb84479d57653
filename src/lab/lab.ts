/**
 * A Lab is one phase's world, started: the pod (app + Envoy sidecar behind istio-init's rules), the
 * lab DNS, the upstream hosts, the control plane, and the phase's timeline. This core brings it up
 * in order, keeps the scenario's own time (sleep, waitFor, say, note) and tears it down; the rest:
 *   lab.sidecar  start, SIGTERM and drain, stats, host health   (sidecar.ts)
 *   lab.hosts    faults, DNS, kernel and server counters, sockets (hosts.ts)
 *   lab.app      the app in the pod and its clients               (app.ts)
 *   lab.caller() a caller on another host, calling into the pod   (caller.ts)
 *   lab.push     config, endpoints, xDS order, via the control plane (config-pushes.ts, control-plane/)
 * `await using lab = await Lab.start(...)` tears everything down, whatever happens.
 */
import type { Backend } from '../backends/backend.js';
import type { EvidenceData } from '../evidence/evidence.js';
import { NotApplicableError } from '../errors.js';
import type { Timeline } from '../timeline/timeline.js';
import { DNS_HOST, hostIp, POD } from '../topology/topology.js';
import { delay } from '../util/time.js';
import type { AgentHandle } from './agent-handle.js';
import { App } from './app.js';
import { agentOn, bootHosts, intercept, type BootedHosts } from './boot.js';
import { Caller } from './caller.js';
import { collectEvidence, keepLabFiles } from './collect.js';
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

/** --app-only: how long a wait on the lab client's records lasts when your app plays instead. */
const APP_ONLY_WAIT_MS = 3000;

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
  sidecar!: Sidecar; // these two are set once the control plane is up, before any scenario code runs
  push!: ConfigPushes;
  /** The phase asked for what this mode cannot do: N/A with this reason, even if the scenario caught the error. */
  notApplicableReason?: string;
  private disposing?: Promise<void>;
  private removal?: Promise<void>; // backend.down(), once started
  private startedAt = Date.now();
  readonly artifactsDir: string;

  private constructor(
    readonly backend: Backend,
    readonly spec: LabSpec,
    private readonly o: LabStartOptions,
  ) {
    this.artifactsDir = o.artifactsDir;
    // What the concerns share; an N/A is remembered even if the scenario catches its error.
    this.context = {
      backend, spec, options: o, timeline: this.timeline, started: this.started, log: o.log ?? (() => {}),
      ip: (h) => this.ip(h), agentOf: (h) => agentOn(this.booted, h), sidecar: () => this.sidecar.envoy,
      note: (what, detail, n) => this.note(what, detail, n), narrate: async (what, n) => o.narrator?.before(what, n),
      scripted: (call) => this.time.run(call), sleep: (ms) => this.sleep(ms),
      notApplicable: (reason) => ((this.notApplicableReason ??= reason), new NotApplicableError(reason)),
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

  /** The lab CA and site certificates (when the lab has TLS sites): the app trusts ca.crt. */
  get certDir(): string {
    return this.booted.certDir;
  }

  /** A lab host's address (pod, dns, an upstream, the control plane's host). */
  ip(host: string): string {
    return hostIp(this.backend.plan, [POD, DNS_HOST, ...this.spec.upstreams, ...controlPlaneHosts(this.spec)], host);
  }

  /** A caller on another lab host (an upstream of kind `client`), calling into the pod. */
  caller(host: string): Caller {
    agentOn(this.booted, host);
    return new Caller(this.context, host);
  }

  /** What --keep prints about the control plane: how to poke at it. */
  controlPlaneHints = (): string[] => this.controlPlane?.pokeHints() ?? [];

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

  /**
   * Waits until the timeline satisfies `predicate` (e.g. 10 calls served), or fails with `what` after
   * `timeoutMs`. --app-only: the lab cannot see your app's requests, so the wait gets a fixed time, said on the timeline.
   */
  async waitFor(what: string, predicate: (t: Timeline) => boolean, timeoutMs: number): Promise<void> {
    await this.o.narrator?.before(`wait for ${what}`);
    const givenMs = this.o.appOnly ? Math.min(timeoutMs, APP_ONLY_WAIT_MS) : timeoutMs;
    const waited = this.time.run(() => this.timeline.waitFor(what, predicate, givenMs));
    if (!this.o.appOnly) return waited;
    if (!(await waited.then(() => true, () => false))) this.note('app-only wait', `"${what}": the lab cannot see your app's requests; gave it ${givenMs} ms`);
  }

  /** Stops Envoy, gathers the evidence and writes the artifacts. Call once, before dispose. */
  async collect(): Promise<EvidenceData> {
    return collectEvidence({
      scenario: this.o.scenario ?? '',
      phase: this.o.phase ?? '',
      envoyVersion: this.o.envoy.version,
      artifactsDir: this.artifactsDir,
      timeline: this.timeline,
      served: this.recorder.served,
      ...(this.sidecar?.evidenceSources() ?? { envoy: undefined, statsBefore: null }),
      ...this.hosts.evidenceSources(),
      ips: Object.fromEntries([POD, DNS_HOST, ...this.spec.upstreams].map((h) => [h.name, this.ip(h.name)])),
      labClientAbsent: this.o.appOnly ? "--app-only: the lab's own client did not run (your command was the app), so there are no request records of it" : undefined,
    });
  }

  /**
   * Stops every process, keeps the lab's files with the run and removes the lab. `teardownInBackground`
   * gets the removal (0.1 s on netns, 0.4-0.5 s on docker) to await, so the next phase need not.
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
    await keepLabFiles(this.backend.workDir, this.artifactsDir);
    // Before the processes go: what they used, for the scheduler's next plan.
    this.timings.cpuMs = await this.backend.cpuMs().catch(() => undefined);
    this.timings.lifetimeMs = Date.now() - this.startedAt;
    this.removal = this.backend.down().finally(() => untrackLab(this));
    if (o.teardownInBackground) o.teardownInBackground(this.removal);
    else await this.removal;
    this.timings.teardownMs = Date.now() - t;
  }

  [Symbol.asyncDispose] = (): Promise<void> => this.dispose();
}
