/**
 * Istio's own interception code: tools/istio-iptables (what istio-init and istio-cni run), from
 * the Istio module lab/istiod pins, as a small binary (lab/istio-iptables) built into the lab cache
 * with the machine's Go on first use. The lab runs it in a pod's network namespace with the flags
 * the scenario asks for. Without Go, lab/istio-iptables.sh (the same rules, typed by hand and
 * compared with Istio's by test/unit/interception-rules.test.ts) stands in, said as such.
 */
import { join } from 'node:path';
import { LAB_DIR } from '../paths.js';
import { labGoTool } from '../go-tools/lab-go-tool.js';

/** The hand-written stand-in, for a machine without Go. */
export const ISTIO_IPTABLES_SCRIPT = join(LAB_DIR, 'istio-iptables.sh');

/** The binary of Istio's capture code (built if needed); undefined when the machine has no Go. */
export function istioIptablesBinary(progress: (line: string) => void = () => {}): Promise<string | undefined> {
  return labGoTool({ name: 'istio-iptables', what: "Istio's capture code" }, progress);
}

/** istio-init's flags for the capture a lab asks for (Istio's names: -i '*' captures all outbound). */
export function captureFlags(o: { excludeOutbound?: string[]; inbound?: 'REDIRECT' | 'TPROXY'; uid: number; dns?: boolean }): string[] {
  return [
    '-p', '15001', '-z', '15006', '-u', String(o.uid), '-g', String(o.uid), '-i', '*',
    ...(o.excludeOutbound?.length ? ['-x', o.excludeOutbound.join(',')] : []),
    // ISTIO_META_DNS_CAPTURE: DNS to the pod's nameservers (from its resolv.conf) goes to pilot-agent's :15053.
    ...(o.dns ? ['--redirect-dns'] : []),
    ...(o.inbound ? ['-b', '*', '-m', o.inbound] : []),
  ];
}

/**
 * The pair of Istio's rules the lab leaves out in TPROXY mode (after Istio's code has written
 * them): Envoy's original_src connection to the app (from the caller's address, over lo) matches
 * them and is NATed back to 15006. Measured with Istio's own rules (2026-12-03, Envoy 1.40.0,
 * inbound-source-ip fix-tproxy): every call 503 UF connection_timeout, the app sees nothing, as
 * in istio#23369 (closed without a fix). Without the pair the caller's address reaches the app.
 */
export const tproxyLeftOut = (uid: number): string[] =>
  (['uid', 'gid'] as const).map((who) => `-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --${who}-owner ${uid} -j ISTIO_IN_REDIRECT`);
