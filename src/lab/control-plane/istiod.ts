/**
 * --istio: Istio's istiod as the control plane, on a lab host of its own (src/istio/istiod-host.ts).
 * It serves the phase's Istio YAML, the sidecars start through Istio's pilot-agent and get their
 * config over ADS, a fix is a `kubectl apply` of other Istio YAML, and a pod going is an edit of
 * its ServiceEntry: istiod itself decides what to push, and when.
 */
import { appendFile, chown, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Envoy, type EnvoyStartOptions } from '../../envoy/envoy.js';
import { EnvoyConfigError, LabRuntimeError } from '../../errors.js';
import { istioYamlPath, peerApp } from '../../istio/istio-variant.js';
import { accessLogEnvoyFilter, ISTIOD_HOST, ISTIOD_XDS_PORT, IstiodHost, sidecarNode } from '../../istio/istiod-host.js';
import { AGENT_ADMIN_PORT, meshDefaultConfig, PILOT_AGENT_LAB_SETTINGS, pilotAgentBinary, pilotAgentCommand, type PilotAgentOptions } from '../../istio/pilot-agent.js';
import { POD, PROXY_UID } from '../../topology/topology.js';
import { waitUntil } from '../../util/time.js';
import { AgentHandle } from '../agent-handle.js';
import type { LabContext } from '../lab-context.js';
import { drainTimeS, labVars } from '../lab-spec.js';
import type { ControlPlane, EndpointChange, SidecarFeed } from './control-plane.js';
import { workloadIdentity } from './workload-identity.js';

export { ISTIOD_HOST };

export class IstiodControlPlane implements ControlPlane {
  readonly name = 'istiod';
  readonly howItPushes = 'as kubectl apply: istiod regenerates the config and pushes it to the running Envoy over ADS';

  private constructor(
    private readonly lab: LabContext,
    private readonly istiod: IstiodHost,
  ) {}

  /** istiod up on its host, serving the phase's Istio YAML (this lab's addresses) plus the lab's access-log EnvoyFilter. */
  static async start(lab: LabContext): Promise<IstiodControlPlane> {
    const { backend, spec } = lab;
    const dir = join(backend.workDir, 'istiod');
    await mkdir(dir, { recursive: true });
    const version = lab.options.envoy.version;
    const podLog = Envoy.accessLogPath(join(backend.workDir, 'envoy'));
    const peer = spec.peerSidecar;
    const istiod = await IstiodHost.start(backend, {
      source: spec.istio!.source,
      alwaysSource: spec.istio!.peerSource,
      vars: labVars(backend.plan, spec),
      meshFiles: spec.istio!.meshFiles,
      labObjects: peer
        ? [accessLogEnvoyFilter(podLog, version, 'app'), accessLogEnvoyFilter(Envoy.accessLogPath(join(backend.workDir, `envoy-${peer.host}`)), version, peerApp(peer.host))].join('---\n')
        : accessLogEnvoyFilter(podLog, version),
      dir,
      listenIp: backend.plan.ip(ISTIOD_HOST),
      version: spec.istio!.version,
      env: spec.istio!.env,
      progress: lab.options.log,
    });
    return new IstiodControlPlane(lab, istiod);
  }

  /**
   * The pod's sidecar, or another pod's (its own node, label app: <host>-peer), both rendered by
   * istiod from the phase's Istio YAML and started by pilot-agent. The pod's is ready when it has
   * every listener istiod generated for it; another pod's at its first.
   */
  async feed(host: string, dir: string): Promise<SidecarFeed> {
    const { backend, spec } = this.lab;
    const pod = host === POD.name;
    const podIp = pod ? backend.plan.ip(POD) : backend.plan.ip(spec.upstreams.find((u) => u.name === host)!);
    const app = pod ? 'app' : peerApp(host);
    const ads = { address: backend.plan.ip(ISTIOD_HOST), port: ISTIOD_XDS_PORT, node: sidecarNode(podIp, app), expectedListeners: pod ? await this.istiod.initialListenerCount() : 1 };
    const identity = await workloadIdentity(pod ? 'pod' : 'peer');
    const agent = pod
      ? await this.viaPilotAgent(host, dir, { podIp, app, interception: spec.sidecar.inbound ?? 'REDIRECT', identity, shutdown: spec.sidecar.shutdown, drainTimeS: drainTimeS(spec), dnsCapture: spec.sidecar.dnsCapture })
      : await this.viaPilotAgent(host, dir, { podIp, app, interception: 'REDIRECT', identity });
    return { resources: { listeners: [], clusters: [], routes: [] }, ads, agent };
  }

  /**
   * The sidecar through Istio's own pilot-agent (src/istio/pilot-agent.ts), Envoy's admin relayed
   * to admin.sock by a lab agent in the pod as uid 1337. Without Go, undefined: the lab's own ADS
   * bootstrap stands in (adsBootstrapYaml, "pilot-agent's, trimmed"), said in lab-settings.txt.
   */
  private async viaPilotAgent(host: string, dir: string, o: Pick<PilotAgentOptions, 'podIp' | 'app' | 'interception' | 'identity' | 'shutdown' | 'dnsCapture'> & { drainTimeS?: number }): Promise<EnvoyStartOptions['agent']> {
    const { backend } = this.lab;
    const bin = await pilotAgentBinary();
    const settings = join(backend.workDir, 'istiod', 'lab-settings.txt');
    if (!bin) {
      await appendFile(settings, `- ${host}: no Go here, so no pilot-agent: the lab's own ADS bootstrap stands in (Envoy started directly)\n`);
      return undefined;
    }
    await chown(dir, PROXY_UID, PROXY_UID);
    const relay = await AgentHandle.start(backend, host, 'sidecar-admin', { uid: PROXY_UID, logFile: join(backend.workDir, 'logs', `sidecar-admin-${host}.log`) });
    this.lab.started.push(relay);
    await relay.call('admin.relay', { socket: join(dir, 'admin.sock'), port: AGENT_ADMIN_PORT });
    const defaultConfig = await meshDefaultConfig(this.lab.spec.istio!.meshFiles);
    if (o.app === 'app') {
      const fromMesh = Object.keys(defaultConfig).length ? [`  - the mesh's defaultConfig, as Istio's injector passes it: ${JSON.stringify(defaultConfig)}`] : [];
      await appendFile(settings, ['- the sidecar starts through pilot-agent (lab/pilot-agent, Istio\'s own), with:', ...PILOT_AGENT_LAB_SETTINGS.map((x) => `  - ${x}`), ...fromMesh, ''].join('\n'));
    }
    return pilotAgentCommand(bin, { ...o, meshDefaultConfig: defaultConfig, dir, envoyPath: backend.envoyPath(this.lab.options.envoy), istiod: { address: backend.plan.ip(ISTIOD_HOST), port: ISTIOD_XDS_PORT }, drainTimeS: o.drainTimeS ?? 2 });
  }

  async checkAccepted(sidecar: Envoy): Promise<void> {
    const stats = await sidecar.admin.stats().catch(() => null);
    const rejected = ['cluster_manager.cds.update_rejected', 'listener_manager.lds.update_rejected'].filter((n) => (stats?.get(n) ?? 0) > 0);
    if (rejected.length) {
      throw new EnvoyConfigError(`Envoy ${this.lab.options.envoy.version} rejected what istiod pushed (${rejected.join(', ')})`, { fix: `read ${sidecar.logFile}: an Istio feature this Envoy lacks, or YAML Istio renders into something Envoy refuses`, evidence: await sidecar.logTail() });
    }
  }

  /**
   * The variant's Istio YAML (envoy-configs/<id>/istio/<variant>.yaml) replaces the objects in
   * istiod's store; istiod pushes what it generates from them, and this returns when the sidecar
   * has accepted the clusters and listeners of that push.
   */
  async apply(variantPath: string, label: string, sidecar: Envoy): Promise<void> {
    const { timeline, spec } = this.lab;
    const variant = basename(variantPath).replace(/\.yaml$/, '');
    const source = istioYamlPath(spec.istio!.scenario, variant);
    if (!existsSync(source)) throw this.lab.notApplicable(`--istio: the phase pushes ${variant}, which has no Istio YAML (envoy-configs/${spec.istio!.scenario}/istio/${variant}.yaml)`);
    if (existsSync(source.replace(/\.yaml$/, '.mesh.yaml'))) throw this.lab.notApplicable(`--istio: the phase pushes ${variant}, a mesh setting (istio/${variant}.mesh.yaml): istiod reads its mesh config at start, so it is not pushed live`);
    const accepted = async () => {
      const st = await sidecar.admin.stats();
      return { cds: st.get('cluster_manager.cds.update_success') ?? 0, lds: st.get('listener_manager.lds.update_success') ?? 0 };
    };
    timeline.mark('push', label);
    const before = await accepted();
    const t = Date.now();
    const what = await this.istiod.apply(source);
    timeline.mark('config', label);
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
      this.lab.note('istiod push', 'none to this sidecar within 4 s: istiod found nothing in it to change');
      this.lab.log(`config: istio/${variant}.yaml applied (${what}); istiod pushed nothing to this sidecar`);
      return;
    }
    this.lab.note('istiod push', `${pushed!.cds > before.cds ? 'CDS and LDS' : 'LDS only'}, accepted in ${Date.now() - t} ms`);
    this.lab.note('istiod push accepted ms', String(Date.now() - t));
    this.lab.log(`config: istio/${variant}.yaml applied (${what}); istiod's push accepted`);
  }

  /** The service's ServiceEntry gets exactly these endpoints; istiod pushes EDS. */
  async setEndpoints(service: string, changes: EndpointChange[], sidecar: Envoy): Promise<void> {
    const ips = [...new Set(changes.flatMap((c) => c.addresses.map((a) => a.replace(/:\d+$/, ''))))];
    await this.istiod.setEndpoints(service, ips);
    await waitUntil(async () => {
      for (const c of changes) if ((await sidecar.admin.clusterHosts(c.cluster)).sort().join(' ') !== [...c.addresses].sort().join(' ')) return false;
      return true;
    }, { timeoutMs: 5000, what: `istiod's EDS push for ${service} to reach the sidecar` });
  }

  async pushInOrder(): Promise<void> {
    throw this.lab.notApplicable('--istio: istiod decides the order and timing of its pushes itself; a hand-ordered push is the file-based lab only');
  }

  /**
   * holdApplicationUntilProxyStarts as Kubernetes runs it: the sidecar container's postStart hook,
   * `pilot-agent wait` (Istio's own, polling its readiness on :15020), must return before the app
   * container starts.
   */
  async holdApplication(): Promise<void> {
    const bin = await pilotAgentBinary();
    if (!bin) throw this.lab.notApplicable('no Go here to build pilot-agent, whose `pilot-agent wait` holds the app');
    const r = await this.lab.backend.exec(POD.name, [bin, 'wait', '--timeoutSeconds', '20', '--periodMillis', '100']);
    this.lab.timeline.mark('note', 'postStart hook: pilot-agent wait returned');
    this.lab.note('pilot-agent wait', `exit ${r.exitCode}: ${`${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /ready|Waiting|timeout|error/i.test(l)).map((l) => l.replace(/^\S+\t\w+\t/, '')).join(' | ').slice(0, 300)}`);
    if (r.exitCode !== 0) throw new LabRuntimeError(`pilot-agent wait (the postStart hook) failed with exit ${r.exitCode}`, { fix: `read ${join(this.lab.backend.workDir, 'envoy', 'envoy.log')} (pilot-agent's readiness lines)`, evidence: r.stderr.slice(-600) });
  }

  pokeHints(): string[] {
    const dir = join(this.lab.backend.workDir, 'istiod');
    return [
      `  istiod:       edit ${join(dir, 'istio.yaml')} (a kubectl apply): istiod pushes it; ${join(dir, 'status.log')} says what it applied`,
      `                what it generates: ${join(dir, 'config_dump.json.<n>')} (one per generation)`,
    ];
  }

  stop(): Promise<void> {
    return this.istiod.stop();
  }
}
