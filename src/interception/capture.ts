/**
 * istio-init's rules in a host's network namespace: the capture that puts a sidecar in its pod's
 * path. Written by Istio's own capture code (lab/istio-iptables) or, on a machine without Go, by
 * its stand-in lab/istio-iptables.sh; in TPROXY mode without the named pair (tproxyLeftOut). What
 * is in force is kept with the run (iptables-save-<host>.txt).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { LabStartError } from '../errors.js';
import { PROXY_UID } from '../topology/topology.js';
import { ISTIO_IPTABLES_SCRIPT, captureFlags, istioIptablesBinary, tproxyLeftOut } from './istio-iptables.js';

/** istio-init's inbound capture mode (sidecar.istio.io/interceptionMode). */
export type InboundMode = 'REDIRECT' | 'TPROXY';

export interface CaptureOptions {
  /** excludeOutboundIPRanges: these CIDRs bypass the sidecar. */
  excludeOutbound?: string[];
  inbound?: InboundMode;
  /** ISTIO_META_DNS_CAPTURE: the pod's DNS goes to pilot-agent's :15053. */
  dns?: boolean;
}

/** Where the capture's own output ends and iptables-save's begins, in one exec's stdout. */
const SAVED_MARK = '### efl: iptables-save ###';

export async function captureTraffic(backend: Backend, host: string, o: CaptureOptions): Promise<void> {
  const bin = await istioIptablesBinary();
  if (o.dns && !bin) throw new LabStartError("DNS capture needs Istio's own capture code (lab/istio-iptables): the stand-in script has no DNS rules", { fix: 'install Go (the lab builds Istio\'s capture code with it)' });
  const flags = captureFlags({ ...o, uid: PROXY_UID });
  const who = bin ? "Istio's capture code (lab/istio-iptables)" : 'lab/istio-iptables.sh (no Go here: the stand-in for Istio\'s capture code)';
  const capture = bin ? [bin, ...flags] : ['sh', ISTIO_IPTABLES_SCRIPT, ...flags];
  // The rules and what is then in force in one exec (a docker exec costs dockerd 30-50 ms of
  // CPU); TPROXY deletes a pair in between, so it saves on its own.
  const tproxy = !!bin && o.inbound === 'TPROXY';
  const r = await backend.exec(host, tproxy ? capture : ['sh', '-c', `"$@" && echo '${SAVED_MARK}' && iptables-save`, 'capture', ...capture]);
  const [out = '', savedHere] = r.stdout.split(`${SAVED_MARK}\n`);
  if (r.exitCode !== 0) {
    throw new LabStartError(`the interception rules failed on ${host} (${who})`, { evidence: `${r.stderr.trim()}\n${out.split('\n').filter((l) => /error|fail/i.test(l)).join('\n')}`.trim(), fix: 'run `npm run lab -- doctor`: the host needs iptables with the nat table and the owner match' });
  }
  if (tproxy) {
    for (const rule of tproxyLeftOut(PROXY_UID)) await backend.exec(host, ['iptables', '-w', '-t', 'nat', '-D', ...rule.split(' ').slice(1)]);
  }
  const saved = { stdout: savedHere ?? (await backend.exec(host, ['iptables-save'])).stdout };
  await writeFile(join(backend.workDir, `iptables-save-${host}.txt`), `# ${who}: ${flags.join(' ')}${tproxy ? '\n# then without the pair tproxyLeftOut names (src/interception/istio-iptables.ts)' : ''}\n${saved.stdout}`);
}

/** Istio's auto-allocated ServiceEntry addresses (the ServiceEntry registry's range: class E, never routed anywhere). */
export const AUTO_ALLOCATED_RANGE = '240.240.0.0/16';

/** An address in Istio's auto-allocated range (240.240.0.0/16): what its DNS proxy answers for a ServiceEntry without addresses. */
export const isAutoAllocated = (value: string) => /^240\.240\.\d{1,3}\.\d{1,3}$/.test(value);

/**
 * In Kubernetes the app's connect() to an auto-allocated address passes the routing decision on
 * the pod's default route, and istio-init's OUTPUT rule then redirects it to Envoy. A lab pod has
 * no default route (nothing may leave the lab), so the connect would fail with ENETUNREACH before
 * the rule sees it: the pod gets an on-link route for that range on its lab interface, and nothing
 * else. Packets the rule does not take (uid 1337) stay on the lab's own network.
 */
export async function routeAutoAllocatedRange(backend: Backend, host: string, labIp: string): Promise<void> {
  const via = await backend.exec(host, ['ip', '-o', 'route', 'get', labIp]);
  const dev = /\bdev (\S+)/.exec(via.stdout)?.[1];
  const added = dev ? await backend.exec(host, ['ip', 'route', 'add', AUTO_ALLOCATED_RANGE, 'dev', dev]) : undefined;
  if (!added || added.exitCode !== 0) throw new LabStartError(`the pod could not route Istio's auto-allocated range ${AUTO_ALLOCATED_RANGE}`, { evidence: `${via.stdout}${via.stderr}${added?.stderr ?? ''}`.trim(), fix: 'run `npm run lab -- doctor`: the pod needs `ip` (iproute2) and NET_ADMIN' });
}
