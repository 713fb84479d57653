/**
 * A Lab is a started Topology for one phase: the pod (app + Envoy sidecar behind Istio-shaped
 * interception), the lab DNS and the upstream hosts, plus the phase's timeline. Scenarios drive it
 * with the verbs below (switch DNS, inject faults, apply config live, run the app) and never see
 * which backend runs it. `await using lab = await Lab.start(...)` tears everything down, whatever
 * happens. Boot is in boot.ts, the end-of-phase evidence in collect.ts.
 */
import { cp, lstat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import type { HttpClientOptions } from '../clients/http-client.js';
import type { Outcome } from '../clients/outcome.js';
import type { RawRequest } from '../clients/raw-http.js';
import type { WebSocketChat } from '../clients/websocket-client.js';
import { ISTIO_DEFAULT_SHUTDOWN, shutDownSidecar } from './sidecar-shutdown.js';
import type { UpstreamCounts } from '../upstreams/http-upstream.js';
import { hostsOf, type ClustersView, type Stats } from '../envoy/admin.js';
import type { Envoy, XdsKind } from '../envoy/envoy.js';
import type { EnvoyBinary } from '../envoy/install.js';
import { EnvoyConfigError, LabRuntimeError, NotApplicableError } from '../errors.js';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { istioYamlPath } from '../istio/istio-variant.js';
import { ISTIOD_HOST, type IstiodHost } from '../istio/istiod-host.js';
import { pilotAgentBinary } from '../istio/pilot-agent.js';
import type { EvidenceData } from '../evidence/evidence.js';
import type { Fault, FaultContext } from '../faults/fault.js';
import type { Timeline } from '../timeline/timeline.js';
import { DNS_HOST, POD } from '../topology/topology.js';
import { delay, waitUntil } from '../util/time.js';
import type { AgentHandle } from './agent-handle.js';
import { StepClock } from './step-clock.js';
import { bootHosts, intercept, renderForLab, startIstiod, startPeerSidecar, startSidecar, type BootedHosts } from './boot.js';
import { collectEvidence } from './collect.js';
import type { LabOptions, LabSpec, LabTimings } from './lab-spec.js';
import { trackLab, untrackLab } from './live-labs.js';
import { Recorder } from './recorder.js';

/** The part of Envoy's /clusters?format=json the lab reads. */
/** --app-only: how long a wait on the lab client's records lasts when your app plays instead. */
const APP_ONLY_WAIT_MS = 3000;

export interface LabStartOptions extends LabOptions {
  envoy: EnvoyBinary;
  artifactsDir: string;
  log?: (line: string) => void;
  /** For the evidence file: which scenario and phase this lab plays. */
  scenario?: string;
  phase?: string;
}

export class Lab implements AsyncDisposable {
  private readonly recorder = new Recorder();
  readonly timeline = this.recorder.timeline;
  readonly timings: LabTimings = { topologyUpMs: 0, envoyReadyMs: 0, scriptedMs: 0, teardownMs: 0 };
  private readonly started: AgentHandle[] = [];
  private hosts!: BootedHosts;
  private readonly faults: Array<{ fault: Fault; host: string }> = [];
  private readonly snapshots: Record<string, string> = {};
  /** The sidecar; undefined until it starts (a deferred sidecar starts when the scenario says). */
  envoy?: Envoy;
  /** Another pod's own sidecar (lab.peerSidecar), when the phase runs one. */
  peerEnvoy?: Envoy;
  /** --istio: istiod on its own lab host, the sidecar's config source. */
  istiod?: IstiodHost;
  /**
   * Set when the phase asked for something this mode cannot do: the phase is N/A with this reason,
   * even if the scenario's own code caught the error (a phase that expects a push to fail does).
   */
  notApplicableReason?: string;
  private statsBefore: Stats | null = null;
  private disposing?: Promise<void>;
  /** backend.down(), once started. */
  private removal?: Promise<void>;
  private startedAt = Date.now();
  private readonly log: (line: string) => void;

  private constructor(
    readonly backend: Backend,
    readonly spec: LabSpec,
    private readonly o: LabStartOptions,
  ) {
    this.log = o.log ?? (() => {});
    trackLab(this);
  }

  static async start(backend: Backend, spec: LabSpec, o: LabStartOptions): Promise<Lab> {
    const lab = new Lab(backend, spec, o);
    o.narrator?.watch(lab.timeline);
    const t0 = (lab.startedAt = Date.now());
    const clock = new StepClock((lab.timings.steps ??= {}));
    const mark = (step: string) => clock.mark(step);
    try {
      lab.hosts = await bootHosts(backend, spec, lab.recorder, (h) => lab.ip(h), lab.started, mark);
      lab.timings.topologyUpMs = Date.now() - t0;
      // istio-init's order: the pod's iptables are in place before any container starts.
      await intercept(backend, spec, (h) => lab.ip(h));
      mark('intercept');
      // istiod is up before any sidecar asks it for config (a pod never starts before its control plane).
      if (spec.istio) lab.istiod = await startIstiod(backend, spec, o.envoy, o.log);
      if (spec.istio) mark('istiod');
      // The other pod is up with its sidecar before the pod's app calls it, or it calls the pod.
      if (spec.peerSidecar) lab.peerEnvoy = await startPeerSidecar(backend, spec, o.envoy, lab.started, lab.istiod);
      if (spec.peerSidecar) mark('peer');
      if (!spec.sidecar.deferStart) await lab.bootSidecar();
      if (!spec.sidecar.deferStart) mark('sidecar');
    } catch (err) {
      await lab.dispose();
      throw err;
    }
    return lab;
  }

  private async bootSidecar(): Promise<void> {
    const t1 = Date.now();
    const envoy = (this.envoy = await startSidecar(this.backend, this.spec, this.o.envoy, this.started, this.istiod));
    this.timings.envoyReadyMs = Date.now() - t1;
    this.statsBefore = await envoy.admin.stats().catch(() => null);
    const rejected = ['cluster_manager.cds.update_rejected', 'listener_manager.lds.update_rejected'].filter((n) => (this.statsBefore?.get(n) ?? 0) > 0);
    if (this.istiod && rejected.length) {
      throw new EnvoyConfigError(`Envoy ${this.o.envoy.version} rejected what istiod pushed (${rejected.join(', ')})`, { fix: `read ${envoy.logFile}: an Istio feature this Envoy lacks, or YAML Istio renders into something Envoy refuses`, evidence: await envoy.logTail() });
    }
  }

  /** The running sidecar, or a clear error for a scenario that uses it before starting it. */
  sidecar(): Envoy {
    if (!this.envoy) throw new LabRuntimeError('the sidecar has not started yet', { fix: 'call `await lab.startSidecar()` before using Envoy in a phase with `deferSidecar: true`' });
    return this.envoy;
  }

  get artifactsDir(): string {
    return this.o.artifactsDir;
  }

  /** The lab CA and site certificates (when the lab has TLS sites): the app trusts ca.crt. */
  get certDir(): string {
    return this.hosts.certDir;
  }

  ip(host: string): string {
    const spec = [POD, DNS_HOST, ...this.spec.upstreams, ...(this.spec.istio ? [ISTIOD_HOST] : [])].find((h) => h.name === host);
    if (!spec) throw new LabRuntimeError(`no host "${host}" in this lab`, { fix: `hosts: ${[POD, DNS_HOST, ...this.spec.upstreams].map((h) => h.name).join(', ')}` });
    return this.backend.plan.ip(spec);
  }

  /** The lab agent of a host: the app's in the pod, the DNS server's, an upstream's or a caller's. */
  private agentOf(host: string): AgentHandle {
    const a = host === POD.name ? this.hosts.app : host === DNS_HOST.name ? this.hosts.dns : this.hosts.upstreams.get(host);
    if (!a) throw new LabRuntimeError(`no lab agent on "${host}"`, { fix: `agents run on: pod, dns, ${[...this.hosts.upstreams.keys()].join(', ')} (redis hosts run a real redis-server)` });
    return a;
  }

  private faultContext(host: string): FaultContext {
    return {
      host,
      ip: this.ip(host),
      exec: (argv) => this.backend.exec(host, argv),
      instrument: (cmd, args) => this.agentOf(host).call(cmd, args),
    };
  }

  // ---- what a scenario does -------------------------------------------------------------

  /** Points a DNS name at an upstream host, as the seed's operator did with the record. */
  async switchDns(name: string, host: string): Promise<void> {
    await this.narrate(`DNS: point ${name} at ${host} (${this.ip(host)})`, { why: 'the record changes, as the operator changed it', pause: true });
    await this.hosts.dns.call('dns.set', { name, ips: [this.ip(host)] });
    this.timeline.mark('dns', `DNS ${name} → ${host} (${this.ip(host)})`);
    this.log(`DNS: ${name} now resolves to ${host} (${this.ip(host)})`);
  }

  /** Applies a fault to one of the lab's hosts; its evidence is read back at the end of the phase. */
  async inject(fault: Fault, host: string): Promise<void> {
    await this.narrate(`fault: ${fault.type} on ${host} (${this.ip(host)})`, { why: fault.describe, pause: true });
    if (this.o.omitFaults) {
      this.timeline.mark('fault', `${fault.type} ${host}: LEFT OUT (omitFaults)`);
      this.log(`fault: ${fault.type} on ${host} left out on purpose`);
      return;
    }
    await fault.apply(this.faultContext(host));
    this.faults.push({ fault, host });
    this.timeline.mark('fault', `${fault.type} ${host} (${this.ip(host)}): ${fault.describe}`);
    this.log(`fault: ${fault.type} on ${host} (${this.ip(host)}): ${fault.describe}`);
  }

  /** Applies another config variant live (CDS, RDS, then LDS), like istiod pushing a fix. */
  async applyConfig(configPath: string, label: string): Promise<void> {
    if (this.istiod) return this.applyIstioConfig(configPath, label);
    await this.narrate(`config pushed live: ${label}`, { why: 'as istiod pushes a change: CDS, then RDS, then LDS, to the running Envoy', pause: true });
    this.timeline.mark('push', label);
    await this.sidecar().apply(await renderForLab(this.backend, this.spec, this.o.envoy.version, configPath));
    this.timeline.mark('config', label);
    this.log(`config: ${label} applied live`);
  }

  private notApplicable(reason: string): NotApplicableError {
    this.notApplicableReason ??= reason;
    return new NotApplicableError(reason);
  }

  /**
   * --istio: the variant's Istio YAML (envoy-configs/<id>/istio/<variant>.yaml) replaces the
   * objects in istiod's store; istiod pushes what it generates from them, and this returns when the
   * sidecar has accepted the clusters and listeners of that push.
   */
  private async applyIstioConfig(configPath: string, label: string): Promise<void> {
    const variant = basename(configPath).replace(/\.yaml$/, '');
    const source = istioYamlPath(this.spec.istio!.scenario, variant);
    if (!existsSync(source)) throw this.notApplicable(`--istio: the phase pushes ${variant}, which has no Istio YAML (envoy-configs/${this.spec.istio!.scenario}/istio/${variant}.yaml)`);
    if (existsSync(source.replace(/\.yaml$/, '.mesh.yaml'))) throw this.notApplicable(`--istio: the phase pushes ${variant}, a mesh setting (istio/${variant}.mesh.yaml): istiod reads its mesh config at start, so it is not pushed live`);
    await this.narrate(`Istio YAML applied: ${label}`, { why: 'as kubectl apply: istiod regenerates the config and pushes it to the running Envoy over ADS', pause: true });
    const accepted = async () => {
      const st = await this.sidecar().admin.stats();
      return { cds: st.get('cluster_manager.cds.update_success') ?? 0, lds: st.get('listener_manager.lds.update_success') ?? 0 };
    };
    this.timeline.mark('push', label);
    const before = await accepted();
    const t = Date.now();
    const what = await this.istiod!.apply(source);
    this.timeline.mark('config', label);
    // istiod pushes CDS, then LDS (with RDS and EDS), but only what the change concerns (measured:
    // an AuthorizationPolicy edit pushes LDS alone, and one scoped to another workload nothing to
    // this sidecar). Done once LDS is accepted and CDS too, or no CDS came 500 ms after the LDS;
    // nothing at all within 4 s is istiod's decision that this sidecar has nothing new, noted as such.
    let ldsAt: number | undefined;
    let pushed: { cds: number; lds: number } | undefined;
    try {
      await waitUntil(
        async () => {
          const now = await accepted();
          if (now.lds > before.lds) ldsAt ??= Date.now();
          pushed = now;
          return ldsAt !== undefined && (now.cds > before.cds || Date.now() - ldsAt >= 500);
        },
        { timeoutMs: 4000, what: `the sidecar to accept istiod's push of istio/${variant}.yaml (LDS, and CDS if it comes)` },
      );
    } catch (err) {
      if (ldsAt !== undefined || (pushed && pushed.cds > before.cds)) throw err;
      this.note('istiod push', 'none to this sidecar within 4 s: istiod found nothing in it to change');
      this.log(`config: istio/${variant}.yaml applied (${what}); istiod pushed nothing to this sidecar`);
      return;
    }
    this.note('istiod push', `${pushed!.cds > before.cds ? 'CDS and LDS' : 'LDS only'}, accepted in ${Date.now() - t} ms`);
    this.note('istiod push accepted ms', String(Date.now() - t));
    this.log(`config: istio/${variant}.yaml applied (${what}); istiod's push accepted`);
  }

  /**
   * EDS: the service's endpoints become exactly these lab hosts, as when a pod of a rolling update
   * goes or comes and the control plane pushes the new set: written to the EDS file of each of
   * the service's `outbound|<port>||<service>` clusters, or under --istio by changing its
   * ServiceEntry so that istiod pushes. Returns when Envoy's /clusters shows the new set. Marks
   * `push` when the new set is sent and `eds` when Envoy has it (both labelled
   * "EDS <service> → [<hosts>]"): a call between the two may have seen either set.
   */
  async pushEndpoints(service: string, hosts: string[]): Promise<void> {
    const sidecar = this.sidecar();
    const all = ((JSON.parse(await sidecar.admin.clusters()) as ClustersView).cluster_statuses ?? []).map((c) => c.name);
    const clusters = all.map((name) => ({ name, port: /^outbound\|(\d+)\|\|(.+)$/.exec(name) })).filter((c) => c.port?.[2] === service);
    if (clusters.length === 0) throw new EnvoyConfigError(`the sidecar has no cluster outbound|<port>||${service} whose endpoints could change`, { fix: `name a service the sidecar has a cluster for; its clusters: ${all.join(', ')}` });
    const names = hosts.map((h) => `${h} (${this.ip(h)})`).join(', ') || 'none';
    await this.narrate(`EDS: ${service} now has endpoints ${names}`, { why: 'the control plane pushes the new endpoint set, as after a pod of a rolling update went or came', pause: true });
    const t = Date.now();
    this.timeline.mark('push', `EDS ${service} → [${names}]`);
    if (this.istiod) {
      await this.istiod.setEndpoints(service, hosts.map((h) => this.ip(h)));
      const want = (port: string) => hosts.map((h) => `${this.ip(h)}:${port}`).sort().join(' ');
      await waitUntil(async () => {
        for (const c of clusters) if ((await sidecar.admin.clusterHosts(c.name)).sort().join(' ') !== want(c.port![1]!)) return false;
        return true;
      }, { timeoutMs: 5000, what: `istiod's EDS push for ${service} to reach the sidecar` });
    } else {
      for (const c of clusters) await sidecar.pushEndpoints(c.name, hosts.map((h) => `${this.ip(h)}:${c.port![1]}`));
    }
    // The marker is when Envoy has the new set (not when it was sent): calls after it see only these hosts.
    this.timeline.mark('eds', `EDS ${service} → [${names}]`);
    this.note('eds push accepted ms', String(Date.now() - t));
    this.log(`EDS: ${service} → [${names}], in /clusters after ${Date.now() - t} ms`);
  }

  /**
   * Pushes a config variant live one xDS part at a time, in `order`, `gapMs` apart: a control
   * plane that pushes out of order, or slowly. Marks each part as it is written (`cds`, `rds`,
   * `lds`) and notes how long Envoy took to accept it (`cds accepted ms`, ...).
   */
  async pushConfig(configPath: string, o: { order: readonly XdsKind[]; gapMs: number }): Promise<void> {
    if (this.istiod) throw this.notApplicable('--istio: istiod decides the order and timing of its pushes itself; a hand-ordered push is the file-based lab only');
    await this.narrate(`config pushed one xDS part at a time: ${o.order.join(' → ')}, ${o.gapMs} ms apart`, { why: 'a control plane that pushes out of order, or slowly', pause: true });
    const resources = await renderForLab(this.backend, this.spec, this.o.envoy.version, configPath);
    let n = 0;
    let pushedAt = 0;
    await this.sidecar().apply(resources, {
      order: o.order,
      pushing: async (kind) => {
        pushedAt = Date.now();
        this.timeline.mark(kind, `${kind.toUpperCase()} of ${configPath} pushed`);
      },
      accepted: async (kind) => {
        this.note(`${kind} accepted ms`, String(Date.now() - pushedAt));
        if (++n < o.order.length) await this.sleep(o.gapMs);
      },
    });
  }

  /**
   * Starts the sidecar of a lab whose spec defers it (`sidecar.deferStart`) and returns when
   * Envoy is LIVE (/ready 200, every listener up): what pilot-agent's `wait` does for
   * holdApplicationUntilProxyStarts. Sets a `sidecar` marker as Envoy starts, and notes
   * `sidecar ready ms` (how long after the marker it was LIVE).
   */
  async startSidecar(o: { holdApplication?: boolean } = {}): Promise<void> {
    if (this.envoy) throw new LabRuntimeError('the sidecar is already running', { fix: 'set sidecar.deferStart (phase `deferSidecar: true`) to start it from the scenario' });
    if (o.holdApplication && !this.istiod) throw this.notApplicable("holdApplicationUntilProxyStarts is pilot-agent's own hold (`pilot-agent wait`): it runs under --istio");
    await this.narrate('the sidecar (Envoy) starts now', { why: 'the scenario decides when the sidecar starts relative to the app', pause: true });
    this.timeline.mark('sidecar', 'Envoy starting');
    const booting = this.bootSidecar();
    if (o.holdApplication) await Promise.all([booting, this.holdUntilProxyStarts()]);
    else await booting;
    this.note('sidecar ready ms', String(this.timings.envoyReadyMs));
  }

  /**
   * holdApplicationUntilProxyStarts as Kubernetes runs it: the sidecar container's postStart hook,
   * `pilot-agent wait` (Istio's own, polling its readiness on :15020), must return before the app
   * container starts. Notes when it returned and what it said.
   */
  private async holdUntilProxyStarts(): Promise<void> {
    const bin = await pilotAgentBinary();
    if (!bin) throw this.notApplicable('no Go here to build pilot-agent, whose `pilot-agent wait` holds the app');
    const r = await this.backend.exec(POD.name, [bin, 'wait', '--timeoutSeconds', '20', '--periodMillis', '100']);
    this.timeline.mark('note', 'postStart hook: pilot-agent wait returned');
    this.note('pilot-agent wait', `exit ${r.exitCode}: ${`${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /ready|Waiting|timeout|error/i.test(l)).map((l) => l.replace(/^\S+\t\w+\t/, '')).join(' | ').slice(0, 300)}`);
    if (r.exitCode !== 0) throw new LabRuntimeError(`pilot-agent wait (the postStart hook) failed with exit ${r.exitCode}`, { fix: `read ${join(this.backend.workDir, "envoy", "envoy.log")} (pilot-agent's readiness lines)`, evidence: r.stderr.slice(-600) });
  }

  /** Starts the app's serial keep-alive HTTP client (src/clients/http-client.ts). */
  async startApp(o: HttpClientOptions): Promise<void> {
    return this.startHttpClient(POD.name, o);
  }

  /** The app's HTTP client on a host: the lab's, or the third-party program chosen with --client. */
  private async startHttpClient(host: string, o: HttpClientOptions): Promise<void> {
    const choice = this.o.httpClient;
    if (this.o.appOnly) {
      this.note('lab client left out', `--app-only: your command is the app (the lab would have called ${o.url})`, { quiet: true });
      return;
    }
    const thirdParty = choice?.impl === 'curl' || choice?.impl === 'go' ? choice : undefined;
    this.note('app started', `${thirdParty?.impl ?? 'the lab\'s client'} on ${host}`, { quiet: true });
    await this.narrate(`the app starts calling ${o.url}${o.everyMs ? ` every ${o.everyMs} ms` : ''}`, { why: 'one request at a time over a kept-alive connection, as the seed\'s client did', pause: true });
    await this.agentOf(host).call('client.start', { ...o, ...thirdParty });
  }

  /** Any other command of the app agent (redis client, raw TCP, TLS): see src/clients/. */
  async app<T = unknown>(cmd: string, args: unknown = {}, timeoutMs = 60_000): Promise<T> {
    const impl = this.o.httpClient?.impl;
    if ((cmd === 'tls.get' && impl === 'openssl') || (cmd === 'redis.connect' && impl === 'redis-cli')) {
      args = { ...(args as object), impl };
      this.note('app client', `${impl} makes this call`, { quiet: true });
    }
    return this.scripted(() => this.hosts.app.call<T>(cmd, args, timeoutMs));
  }

  /**
   * `count` copies of one request from the app at the same moment, each on its own connection
   * through the sidecar, each recorded on the timeline with its own outcome ("POST /pay 3/10"):
   * what a connection pool or circuit breaker sees when the app fans out.
   */
  async concurrent(count: number, r: RawRequest): Promise<Outcome[]> {
    await this.narrate(`the app sends ${count} × ${r.label} at once`, { pause: true });
    return this.app<Outcome[]>('http.burst', { count, request: r }, (r.timeoutMs ?? 3000) + 30_000);
  }

  /** One request from the app on a fresh connection, recorded with its outcome (src/clients/raw-http.ts). */
  async send(r: RawRequest): Promise<Outcome> {
    return this.app<Outcome>('http.send', r, (r.timeoutMs ?? 3000) + 30_000);
  }

  /**
   * SIGTERM reaches the pod's sidecar, which ends as the phase's `shutdown` says (Istio's default:
   * a 5 s drain): under --istio pilot-agent drains, waits and kills Envoy itself; hand-written, the
   * lab makes pilot-agent's admin calls in its order (src/lab/sidecar-shutdown.ts). Resolves when
   * Envoy is gone; the interception stays, as in a pod whose sidecar exited and whose app still runs.
   */
  async shutDownSidecar(): Promise<void> {
    const o = this.spec.sidecar.shutdown ?? ISTIO_DEFAULT_SHUTDOWN;
    await this.narrate(`SIGTERM: the sidecar drains (${o.exitOnZeroActive ? `until no connection is active, at least ${o.minimumDrainMs ?? 5000} ms` : `terminationDrainDuration ${o.terminationDrainMs} ms`}), then exits`, { why: "pilot-agent's order on SIGTERM: /drain_listeners?inboundonly&graceful, wait, terminate Envoy", pause: true });
    await this.scripted(() => shutDownSidecar(this.sidecar(), o, this.timeline, (what, detail) => this.note(what, detail), (ms) => delay(ms)));
  }

  /** The app opens a WebSocket and sends text frames, each waiting for its echo (src/clients/websocket-client.ts). */
  async websocket(c: WebSocketChat): Promise<Outcome> {
    await this.narrate(`the app opens ${c.url} and sends ${c.messages ?? 3} WebSocket frame(s)`, { pause: true });
    return this.app<Outcome>('ws.chat', c, (c.timeoutMs ?? 3000) + 30_000);
  }

  /** What an upstream HTTP host counted: requests and work per "METHOD /path", de-duplicated repeats, resets. */
  async upstreamCounts(host: string): Promise<UpstreamCounts> {
    const c = await this.agentOf(host).call<UpstreamCounts>('http.counts', {});
    this.note(`${host} counts`, JSON.stringify(c), { quiet: true });
    return c;
  }

  /**
   * A command of another host's agent, e.g. a caller outside the pod:
   * `lab.onHost('client', 'http.send', {...})` (src/clients/raw-http.ts), `'client.start'`.
   */
  async onHost<T = unknown>(host: string, cmd: string, args: unknown = {}, timeoutMs = 60_000): Promise<T> {
    if (cmd === 'client.start') return (await this.startHttpClient(host, args as HttpClientOptions)) as T;
    if (cmd === 'client.stop') this.note('app stopped', `the lab stops the client on ${host} (after its request in flight)`, { quiet: true });
    return this.scripted(() => this.agentOf(host).call<T>(cmd, args, timeoutMs));
  }

  /**
   * The scenario's own time, not lab overhead: its waits (sleep, waitFor) and its traffic (a call
   * that waits out a delayed close, a probe waiting for the peer's close). Overlapping ones
   * (traffic started without await during a sleep) count once.
   */
  private inFlight = 0;
  private inFlightSince = 0;
  private async scripted<T>(call: () => Promise<T>): Promise<T> {
    if (this.inFlight++ === 0) this.inFlightSince = Date.now();
    try {
      return await call();
    } finally {
      if (--this.inFlight === 0) this.timings.scriptedMs += Date.now() - this.inFlightSince;
    }
  }

  async stopApp(): Promise<void> {
    this.note('app stopped', 'the lab stops the app\'s client (after its request in flight)', { quiet: true });
    // The request in flight is the scenario's traffic: a 503 after a connect timeout takes its 1 s.
    await this.scripted(() => this.hosts.app.call('client.stop', {}, 60_000));
  }

  /**
   * The scenario telling its story: a sentence for the workshop (--narrate prints it, --step waits
   * for Enter after it); a note on the timeline otherwise.
   */
  async say(text: string): Promise<void> {
    this.timeline.add(Date.now(), { kind: 'event', source: 'scenario', what: 'story', detail: text });
    await this.narrate(text, { pause: true });
  }

  private async narrate(what: string, o?: { why?: string; pause?: boolean }): Promise<void> {
    await this.o.narrator?.before(what, o);
  }

  /** Records something the scenario measured (a server-side count, a kernel counter) on the timeline. */
  note(what: string, detail: string, o: { quiet?: boolean } = {}): void {
    this.timeline.add(Date.now(), { kind: 'event', source: 'lab', what, detail });
    if (!o.quiet) this.log(`${what}: ${detail}`); // quiet: a series sampled every cycle
  }

  /** An Envoy stat's current value, or "absent" (noted as such: a check reading it is UNKNOWN). */
  async envoyStat(name: string): Promise<string> {
    return String((await this.sidecar().admin.stat(name)) ?? 'absent');
  }

  /** Bytes Envoy's allocator holds right now (admin /memory): a sample for a memory series. */
  async envoyMemory(): Promise<number> {
    return this.sidecar().admin.memoryAllocated();
  }

  /** Packets that went through an iptables chain of a host (the sum of its rules' counters): proof a capture path was used. */
  async chainPackets(host: string, table: 'nat' | 'mangle' | 'filter', chain: string): Promise<number> {
    const r = await this.backend.exec(host, ['iptables', '-w', '-t', table, '-L', chain, '-n', '-v', '-x']);
    if (r.exitCode !== 0) return NaN;
    return r.stdout.split('\n').slice(2).filter(Boolean).reduce((n, l) => n + (Number(l.trim().split(/\s+/)[0]) || 0), 0);
  }

  /** A kernel network counter of a host (nstat, per namespace), e.g. TcpExtTCPKeepAlive. */
  async kernelCounter(host: string, name: string): Promise<number> {
    const r = await this.backend.exec(host, ['nstat', '-asz', name]);
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${name} `));
    return Number(line?.trim().split(/\s+/)[1] ?? NaN);
  }

  /**
   * Envoy's /clusters view of one cluster's hosts now: each host's address and health flags
   * (failed_outlier_check, failed_active_hc, …; "healthy" when none), noted under
   * `hosts <label>` for the checks (src/checks/host-health.ts) and printed.
   */
  async hostHealth(label: string, cluster: string): Promise<string[]> {
    const hosts = hostsOf(JSON.parse(await this.sidecar().admin.clusters()) as ClustersView, cluster);
    const lines = hosts.map((h) => {
      const flags = Object.entries(h.health_status ?? {}).filter(([k, v]) => v === true && k !== 'eds_health_status').map(([k]) => k);
      return `${h.address?.socket_address?.address}:${h.address?.socket_address?.port_value} ${flags.join(',') || 'healthy'}`;
    });
    this.note(`hosts ${label}`, JSON.stringify(lines));
    return lines;
  }

  /** A scripted wait: counted as the scenario's own time, not lab overhead. */
  async sleep(ms: number): Promise<void> {
    if (ms >= 1000) await this.narrate(`watch for ${(ms / 1000).toFixed(1)} s`);
    await this.scripted(() => delay(ms));
  }


  async waitFor(what: string, predicate: (t: Timeline) => boolean, timeoutMs: number): Promise<void> {
    await this.narrate(`wait for ${what}`);
    if (this.o.appOnly) {
      // The lab cannot see your app's requests: a wait on them gets a fixed time, said on the timeline.
      const givenMs = Math.min(timeoutMs, APP_ONLY_WAIT_MS);
      const met = await this.scripted(() => this.timeline.waitFor(what, predicate, givenMs)).then(() => true, () => false);
      if (!met) this.note('app-only wait', `"${what}": the lab cannot see your app's requests; gave it ${givenMs} ms`);
      return;
    }
    await this.scripted(() => this.timeline.waitFor(what, predicate, timeoutMs));
  }


  /**
   * `ss -tanpo` in the pod, or on another lab host (with timers: netstat -o, the seed's view of the
   * connections), saved as an artifact. With `until`,
   * re-reads the table for up to 1 s until a line matches (e.g. a dial in flight).
   */
  async snapshotConnections(label: string, until?: RegExp, host: string = POD.name): Promise<string> {
    const read = () => this.backend.exec(host, ['ss', '-tanpo']);
    // Waiting for a state (a dial in flight) is the scenario's own time, like waitFor: each `ss -p`
    // reads every process's sockets (20-50 ms), up to 20 reads.
    let r = await read();
    if (until && !until.test(r.stdout))
      await this.scripted(async () => {
        for (let i = 0; !until.test(r.stdout) && i < 20; i++) {
          await delay(50);
          r = await read();
        }
      });
    const file = join(this.artifactsDir, `ss-${label.replace(/[^a-z0-9]+/gi, '-')}.txt`);
    await mkdir(this.artifactsDir, { recursive: true });
    await writeFile(file, `# ${label} (${host}, t=${Date.now() - this.timeline.startedAt} ms)\n${r.stdout}\n`);
    if (r.exitCode === 0) this.snapshots[label] = r.stdout; // a failed `ss` is no table: missing evidence
    this.o.narrator?.show(`connections in ${host} (ss -tanpo), ${label}`, r.stdout);
    return r.stdout;
  }


  /** Stops Envoy, gathers the evidence and writes the artifacts. Call once, before dispose. */
  async collect(): Promise<EvidenceData> {
    return collectEvidence({
      scenario: this.o.scenario ?? '',
      phase: this.o.phase ?? '',
      envoy: this.envoy,
      envoyVersion: this.o.envoy.version,
      statsBefore: this.statsBefore,
      timeline: this.timeline,
      served: this.recorder.served,
      readFaults: () => Promise.all(this.faults.map(({ fault, host }) => fault.evidence(this.faultContext(host)))),
      ips: Object.fromEntries([POD, DNS_HOST, ...this.spec.upstreams].map((h) => [h.name, this.ip(h.name)])),
      snapshots: this.snapshots,
      artifactsDir: this.artifactsDir,
      peer: this.peerEnvoy && { host: this.spec.peerSidecar!.host, envoy: this.peerEnvoy },
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
    await this.envoy?.stop().catch(() => {});
    await this.peerEnvoy?.stop().catch(() => {});
    await this.istiod?.stop().catch(() => {});
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
