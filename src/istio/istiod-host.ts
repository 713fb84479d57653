/**
 * --istio: istiod in the lab. lab/istiod runs on its own lab host ("istiod": a network namespace,
 * or its own container from the same binary on Docker) and serves ADS as istiod does; the sidecar
 * connects to it. Its config store is the scenario's Istio YAML, filled with this lab's addresses,
 * plus the lab's own objects (the access-log EnvoyFilter). A live fix is a new file: lab/istiod
 * applies the difference to its store and istiod pushes, as after a `kubectl apply`.
 */
import { copyFile, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import type { Backend, HostProcess } from '../backends/backend.js';
import { accessLogConfig } from '../envoy/access-log.js';
import { fillPlaceholders, HCM, TCP_PROXY } from '../envoy/config.js';
import { LabRuntimeError, LabStartError } from '../errors.js';
import type { HostSpec } from '../topology/topology.js';
import { waitUntil, settleWithin } from '../util/time.js';
import { istiodBinary } from './istiod-binary.js';
import { ISTIO_SETTINGS_FOR_UPSTREAM_ENVOY } from './render.js';

/** istiod's own lab host (octet 15: the pod is .10, the DNS .53, upstreams from .20). */
export const ISTIOD_HOST: HostSpec = { name: 'istiod', role: 'control', octet: 15 };
/** istiod's plaintext xDS port. */
export const ISTIOD_XDS_PORT = 15010;

/**
 * What a sidecar tells istiod about itself (pilot-agent's bootstrap node), so istiod renders for
 * its pod: the lab's pod is app (label app: app); another pod (world.peerSidecar) names itself.
 */
export function sidecarNode(podIp: string, app = 'app'): { id: string; cluster: string; metadata: Record<string, unknown> } {
  return {
    id: `sidecar~${podIp}~${app}.default~default.svc.cluster.local`,
    cluster: `${app}.default`,
    metadata: { NAMESPACE: 'default', ISTIO_VERSION: '1.28.0', LABELS: { app }, INTERCEPTION_MODE: 'REDIRECT', CLUSTER_ID: 'Kubernetes', INSTANCE_IPS: podIp },
  };
}

/**
 * The lab's instrument as an Istio object: its JSON access log on every HCM and tcp_proxy, put
 * there the way a user would, with an EnvoyFilter (MERGE appends to Istio's own access_log list);
 * `forApp`: for the workload with that app label only.
 */
export function accessLogEnvoyFilter(accessLogPath: string, envoyVersion: string, forApp?: string): string {
  const patch = (filter: string, type: string, kind: 'http' | 'tcp') => ({
    applyTo: 'NETWORK_FILTER',
    match: { context: 'ANY', listener: { filterChain: { filter: { name: filter } } } },
    patch: { operation: 'MERGE', value: { name: filter, typed_config: { '@type': type, access_log: accessLogConfig(accessLogPath, kind, envoyVersion) } } },
  });
  return YAML.stringify({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: forApp ? `lab-access-log-${forApp}` : 'lab-access-log', namespace: 'istio-system' },
    spec: {
      // With another pod's sidecar in the lab (world.peerSidecar), each sidecar writes its own log.
      ...(forApp ? { workloadSelector: { labels: { app: forApp } } } : {}),
      configPatches: [
        patch(HCM, 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', 'http'),
        patch(TCP_PROXY, 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', 'tcp'),
        // A connection no filter chain takes never reaches a filter's log: the inbound listener's own
        // log records it, as Istio's listener access log does (only NR entries).
        {
          applyTo: 'LISTENER',
          match: { context: 'SIDECAR_INBOUND' },
          patch: { operation: 'MERGE', value: { access_log: accessLogConfig(accessLogPath, 'tcp', envoyVersion).map((l) => ({ ...l, filter: { response_flag_filter: { flags: ['NR'] } } })) } },
        },
      ],
    },
  });
}

export interface IstiodStartOptions {
  /** The scenario's Istio YAML (with ${…} placeholders) for the phase's config. */
  source: string;
  /** Istio YAML kept in the store whatever `source` is applied (the other pod's own objects). */
  alwaysSource?: string;
  vars: Record<string, string>;
  /** Mesh config files, applied in order. */
  meshFiles: string[];
  /** Lab-owned Istio objects appended to every generation (the access-log EnvoyFilter). */
  labObjects: string;
  /** Scratch directory (the lab's workDir/istiod): input, status, dumps, log. */
  dir: string;
  listenIp: string;
  /** The Istio to run (default: the one lab/istiod pins). */
  version?: string;
  /** istiod's environment beyond the lab's own (a behaviour flag reverted); recorded in lab-settings.txt. */
  env?: Record<string, string>;
  progress?: (line: string) => void;
}

export class IstiodHost {
  private generation = 0;
  /** The Istio YAML in istiod's store now (an endpoint push edits its ServiceEntry). */
  private current: string;

  private constructor(
    private readonly o: IstiodStartOptions,
    private readonly process: HostProcess,
  ) {
    this.current = o.source;
  }

  private static input(dir: string) {
    return join(dir, 'istio.yaml');
  }

  private static async writeInput(o: Pick<IstiodStartOptions, 'dir' | 'vars' | 'labObjects' | 'alwaysSource'>, source: string): Promise<void> {
    const fill = async (file: string) => fillPlaceholders(await readFile(file, 'utf8'), o.vars, file);
    const text = [await fill(source), ...(o.alwaysSource ? [await fill(o.alwaysSource)] : [])].join('\n---\n');
    const tmp = `${IstiodHost.input(o.dir)}.tmp`;
    await writeFile(tmp, `${text}\n---\n${o.labObjects}`);
    await rename(tmp, IstiodHost.input(o.dir)); // one change, seen whole
  }

  static async start(backend: Backend, o: IstiodStartOptions): Promise<IstiodHost> {
    const bin = await istiodBinary(o.progress, o.version);
    await IstiodHost.writeInput(o, o.source);
    await writeFile(
      join(o.dir, 'lab-settings.txt'),
      [
        '# What the lab sets so that upstream Envoy runs what Istio generates:',
        ...ISTIO_SETTINGS_FOR_UPSTREAM_ENVOY.map((x) => `- ${x}`),
        "- EnvoyFilter istio-system/lab-access-log: the lab's JSON access log on every HCM and tcp_proxy (MERGE), in istio.yaml",
        `- the sidecar's node: ${JSON.stringify(sidecarNode(o.vars.POD_IP!))}`,
        ...Object.entries(o.env ?? {}).map(([k, v]) => `- istiod env ${k}=${v} (the phase runs an Istio behaviour change reverted)`),
        '',
      ].join('\n'),
    );
    const args = ['-config', IstiodHost.input(o.dir), '-serve', `${o.listenIp}:${ISTIOD_XDS_PORT}`, '-pod-ip', o.vars.POD_IP!, '-status', join(o.dir, 'status.log'), '-out', join(o.dir, 'config_dump.json')];
    // The mesh settings go with the run (and into a container, which sees only the lab's directories).
    const mesh = o.meshFiles.map((_, i) => join(o.dir, `mesh-${i}.yaml`));
    await Promise.all(o.meshFiles.map((f, i) => copyFile(f, mesh[i]!)));
    if (mesh.length) args.push('-mesh', mesh.join(','));
    const child = backend.spawn(ISTIOD_HOST.name, [bin, ...args], { logFile: join(o.dir, 'istiod.log'), env: o.env });
    const host = new IstiodHost(o, child);
    await waitUntil(
      async () => {
        if (child.exitCode() !== null) throw new LabStartError(`lab/istiod exited during start-up (code ${child.exitCode()})`, { fix: `read ${join(o.dir, 'istiod.log')}: usually Istio YAML it cannot read`, evidence: await host.logTail() });
        return (await host.statusLines()).some((l) => l.startsWith('0 serving'));
      },
      { timeoutMs: 30_000, what: 'lab/istiod to serve ADS' },
    ).catch(async (err) => {
      child.kill('SIGKILL');
      throw err instanceof LabStartError ? err : new LabStartError(`lab/istiod did not start: ${(err as Error).message}`, { fix: `read ${join(o.dir, 'istiod.log')}`, evidence: await host.logTail(), cause: err });
    });
    return host;
  }

  /** How many listeners istiod generated for the pod at start: what the sidecar must have before it is ready. */
  async initialListenerCount(): Promise<number> {
    const dump = JSON.parse(await readFile(join(this.o.dir, 'config_dump.json.0'), 'utf8'));
    return (dump.configs?.[0]?.dynamic_listeners ?? []).length;
  }

  private async statusLines(): Promise<string[]> {
    return (await readFile(join(this.o.dir, 'status.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  }

  private async logTail(): Promise<string> {
    return (await readFile(join(this.o.dir, 'istiod.log'), 'utf8').catch(() => '')).split('\n').filter((l) => !/\tinfo\t/.test(l)).slice(-12).join('\n');
  }

  /**
   * Replaces the store's objects with those of another Istio YAML file (a `kubectl apply` of the
   * fix, and a delete of what it drops) and returns when istiod has taken it: what it applied, in
   * its words. istiod then pushes to the connected sidecar on its own.
   */
  async apply(source: string): Promise<string> {
    this.generation += 1;
    const gen = this.generation;
    await IstiodHost.writeInput(this.o, source);
    let line = '';
    await waitUntil(
      async () => {
        line = (await this.statusLines()).find((l) => l.startsWith(`${gen} `)) ?? '';
        return line !== '';
      },
      { timeoutMs: 10_000, what: `lab/istiod to apply ${source}` },
    );
    if (line.startsWith(`${gen} rejected`)) throw new LabRuntimeError(`istiod rejected ${source}: ${line.replace(/^\d+ rejected: /, '')}`, { fix: 'fix the Istio YAML (npm run lab -- istio render <file> shows what Istio makes of it)' });
    this.current = source;
    return line.replace(/^\d+ applied: /, '');
  }

  /**
   * The endpoints of `service` change, as Kubernetes' endpoints controller changes them when a
   * pod goes or comes: the ServiceEntry that declares the service gets exactly these addresses,
   * and istiod pushes EDS. Returns what istiod applied.
   */
  async setEndpoints(service: string, ips: string[]): Promise<string> {
    const docs = YAML.parseAllDocuments(fillPlaceholders(await readFile(this.current, 'utf8'), this.o.vars, this.current)).map((d) => d.toJS());
    const entry = docs.find((d) => d?.kind === 'ServiceEntry' && (d.spec?.hosts ?? []).includes(service));
    if (!entry) throw new LabRuntimeError(`no ServiceEntry in ${this.current} declares ${service}: the lab changes a service's endpoints in the ServiceEntry that lists them`, { fix: `declare ${service} in a ServiceEntry with resolution STATIC and its endpoints` });
    entry.spec.endpoints = ips.map((address) => ({ address }));
    const path = join(this.o.dir, `endpoints-${this.generation + 1}.yaml`);
    await writeFile(path, docs.filter(Boolean).map((d) => YAML.stringify(d)).join('---\n'));
    return this.apply(path);
  }

  async stop(): Promise<void> {
    this.process.kill('SIGTERM');
    await settleWithin(this.process.exited, 2000);
    if (this.process.exitCode() === null) this.process.kill('SIGKILL');
  }
}
