// Long: one Envoy process's whole life in one place: its bootstrap, its start (directly or through
// pilot-agent), config pushes through its watched xDS files in any order, and its stop.
/**
 * A running Envoy sidecar in a lab host, as uid 1337 (the uid Istio's interception exempts),
 * with one worker (pools are per worker: determinism), short drain, and its config from watched
 * files so `apply()` can change it live, mid-incident, like a `kubectl apply`.
 */
import { chown, copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend, HostProcess } from '../backends/backend.js';
import { EnvoyConfigError, LabStartError } from '../errors.js';
import { PROXY_UID } from '../topology/topology.js';
import { waitUntil, settleWithin } from '../util/time.js';
import { EnvoyAdmin } from './admin.js';
import { adsBootstrapYaml, bootstrapYaml, edsDocument, xdsDocuments, xdsPaths, type AdsSource, type XdsPaths } from './bootstrap.js';
import { edsFile, sdsFile, sdsSecretNames, type EnvoyResources } from './config.js';
import YAML from 'yaml';
import type { EnvoyBinary } from './install.js';
import { readFile } from 'node:fs/promises';

/** One part of the configuration, pushed on its own: clusters, routes, listeners. */

/**
 * Envoy's log components the lab keeps at debug: the lines its checks read (pools, connections,
 * config pushes) and those that mark each incident's mechanism for triage (http: "Sending local
 * reply with details …"; client: the codec's errors on an upstream's response).
 */
export const DEBUG_COMPONENTS = ['upstream', 'router', 'pool', 'connection', 'config', 'lua', 'http', 'client'];

export type XdsKind = 'cds' | 'rds' | 'lds';
/** istiod's make-before-break order: a cluster exists before any route or listener points at it. */
export const ISTIO_PUSH_ORDER: readonly XdsKind[] = ['cds', 'rds', 'lds'];

export interface EnvoyStartOptions {
  binary: EnvoyBinary;
  host: string;
  /** Directory for bootstrap, xDS files, admin socket and logs (made writable by uid 1337). */
  dir: string;
  resources: EnvoyResources;
  drainTimeS?: number;
  /** Linux capabilities Envoy keeps as uid 1337 (e.g. net_admin for TPROXY's transparent sockets). */
  capabilities?: string[];
  /** --istio: the config comes from istiod over ADS (then `resources` is unused), with this many listeners to wait for. */
  ads?: AdsSource & { expectedListeners: number };
  /**
   * The workload identity this sidecar presents (its certificate and key) and the mesh's root CA:
   * served over SDS as `default` and `ROOTCA` when the config names those secrets.
   */
  identity?: { cert: string; key: string; ca: string };
  /**
   * --istio: Istio's pilot-agent starts and supervises Envoy (this argv and environment, from
   * src/istio/pilot-agent.ts); Envoy's admin is then reached through a relay at admin.sock.
   */
  agent?: { argv: string[]; env: Record<string, string> };
}

export class Envoy {
  readonly admin: EnvoyAdmin;
  private version = 1;
  /** What the files say now: an endpoint push changes one cluster's assignment in it. */
  private resources: EnvoyResources | undefined;
  private identity: EnvoyStartOptions['identity'];

  private constructor(
    readonly binary: EnvoyBinary,
    readonly dir: string,
    readonly logFile: string,
    readonly accessLogPath: string,
    private readonly xds: XdsPaths,
    private readonly process: HostProcess,
    /** Config from istiod over ADS: pushes come from istiod, not from files. */
    readonly viaAds = false,
    /** Started by pilot-agent: `process` is pilot-agent, Envoy its child. */
    readonly viaAgent = false,
  ) {
    this.admin = new EnvoyAdmin(join(dir, 'admin.sock'));
  }

  static accessLogPath(dir: string): string {
    return join(dir, 'access.jsonl');
  }

  static xdsPaths(dir: string): XdsPaths {
    return xdsPaths(join(dir, 'xds'));
  }

  static async start(backend: Backend, o: EnvoyStartOptions): Promise<Envoy> {
    const xds = Envoy.xdsPaths(o.dir);
    await mkdir(xds.dir, { recursive: true });
    const adminSocket = join(o.dir, 'admin.sock');
    if (o.agent) {
      // pilot-agent writes the bootstrap (etc/istio/proxy/envoy-rev.json) from Istio's template.
    } else if (o.ads) {
      await writeFile(join(o.dir, 'bootstrap.yaml'), adsBootstrapYaml({ adminSocket, ads: o.ads }));
    } else {
      await writeSecrets(xds.dir, o);
      await writeXds(xds, o.resources, 1);
      await writeFile(join(o.dir, 'bootstrap.yaml'), bootstrapYaml({ adminSocket, xds, runtime: o.resources.runtime }));
    }
    await chown(o.dir, PROXY_UID, PROXY_UID);
    await chown(xds.dir, PROXY_UID, PROXY_UID);
    const logFile = join(o.dir, 'envoy.log');
    const argv = [
      backend.envoyPath(o.binary), '-c', join(o.dir, 'bootstrap.yaml'),
      '--concurrency', '1',
      '--disable-hot-restart',
      '--drain-time-s', String(o.drainTimeS ?? 2),
      '--drain-strategy', 'immediate',
      '--file-flush-interval-msec', '100',
      '-l', 'info',
      '--component-log-level', DEBUG_COMPONENTS.map((c) => `${c}:debug`).join(','),
    ];
    const child = backend.spawn(o.host, o.agent?.argv ?? argv, { uid: PROXY_UID, gid: PROXY_UID, logFile, sidecar: true, capabilities: o.capabilities, env: o.agent?.env, ownShutdown: !!o.agent });
    const envoy = new Envoy(o.binary, o.dir, logFile, Envoy.accessLogPath(o.dir), xds, child, !!o.ads, !!o.agent);
    if (!o.ads) envoy.resources = o.resources;
    envoy.identity = o.identity;
    const expected = o.ads ? o.ads.expectedListeners : o.resources.listeners.length;
    let exited = false;
    void child.exited.then(() => (exited = true));
    try {
      await waitUntil(
        async () => {
          // A crash ends the wait at once (a LabError), with Envoy's own last words.
          if (exited || child.exitCode() !== null) {
            throw new LabStartError(`${o.agent ? 'pilot-agent' : `Envoy ${o.binary.version}`} exited during start-up (code ${child.exitCode() ?? '?'})`, { fix: `read ${logFile}`, evidence: await envoy.logTail() });
          }
          // Readiness from /ready and /listeners, not from stats: a stats-less Envoy must start too.
          return (await envoy.admin.ready()) && (await envoy.admin.listenerNames()).length >= expected;
        },
        { timeoutMs: 15_000, what: `Envoy to be LIVE with ${expected} listener(s)` },
      );
      // pilot-agent removes the bootstrap it wrote when it exits: the run keeps a copy.
      if (o.agent) await copyFile(join(o.dir, 'etc/istio/proxy/envoy-rev.json'), join(o.dir, 'bootstrap.json'));
    } catch (err) {
      child.kill('SIGKILL');
      if (err instanceof LabStartError) throw err;
      throw new LabStartError(`Envoy ${o.binary.version} did not start: ${(err as Error).message}`, { fix: `read ${logFile}`, evidence: await envoy.logTail(), cause: err });
    }
    return envoy;
  }

  /**
   * Pushes new resources live, one xDS part at a time in `order` (default: istiod's
   * make-before-break order, clusters before the routes and listeners that point at them), and
   * waits until Envoy has accepted each part before the next; `pushing` runs before each part is
   * written, `accepted` after Envoy took it.
   * A rejection is an error. Parts left out of `order` are not pushed.
   */
  async apply(resources: EnvoyResources, o: { order?: readonly XdsKind[]; pushing?: (kind: XdsKind) => Promise<void>; accepted?: (kind: XdsKind) => Promise<void> } = {}): Promise<void> {
    if (this.viaAds) throw new EnvoyConfigError('this sidecar gets its config from istiod over ADS: a change is pushed by istiod (Lab.applyConfig writes the Istio YAML), not written to files');
    if (JSON.stringify(resources.runtime ?? {}) !== JSON.stringify(this.resources?.runtime ?? {})) {
      throw new EnvoyConfigError(`the pushed variant's runtime values (${JSON.stringify(resources.runtime ?? {})}) differ from those Envoy started with (${JSON.stringify(this.resources?.runtime ?? {})})`, { fix: 'runtime values are bootstrap settings, read at start: give the phase that config from its start (config:), not as a push' });
    }
    const order = o.order ?? ISTIO_PUSH_ORDER;
    if (order.length === 0 || new Set(order).size !== order.length) throw new EnvoyConfigError(`an xDS push order names each of cds, rds, lds at most once: got [${order.join(', ')}]`);
    this.version += 1;
    const docs = xdsDocuments(resources, `v${this.version}`);
    this.resources = resources;
    for (const kind of order) {
      await o.pushing?.(kind);
      // A new cluster finds its endpoints waiting, as istiod sends EDS with (before) the CDS that needs it.
      if (kind === 'cds') {
        await writeSecrets(this.xds.dir, { resources, identity: this.identity });
        await writeEds(this.xds, resources, this.version);
      }
      await this.push(kind, docs[kind], resources.routes.length > 0);
      await o.accepted?.(kind);
    }
  }

  private async push(kind: XdsKind, doc: string, hasRoutes: boolean): Promise<void> {
    if (kind === 'rds') {
      // RDS has per-route-config counters: acceptance is the new version in /config_dump.
      await replaceFile(this.xds.rds, doc);
      if (!hasRoutes) return;
      await waitUntil(async () => (await this.admin.get('/config_dump?resource=dynamic_route_configs')).body.includes(`"v${this.version}"`), {
        timeoutMs: 5000,
        what: 'Envoy to accept the RDS update',
      });
      return;
    }
    const [counter, rejected] = kind === 'cds' ? ['cluster_manager.cds.update_success', 'cluster_manager.cds.update_rejected'] : ['listener_manager.lds.update_success', 'listener_manager.lds.update_rejected'];
    const before = await this.admin.stats();
    if (!before.has(counter)) {
      throw new EnvoyConfigError(`cannot tell whether Envoy accepted the live ${kind.toUpperCase()} update: it has no stat ${counter}`, { fix: 'run this phase with Envoy stats enabled (no stats_matcher reject_all)' });
    }
    await replaceFile(this.xds[kind], doc);
    await waitUntil(
      async () => {
        const now = await this.admin.stats();
        if ((now.get(rejected) ?? 0) > (before.get(rejected) ?? 0)) throw new EnvoyConfigError(`Envoy rejected the live ${kind.toUpperCase()} update`, { fix: `see ${this.logFile}`, evidence: await this.logTail() });
        return (now.get(counter) ?? 0) > (before.get(counter) ?? 0);
      },
      { timeoutMs: 5000, what: `Envoy to accept the ${kind.toUpperCase()} update` },
    );
  }

  /**
   * EDS: replaces one `type: EDS` cluster's endpoints live (["ip:port", …]) and returns when
   * /clusters shows exactly that host set, as istiod's push after the endpoints changed.
   */
  async pushEndpoints(cluster: string, hosts: string[]): Promise<void> {
    if (this.viaAds) throw new EnvoyConfigError('this sidecar gets its endpoints from istiod over ADS: istiod pushes them (Lab.pushEndpoints changes the ServiceEntry), not written to files');
    const assignment = this.resources?.endpoints?.find((a) => a.cluster_name === cluster);
    if (!assignment) throw new EnvoyConfigError(`cluster ${cluster} does not get its endpoints over EDS in this config`, { fix: `declare it "type: EDS" with its load_assignment in the config variant (the lab serves that over EDS); EDS clusters here: ${this.resources?.endpoints?.map((a) => a.cluster_name).join(', ') || 'none'}` });
    assignment.endpoints = [{ lb_endpoints: hosts.map((h) => ({ endpoint: { address: { socket_address: { address: h.replace(/:\d+$/, ''), port_value: Number(h.split(':').pop()) } } } })) }];
    this.version += 1;
    await replaceFile(edsFile(this.xds.dir, cluster), edsDocument(assignment, `v${this.version}`));
    const want = [...hosts].sort().join(' ');
    let seen: string[] = [];
    await waitUntil(async () => (seen = (await this.admin.clusterHosts(cluster)).sort()).join(' ') === want, { timeoutMs: 5000, what: `EDS of ${cluster}` }).catch(async () => {
      throw new EnvoyConfigError(`Envoy did not take the EDS update of ${cluster} within 5 s: /clusters shows [${seen.join(' ')}], expected [${want}]`, { fix: `see ${this.logFile}`, evidence: await this.logTail() });
    });
  }

  async logTail(lines = 30): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-lines - 1).join('\n');
  }

  /** SIGKILL, as pilot-agent ends Envoy after its drain (exec's Process.Kill): the last 100 ms of access log may be lost. */
  async kill(): Promise<void> {
    if (this.viaAgent) throw new EnvoyConfigError('this sidecar runs under pilot-agent: it ends Envoy itself (terminate() sends it SIGTERM)');
    if (this.process.exitCode() === null) {
      this.process.kill('SIGKILL');
      await settleWithin(this.process.exited, 3000);
    }
    await this.admin.close();
  }

  /**
   * The pod's end as Kubernetes does it: SIGTERM to pilot-agent, which drains Envoy
   * (terminationDrainDuration, or until no connection is active) and then kills it. Resolves when
   * pilot-agent has exited (or after `withinMs`).
   */
  async terminate(withinMs: number): Promise<boolean> {
    if (!this.viaAgent) throw new EnvoyConfigError("terminate() is pilot-agent's shutdown: this sidecar runs without pilot-agent");
    this.process.kill('SIGTERM');
    await settleWithin(this.process.exited, withinMs);
    return this.process.exitCode() !== null;
  }

  /** SIGTERM, so Envoy flushes its access log; SIGKILL if it lingers. Under pilot-agent: /quitquitquit, as pilot-agent's own endpoint does. */
  async stop(): Promise<void> {
    if (this.viaAgent && this.process.exitCode() === null) {
      await this.admin.post('/quitquitquit').catch(() => {});
      await settleWithin(this.process.exited, 3000);
    }
    if (this.process.exitCode() === null) {
      this.process.kill('SIGTERM');
      await settleWithin(this.process.exited, 3000);
      this.process.kill('SIGKILL');
    }
    await this.admin.close();
  }
}

async function writeXds(xds: XdsPaths, r: EnvoyResources, version: number): Promise<void> {
  const docs = xdsDocuments(r, `v${version}`);
  await writeEds(xds, r, version);
  await replaceFile(xds.cds, docs.cds);
  await replaceFile(xds.rds, docs.rds);
  await replaceFile(xds.lds, docs.lds);
}

/**
 * The secrets the config names, each in its SDS file, as pilot-agent serves them: `default` (the
 * workload's certificate and key) and `ROOTCA` (the mesh's root). The files are copied beside
 * Envoy, readable by its uid wherever it runs.
 */
async function writeSecrets(dir: string, o: Pick<EnvoyStartOptions, 'resources' | 'identity'>): Promise<void> {
  const names = sdsSecretNames(o.resources);
  if (names.length === 0) return;
  if (!o.identity) throw new EnvoyConfigError(`the config names SDS secret(s) ${names.join(', ')}, and this sidecar has no workload identity`, { fix: 'the lab gives the pod and a server sidecar their identities; name only `default` and `ROOTCA`' });
  const unknown = names.filter((n) => n !== 'default' && n !== 'ROOTCA');
  if (unknown.length) throw new EnvoyConfigError(`the config names SDS secret(s) ${unknown.join(', ')}: pilot-agent serves only "default" and "ROOTCA"`, { fix: 'name the workload certificate "default" and the root "ROOTCA"' });
  const certs = join(dir, 'certs');
  await mkdir(certs, { recursive: true });
  const copy = async (from: string, name: string) => {
    const to = join(certs, name);
    await copyFile(from, to);
    await chown(to, PROXY_UID, PROXY_UID);
    return to;
  };
  const [cert, key, ca] = await Promise.all([copy(o.identity.cert, 'cert-chain.pem'), copy(o.identity.key, 'key.pem'), copy(o.identity.ca, 'root-cert.pem')]);
  const secret = (name: string, body: object) => YAML.stringify({ version_info: 'v1', resources: [{ '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', name, ...body }] });
  if (names.includes('default')) await replaceFile(sdsFile(dir, 'default'), secret('default', { tls_certificate: { certificate_chain: { filename: cert }, private_key: { filename: key } } }));
  if (names.includes('ROOTCA')) await replaceFile(sdsFile(dir, 'ROOTCA'), secret('ROOTCA', { validation_context: { trusted_ca: { filename: ca } } }));
}

/** Each EDS cluster's endpoints in its own file (Envoy's EDS takes one assignment per update). */
async function writeEds(xds: XdsPaths, r: EnvoyResources, version: number): Promise<void> {
  for (const a of r.endpoints ?? []) await replaceFile(edsFile(xds.dir, a.cluster_name), edsDocument(a, `v${version}`));
}

/** Write + rename: Envoy's watched_directory reacts to moves, and never reads a half-written file. */
async function replaceFile(path: string, content: string): Promise<void> {
  await writeFile(`${path}.tmp`, content);
  await chown(`${path}.tmp`, PROXY_UID, PROXY_UID);
  await rename(`${path}.tmp`, path);
}
