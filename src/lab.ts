/**
 * A Lab is a started Topology for one phase: the pod (app + Envoy sidecar behind Istio-shaped
 * interception), the lab DNS and the upstream hosts, plus the phase's timeline. Scenarios drive it
 * (switch DNS, inject faults, apply config live) and never see which backend runs it.
 * `await using lab = await Lab.start(...)` tears everything down, whatever happens.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentHandle } from './agent/agent-handle.js';
import type { FaultRecord, PhaseEvidence } from './checks/check.js';
import { statsDelta, type Stats } from './envoy/admin.js';
import { readAccessLog } from './envoy/access-log.js';
import { loadVariant, renderResources } from './envoy/config.js';
import { Envoy } from './envoy/envoy.js';
import type { EnvoyBinary } from './envoy/install.js';
import type { Fault } from './faults/fault.js';
import { LAB_DIR } from './paths.js';
import type { Timeline } from './timeline/timeline.js';
import { Recorder } from './timeline/recorder.js';
import type { AddressPlan } from './topology/addresses.js';
import type { Backend } from './topology/backend.js';
import { APP_UID, DNS_HOST, POD, PROXY_UID, podWithUpstreams } from './topology/topology.js';
import type { HttpClientOptions } from './traffic/http-client.js';
import type { HttpUpstreamOptions } from './upstreams/http-upstream.js';
import type { TlsUpstreamOptions } from './upstreams/tls-upstream.js';
import { startRedis } from './upstreams/redis-upstream.js';
import { ensureLabCerts } from './upstreams/lab-certs.js';
import { delay } from './util/time.js';

/** An upstream host and the server it runs: a fake HTTP app (default), a real redis, a TLS site. */
export type UpstreamSpec = { name: string; octet: number } & (
  | { kind?: 'http'; ports: number[]; http?: Omit<HttpUpstreamOptions, 'name' | 'ports'> }
  | { kind: 'redis'; port: number }
  | { kind: 'tls'; port: number; tls: Omit<TlsUpstreamOptions, 'name' | 'port' | 'certDir'> }
);

export interface LabSpec {
  upstreams: UpstreamSpec[];
  /** Initial DNS records: name → upstream host name. */
  dns: Record<string, string>;
  sidecar: {
    /** Path of the Envoy config variant. */
    config: string;
    /** Upstream hosts whose addresses bypass the sidecar (excludeOutboundIPRanges). */
    excludeOutbound?: string[];
  };
}

export interface LabTimings {
  topologyUpMs: number;
  envoyReadyMs: number;
  scriptedMs: number;
  teardownMs: number;
}

/** Values for ${NAME} placeholders in Envoy configs: DNS_IP, LAB_CIDR, UPSTREAM_<NAME>_IP. */
export function labVars(plan: AddressPlan, spec: { upstreams: Array<{ name: string; octet: number }> }): Record<string, string> {
  const vars: Record<string, string> = { DNS_IP: plan.ip(DNS_HOST), LAB_CIDR: plan.cidr };
  for (const u of spec.upstreams) vars[`UPSTREAM_${u.name.toUpperCase().replace(/-/g, '_')}_IP`] = plan.ip(u);
  return vars;
}

/** Labs still up in this process: Ctrl-C tears them all down. */
const liveLabs = new Set<Lab>();

export async function disposeAllLabs(): Promise<void> {
  await Promise.allSettled([...liveLabs].map((l) => l.dispose()));
}

export class Lab implements AsyncDisposable {
  private readonly recorder = new Recorder();
  readonly timeline = this.recorder.timeline;
  readonly timings: LabTimings = { topologyUpMs: 0, envoyReadyMs: 0, scriptedMs: 0, teardownMs: 0 };
  private readonly agents: AgentHandle[] = [];
  private readonly upstreams = new Map<string, AgentHandle>();
  private readonly faults: Array<{ fault: Fault; host: string }> = [];
  private readonly snapshots: Record<string, string> = {};
  private dnsAgent!: AgentHandle;
  private appAgent!: AgentHandle;
  envoy!: Envoy;
  private statsBefore: Stats = new Map();
  private disposed = false;

  private constructor(
    readonly backend: Backend,
    readonly spec: LabSpec,
    readonly artifactsDir: string,
    private readonly log: (line: string) => void,
  ) {
    liveLabs.add(this);
  }

  static async start(
    backend: Backend,
    spec: LabSpec,
    o: { envoy: EnvoyBinary; artifactsDir: string; log?: (line: string) => void },
  ): Promise<Lab> {
    const lab = new Lab(backend, spec, o.artifactsDir, o.log ?? (() => {}));
    try {
      await lab.boot(o.envoy);
    } catch (err) {
      await lab.dispose();
      throw err;
    }
    return lab;
  }

  private binary!: EnvoyBinary;
  /** The lab CA and site certificates (when the lab has TLS sites): the app trusts ca.crt. */
  certDir = '';

  private async boot(binary: EnvoyBinary): Promise<void> {
    this.binary = binary;
    const t0 = Date.now();
    const topology = podWithUpstreams(this.spec.upstreams);
    await this.backend.up(topology);
    await this.backend.setResolver(POD.name, this.ip(DNS_HOST.name));
    const logs = join(this.backend.workDir, 'logs');
    await mkdir(logs, { recursive: true });
    const startAgent = (host: string, role: string, uid?: number) =>
      AgentHandle.start(this.backend, host, role, { uid, logFile: join(logs, `${role}-${host}.log`) });
    const agentHosts = this.spec.upstreams.filter((u) => u.kind !== 'redis');
    const [dns, app, ...ups] = await Promise.all([
      startAgent(DNS_HOST.name, 'dns'),
      startAgent(POD.name, 'app', APP_UID),
      ...agentHosts.map((u) => startAgent(u.name, 'upstream')),
    ]);
    this.dnsAgent = dns!;
    this.appAgent = app!;
    this.agents.push(dns!, app!, ...ups);
    for (const agent of this.agents) agent.onEvent((e) => this.recorder.record(e));
    const records = Object.fromEntries(Object.entries(this.spec.dns).map(([name, host]) => [name, [this.ip(host)]]));
    const certDir = this.spec.upstreams.some((u) => u.kind === 'tls') ? await ensureLabCerts() : '';
    this.certDir = certDir;
    await Promise.all([
      dns!.call('dns.start', { port: 53, records }),
      ...this.spec.upstreams.map(async (u) => {
        this.recorder.served[u.name] = 0;
        if (u.kind === 'redis') return startRedis(this.backend, u.name, u.port, join(logs, `redis-${u.name}.log`));
        const agent = ups[agentHosts.indexOf(u)]!;
        this.upstreams.set(u.name, agent);
        if (u.kind === 'tls') return agent.call('tls.start', { name: u.name, port: u.port, certDir, ...u.tls });
        if (u.http?.resetIdleReuseAfterMs !== undefined) this.recorder.countFault(u.name, 'reset-idle-reuse', 0, `armed: RST on reuse after ${u.http.resetIdleReuseAfterMs} ms idle`);
        return agent.call('http.start', { name: u.name, ports: u.ports, ...u.http });
      }),
    ]);
    this.timings.topologyUpMs = Date.now() - t0;

    const t1 = Date.now();
    const envoyDir = join(this.backend.workDir, 'envoy');
    await mkdir(envoyDir, { recursive: true });
    this.envoy = await Envoy.start(this.backend, {
      binary,
      host: POD.name,
      dir: envoyDir,
      resources: await this.render(this.spec.sidecar.config),
    });
    this.timings.envoyReadyMs = Date.now() - t1;
    await this.intercept();
    this.statsBefore = await this.envoy.admin.stats();
  }

  /** Istio-shaped outbound interception in the pod (the same script every backend runs). */
  private async intercept(): Promise<void> {
    const args = [join(LAB_DIR, 'istio-iptables.sh'), '-p', '15001', '-u', String(PROXY_UID), '-g', String(PROXY_UID)];
    const excluded = (this.spec.sidecar.excludeOutbound ?? []).map((h) => `${this.ip(h)}/32`);
    if (excluded.length) args.push('-x', excluded.join(','));
    const r = await this.backend.exec(POD.name, ['sh', ...args]);
    if (r.exitCode !== 0) throw new Error(`interception setup failed in the pod: ${r.stderr.trim()}`);
  }

  async render(configPath: string) {
    return renderResources(await loadVariant(configPath), {
      vars: labVars(this.backend.plan, this.spec),
      envoyVersion: this.binary.version,
      accessLogPath: Envoy.accessLogPath(join(this.backend.workDir, 'envoy')),
      rdsPath: Envoy.xdsPaths(join(this.backend.workDir, 'envoy')).rds,
    });
  }

  ip(host: string): string {
    const spec = [POD, DNS_HOST, ...this.spec.upstreams].find((h) => h.name === host);
    if (!spec) throw new Error(`no host "${host}" in this lab`);
    return this.backend.plan.ip(spec);
  }

  upstream(name: string): AgentHandle {
    const u = this.upstreams.get(name);
    if (!u) throw new Error(`no upstream "${name}" in this lab`);
    return u;
  }

  // ---- what a scenario does -------------------------------------------------------------

  /** Points a DNS name at an upstream host, as the seed's operator did with the record. */
  async switchDns(name: string, host: string): Promise<void> {
    await this.dnsAgent.call('dns.set', { name, ips: [this.ip(host)] });
    this.timeline.mark('dns', `DNS ${name} → ${host} (${this.ip(host)})`);
    this.log(`DNS: ${name} now resolves to ${host} (${this.ip(host)})`);
  }

  async inject(fault: Fault, host: string): Promise<void> {
    await fault.apply(this, host);
    this.faults.push({ fault, host });
    this.timeline.mark('fault', `${fault.type} ${host} (${this.ip(host)}): ${fault.describe}`);
    this.log(`fault: ${fault.type} on ${host} (${this.ip(host)}): ${fault.describe}`);
  }

  /** Applies another config variant live (CDS, RDS, then LDS), like istiod pushing a fix. */
  async applyConfig(configPath: string, label: string): Promise<void> {
    await this.envoy.apply(await this.render(configPath));
    this.timeline.mark('config', label);
    this.log(`config: ${label} applied live`);
  }

  async startApp(o: HttpClientOptions): Promise<void> {
    await this.appAgent.call('client.start', o);
  }

  /** Any other command of the app agent (redis client, raw TCP, TLS): see src/traffic/. */
  async app<T = unknown>(cmd: string, args: unknown = {}, timeoutMs = 60_000): Promise<T> {
    return this.appAgent.call<T>(cmd, args, timeoutMs);
  }

  async stopApp(): Promise<void> {
    await this.appAgent.call('client.stop', {}, 60_000);
  }

  /** Records something the scenario measured (a server-side count, a kernel counter) on the timeline. */
  note(what: string, detail: string): void {
    this.timeline.add(Date.now(), { kind: 'event', source: 'lab', what, detail });
    this.log(`${what}: ${detail}`);
  }

  /** A kernel network counter of a host (nstat, per namespace), e.g. TcpExtTCPKeepAlive. */
  async kernelCounter(host: string, name: string): Promise<number> {
    const r = await this.backend.exec(host, ['nstat', '-asz', name]);
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${name} `));
    return Number(line?.trim().split(/\s+/)[1] ?? NaN);
  }

  /** A scripted wait: counted as the scenario's own time, not lab overhead. */
  async sleep(ms: number): Promise<void> {
    const t = Date.now();
    await delay(ms);
    this.timings.scriptedMs += Date.now() - t;
  }

  async waitFor(what: string, predicate: (t: Timeline) => boolean, timeoutMs: number): Promise<void> {
    const t = Date.now();
    try {
      await this.timeline.waitFor(what, predicate, timeoutMs);
    } finally {
      this.timings.scriptedMs += Date.now() - t;
    }
  }

  /**
   * `ss -tanp` in the pod, saved as an artifact (the seed's view of the connections). With `until`,
   * re-reads the table for up to 1 s until a line matches (e.g. a dial in flight).
   */
  async snapshotConnections(label: string, until?: RegExp): Promise<string> {
    let r = await this.backend.exec(POD.name, ['ss', '-tanp']);
    for (let i = 0; until && !until.test(r.stdout) && i < 20; i++) {
      await this.sleep(50);
      r = await this.backend.exec(POD.name, ['ss', '-tanp']);
    }
    const file = join(this.artifactsDir, `ss-${label.replace(/[^a-z0-9]+/gi, '-')}.txt`);
    await mkdir(this.artifactsDir, { recursive: true });
    await writeFile(file, `# ${label} (t=${Date.now() - this.timeline.startedAt} ms)\n${r.stdout}\n`);
    this.snapshots[label] = r.stdout;
    return r.stdout;
  }

  /** Stops traffic and Envoy, gathers the evidence and the artifacts. Call once, before dispose. */
  async collect(): Promise<PhaseEvidence> {
    const statsAfter = await this.envoy.admin.stats();
    await mkdir(this.artifactsDir, { recursive: true });
    const configDump = await this.envoy.admin.configDump();
    await writeFile(join(this.artifactsDir, 'config_dump.json'), configDump);
    await writeFile(join(this.artifactsDir, 'clusters.json'), await this.envoy.admin.clusters());
    await writeFile(join(this.artifactsDir, 'stats-before.json'), JSON.stringify(Object.fromEntries(this.statsBefore), null, 1));
    await writeFile(join(this.artifactsDir, 'stats-after.json'), JSON.stringify(Object.fromEntries(statsAfter), null, 1));
    const faults: FaultRecord[] = this.recorder.faults();
    for (const { fault, host } of this.faults) faults.push(await fault.evidence(this, host));
    await this.envoy.stop(); // flushes the access log
    const accessLog = await readAccessLog(this.envoy.accessLogPath);
    await writeFile(join(this.artifactsDir, 'timeline.jsonl'), this.timeline.entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const ips = Object.fromEntries([POD, DNS_HOST, ...this.spec.upstreams].map((h) => [h.name, this.ip(h.name)]));
    return {
      timeline: this.timeline,
      accessLog,
      stats: statsDelta(this.statsBefore, statsAfter),
      faults,
      served: { ...this.recorder.served },
      envoyVersion: this.envoy.binary.version,
      ips,
      snapshots: { ...this.snapshots },
      configDump,
    };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const t = Date.now();
    for (const a of this.agents) a.stop();
    await this.envoy?.stop().catch(() => {});
    // Keep what the lab wrote (configs, Envoy's log, access log, agent logs) with the run.
    await cp(this.backend.workDir, this.artifactsDir, {
      recursive: true,
      filter: (src) => !src.endsWith('.sock') && !src.endsWith('.tmp') && !src.endsWith('owner.pid'),
    }).catch(() => {});
    await this.backend.down();
    liveLabs.delete(this);
    this.timings.teardownMs = Date.now() - t;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
