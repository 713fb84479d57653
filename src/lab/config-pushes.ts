/**
 * What a scenario has the control plane push (`lab.push`): a whole config variant (a fix applied
 * live), a service's new endpoints (a pod of a rollout went or came), or a variant one xDS part
 * at a time. The control plane of the run (hand-written files, istiod, …) does the pushing; this
 * narrates it and puts it on the timeline the same way whichever it is.
 */
import type { ClustersView } from '../envoy/admin.js';
import type { XdsKind } from '../envoy/envoy.js';
import { EnvoyConfigError } from '../errors.js';
import type { ControlPlane } from './control-plane/control-plane.js';
import type { LabContext } from './lab-context.js';

export class ConfigPushes {
  constructor(
    private readonly lab: LabContext,
    private readonly controlPlane: ControlPlane,
  ) {}

  /** Another config variant, applied live (CDS, RDS, then LDS), like istiod pushing a fix. Marks `push` and `config`. */
  async variant(variantPath: string, label: string): Promise<void> {
    await this.lab.narrate(`config pushed live: ${label}`, { why: this.controlPlane.howItPushes, pause: true });
    await this.controlPlane.apply(variantPath, label, this.lab.sidecar());
  }

  /**
   * EDS: the service's endpoints become exactly these lab hosts, as when a pod of a rolling update
   * goes or comes and the control plane pushes the new set, to each of the service's
   * `outbound|<port>||<service>` clusters. Returns when Envoy's /clusters shows the new set. Marks
   * `push` when the new set is sent and `eds` when Envoy has it (both labelled
   * "EDS <service> → [<hosts>]"): a call between the two may have seen either set.
   */
  async endpoints(service: string, hosts: string[]): Promise<void> {
    const sidecar = this.lab.sidecar();
    const all = ((JSON.parse(await sidecar.admin.clusters()) as ClustersView).cluster_statuses ?? []).map((c) => c.name);
    const clusters = all.map((name) => ({ name, port: /^outbound\|(\d+)\|\|(.+)$/.exec(name) })).filter((c) => c.port?.[2] === service);
    if (clusters.length === 0) throw new EnvoyConfigError(`the sidecar has no cluster outbound|<port>||${service} whose endpoints could change`, { fix: `name a service the sidecar has a cluster for; its clusters: ${all.join(', ')}` });
    const names = hosts.map((h) => `${h} (${this.lab.ip(h)})`).join(', ') || 'none';
    await this.lab.narrate(`EDS: ${service} now has endpoints ${names}`, { why: 'the control plane pushes the new endpoint set, as after a pod of a rolling update went or came', pause: true });
    const t = Date.now();
    this.lab.timeline.mark('push', `EDS ${service} → [${names}]`);
    const changes = clusters.map((c) => ({ cluster: c.name, addresses: hosts.map((h) => `${this.lab.ip(h)}:${c.port![1]}`) }));
    await this.controlPlane.setEndpoints(service, changes, sidecar);
    // The marker is when Envoy has the new set (not when it was sent): calls after it see only these hosts.
    this.lab.timeline.mark('eds', `EDS ${service} → [${names}]`);
    this.lab.note('eds push accepted ms', String(Date.now() - t));
    this.lab.log(`EDS: ${service} → [${names}], in /clusters after ${Date.now() - t} ms`);
  }

  /**
   * A config variant pushed live one xDS part at a time, in `order`, `gapMs` apart: a control
   * plane that pushes out of order, or slowly. Marks each part as it is written (`cds`, `rds`,
   * `lds`) and notes how long Envoy took to accept it (`cds accepted ms`, ...).
   */
  async inOrder(variantPath: string, o: { order: readonly XdsKind[]; gapMs: number }): Promise<void> {
    let n = 0;
    let pushedAt = 0;
    await this.lab.narrate(`config pushed one xDS part at a time: ${o.order.join(' → ')}, ${o.gapMs} ms apart`, { why: 'a control plane that pushes out of order, or slowly', pause: true });
    await this.controlPlane.pushInOrder(variantPath, this.lab.sidecar(), {
      order: o.order,
      pushing: async (kind) => {
        pushedAt = Date.now();
        this.lab.timeline.mark(kind, `${kind.toUpperCase()} of ${variantPath} pushed`);
      },
      accepted: async (kind) => {
        this.lab.note(`${kind} accepted ms`, String(Date.now() - pushedAt));
        if (++n < o.order.length) await this.lab.sleep(o.gapMs);
      },
    });
  }
}
