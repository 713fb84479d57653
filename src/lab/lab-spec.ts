/** What a lab is made of, as data: its upstream hosts, DNS records and sidecar configuration. */
import type { AddressPlan } from '../topology/addresses.js';
import { DNS_HOST } from '../topology/topology.js';
import type { HttpUpstreamOptions } from '../upstreams/http-upstream.js';
import type { TlsUpstreamOptions } from '../upstreams/tls-upstream.js';

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

export interface LabOptions {
  /**
   * Leave every injected fault out (the marker is still set): proves that a `before` phase's
   * checks cannot pass without the fault. Used by the test suite, never by a normal run.
   */
  omitFaults?: boolean;
}

/** Where a phase's time went; scripted = the scenario's own timers and waits. */
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
