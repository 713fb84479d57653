/**
 * The lab's own control plane: hand-written config variants (envoy-configs/<scenario>/<variant>.yaml),
 * rendered with this lab's addresses and served to Envoy as xDS files it watches. A push is a
 * file write in xDS order (CDS, RDS, then LDS, as istiod pushes), or in any order a phase asks for.
 */
import { join } from 'node:path';
import { loadVariant, renderResources, type EnvoyResources } from '../../envoy/config.js';
import { Envoy, type XdsKind } from '../../envoy/envoy.js';
import { POD } from '../../topology/topology.js';
import type { LabContext } from '../lab-context.js';
import { labVars } from '../lab-spec.js';
import type { ControlPlane, EndpointChange, SidecarFeed } from './control-plane.js';
import { workloadIdentity } from './workload-identity.js';

export class LabFilesControlPlane implements ControlPlane {
  readonly name = "the lab's config files";
  readonly howItPushes = 'as istiod pushes a change: CDS, then RDS, then LDS, to the running Envoy';

  constructor(private readonly lab: LabContext) {}

  /** A variant rendered for this lab: its addresses, this Envoy's access-log fields, its xDS files in `envoyDir`. */
  async render(variantPath: string, envoyDir = join(this.lab.backend.workDir, 'envoy')): Promise<EnvoyResources> {
    return renderResources(await loadVariant(variantPath), {
      vars: labVars(this.lab.backend.plan, this.lab.spec),
      envoyVersion: this.lab.options.envoy.version,
      accessLogPath: Envoy.accessLogPath(envoyDir),
      rdsPath: Envoy.xdsPaths(envoyDir).rds,
      edsDir: Envoy.xdsPaths(envoyDir).dir,
      sdsDir: Envoy.xdsPaths(envoyDir).dir,
    });
  }

  async feed(host: string, dir: string): Promise<SidecarFeed> {
    const pod = host === POD.name;
    const variant = pod ? this.lab.spec.sidecar.config : this.lab.spec.peerSidecar!.config;
    return { resources: await this.render(variant, dir), identity: await workloadIdentity(pod ? 'pod' : 'peer') };
  }

  async checkAccepted(): Promise<void> {
    // Envoy.start waits until every listener of the files is up: a rejected file fails the start.
  }

  async apply(variantPath: string, label: string, sidecar: Envoy): Promise<void> {
    this.lab.timeline.mark('push', label);
    await sidecar.apply(await this.render(variantPath));
    this.lab.timeline.mark('config', label);
    this.lab.log(`config: ${label} applied live`);
  }

  async setEndpoints(_service: string, changes: EndpointChange[], sidecar: Envoy): Promise<void> {
    for (const c of changes) await sidecar.pushEndpoints(c.cluster, c.addresses);
  }

  async pushInOrder(variantPath: string, sidecar: Envoy, o: { order: readonly XdsKind[]; pushing: (kind: XdsKind) => Promise<void>; accepted: (kind: XdsKind) => Promise<void> }): Promise<void> {
    await sidecar.apply(await this.render(variantPath), o);
  }

  async holdApplication(): Promise<void> {
    throw this.lab.notApplicable("holdApplicationUntilProxyStarts is pilot-agent's own hold (`pilot-agent wait`): it runs under --istio");
  }

  pokeHints(): string[] {
    return [];
  }

  async stop(): Promise<void> {}
}
