/**
 * The lab's world as pure data: which hosts exist and which address each one has.
 *
 *          ┌──────────────── pod ─────────────────┐
 *          │  app (uid 1000) ──iptables──▶ Envoy  │──┐
 *          │                  REDIRECT :15001 uid 1337   │
 *          └───────────────────────────────────────┘  │   one bridge, one /24 from 198.18.0.0/15,
 *   dns  (.53) ◀──────────────────────────────────────┤   no default route anywhere: nothing
 *   upstream hosts (.21, .22, ...) ◀──────────────────┘   can leave the lab.
 *
 * Backends (netns, docker) realise this; scenarios never see which one.
 */

import { LabRuntimeError, ScenarioDefinitionError } from '../errors.js';

/** control: the lab's own control plane (istiod under --istio). */
export type HostRole = 'pod' | 'dns' | 'upstream' | 'control';

export interface HostSpec {
  /** Short name, also used in namespace / container names: [a-z0-9-], ≤ 12 chars. */
  name: string;
  role: HostRole;
  /** Last octet of the host's address inside the lab subnet. */
  octet: number;
  /** A server pod with its own sidecar (a second Envoy in its network namespace; its own container on Docker). */
  sidecar?: boolean;
}

export interface Topology {
  hosts: HostSpec[];
}

/** The uid/gid Istio's interception exempts: Envoy runs as this user. */
export const PROXY_UID = 1337;
/** The app in the pod runs as an ordinary user; its traffic is intercepted. */
export const APP_UID = 1000;

export const POD: HostSpec = { name: 'pod', role: 'pod', octet: 10 };
export const DNS_HOST: HostSpec = { name: 'dns', role: 'dns', octet: 53 };

/** A topology with the pod, the lab DNS, the given upstream hosts and any control-plane hosts. */
export function podWithUpstreams(upstreams: Array<{ name: string; octet: number }>, control: HostSpec[] = []): Topology {
  const hosts: HostSpec[] = [POD, DNS_HOST, ...upstreams.map((u) => ({ ...u, role: 'upstream' as const })), ...control];
  validateTopology({ hosts });
  return { hosts };
}

export function validateTopology(topology: Topology): void {
  const names = new Set<string>();
  const octets = new Set<number>();
  const bad = (what: string) => new ScenarioDefinitionError(what, { fix: `fix the scenario's world.upstreams (pod is .${POD.octet}, dns .${DNS_HOST.octet})` });
  for (const h of topology.hosts) {
    if (!/^[a-z][a-z0-9-]{0,11}$/.test(h.name)) throw bad(`host name "${h.name}" must match [a-z][a-z0-9-]{0,11} (it names namespaces and containers)`);
    if (h.octet < 2 || h.octet > 254) throw bad(`host ${h.name}: octet ${h.octet} is outside 2..254`);
    if (names.has(h.name)) throw bad(`host name "${h.name}" is used twice`);
    if (octets.has(h.octet)) throw bad(`address octet ${h.octet} is used twice`);
    names.add(h.name);
    octets.add(h.octet);
  }
}

/** The address of the host named `host` among `hosts`, or an error naming the hosts there are. */
export function hostIp(plan: { ip(host: Pick<HostSpec, 'octet'>): string }, hosts: Array<Pick<HostSpec, 'name' | 'octet'>>, host: string): string {
  const spec = hosts.find((h) => h.name === host);
  if (!spec) throw new LabRuntimeError(`no host "${host}" in this lab`, { fix: `hosts: ${hosts.map((h) => h.name).join(', ')}` });
  return plan.ip(spec);
}
