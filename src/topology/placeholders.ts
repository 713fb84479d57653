/**
 * The ${NAME} placeholders of Envoy configs and Istio YAML: each lab host's address by role, so
 * one file serves every lab (each has its own subnet).
 */
import { join } from 'node:path';
import { LAB_CERTS_DIR } from '../paths.js';
import type { AddressPlan } from './addresses.js';
import { DNS_HOST, POD } from './topology.js';

/** The placeholder a lab host's address has in Envoy configs: DNS_IP, POD_IP, UPSTREAM_<NAME>_IP. */
export function hostPlaceholder(host: string): string {
  if (host === DNS_HOST.name) return 'DNS_IP';
  if (host === POD.name) return 'POD_IP';
  return `UPSTREAM_${host.toUpperCase().replace(/-/g, '_')}_IP`;
}

/**
 * Values for ${NAME} placeholders in Envoy configs and Istio YAML: DNS_IP, POD_IP, LAB_CIDR,
 * UPSTREAM_<NAME>_IP, and UPSTREAM_<NAME>_LABELS (the host's labels as a YAML flow map, for a
 * ServiceEntry endpoint's `labels:`: the subsets a DestinationRule selects), and LAB_CA_FILE, the
 * lab CA's certificate, at the same path in every lab host (a DestinationRule's caCertificates).
 */
export function labVars(plan: AddressPlan, spec: { upstreams: Array<{ name: string; octet: number; labels?: Record<string, string> }> }): Record<string, string> {
  const vars: Record<string, string> = { DNS_IP: plan.ip(DNS_HOST), POD_IP: plan.ip(POD), LAB_CIDR: plan.cidr, LAB_CA_FILE: join(LAB_CERTS_DIR, 'ca.crt') };
  for (const u of spec.upstreams) {
    vars[hostPlaceholder(u.name)] = plan.ip(u);
    vars[hostPlaceholder(u.name).replace(/_IP$/, '_LABELS')] = JSON.stringify(u.labels ?? {});
  }
  return vars;
}
