/**
 * --istio: the sidecar starts as in a pod, through Istio's own pilot-agent (lab/pilot-agent, built
 * from the pinned Istio module). pilot-agent writes Envoy's bootstrap from Istio's own template,
 * starts and supervises Envoy, proxies xDS to istiod (plaintext, port 15010), serves the workload
 * certificate over SDS (`default`, `ROOTCA`) from files mounted as a CSI driver or SPIRE mounts them
 * (./var/run/secrets/workload-spiffe-credentials: no CA needed), answers readiness on 15021 and
 * drains Envoy on SIGTERM. Its working directory is the sidecar's directory: Istio's paths
 * (./etc/istio/proxy/XDS, ./var/run/secrets/workload-spiffe-uds/socket, ./var/lib/istio/envoy)
 * are relative to it, as they are to / in a pod.
 */
import { chown, copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import YAML from 'yaml';
import { PROXY_UID } from '../topology/topology.js';
import { istioModuleDir, labGoTool } from '../go-tools/lab-go-tool.js';
import { DEBUG_COMPONENTS } from '../envoy/envoy.js';

/** Istio's sidecar bootstrap template, copied beside the binary from the module it was built from. */
const templateOf = (bin: string) => `${bin}.bootstrap.json`;

/** The pilot-agent binary (built if needed); undefined when the machine has no Go. */
export function pilotAgentBinary(progress: (line: string) => void = () => {}): Promise<string | undefined> {
  return labGoTool(
    {
      name: 'pilot-agent',
      what: "Istio's sidecar agent",
      after: async (out, sourceDir) => copyFile(join(await istioModuleDir(sourceDir), 'tools/packaging/common/envoy_bootstrap.json'), templateOf(out)),
    },
    progress,
  );
}

/** Where pilot-agent keeps Envoy's admin, as in a pod. */
export const AGENT_ADMIN_PORT = 15000;

/**
 * What the lab sets on pilot-agent, and why (listed in lab-settings.txt with the rest): each is a
 * setting a user has too (ProxyConfig, pilot-agent's flags), never an edit of Istio's template.
 */
export const PILOT_AGENT_LAB_SETTINGS = [
  'ProxyConfig.proxyStatsMatcher.inclusionRegexps [".*"]: the lab reads counters Istio\'s default stats inclusion leaves out',
  'ProxyConfig.concurrency 1: one worker, so connection pools are deterministic',
  'ProxyConfig.fileFlushInterval 100ms: the access log is read as the phase runs',
  `pilot-agent --proxyLogLevel info,${DEBUG_COMPONENTS.map((c) => `${c}:debug`).join(',')}: the lab's evidence reads Envoy's debug lines`,
  'ISTIO_META_ISTIO_VERSION 1.28.0: the version istiod gates its output on (a build from the module says "unknown")',
  'workload certificates as files (./var/run/secrets/workload-spiffe-credentials) from the lab CA: pilot-agent serves them over SDS without a CA',
  "Envoy's admin (127.0.0.1:15000 in the pod) relayed to a unix socket by a lab agent running as uid 1337",
];

export interface PilotAgentOptions {
  /** The sidecar's directory: pilot-agent's working directory. */
  dir: string;
  envoyPath: string;
  /** Who the pod is: its IP and its app label (POD_NAME too). */
  podIp: string;
  app: string;
  istiod: { address: string; port: number };
  interception: 'REDIRECT' | 'TPROXY';
  drainTimeS: number;
  /** The pod's workload certificate, key and the mesh root (files from the lab CA). */
  identity: { cert: string; key: string; ca: string };
  /** How it ends on SIGTERM (the phase's `shutdown`, src/lab/sidecar-shutdown.ts; default: Istio's). */
  shutdown?: { terminationDrainMs: number; exitOnZeroActive?: boolean; minimumDrainMs?: number };
  /** Istio's DNS proxy on :15053 (the pod's DNS is redirected to it), with addresses auto-allocated for ServiceEntries; 'capture-only': without the per-proxy allocation. */
  dnsCapture?: boolean | 'capture-only';
  /**
   * The mesh's defaultConfig (ProxyConfig, e.g. runtimeValues), which Istio's injector puts in the
   * pod's PROXY_CONFIG. The lab's own settings above win where both set a field.
   */
  meshDefaultConfig?: Record<string, unknown>;
}

/** The mesh files' defaultConfig, applied in order (a later file's fields win; maps such as runtimeValues merge). */
export async function meshDefaultConfig(meshFiles: string[]): Promise<Record<string, unknown>> {
  const out: Record<string, any> = {};
  for (const f of meshFiles) {
    const dc = (YAML.parse(await readFile(f, 'utf8')) ?? {}).defaultConfig ?? {};
    for (const [k, v] of Object.entries(dc)) out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' ? { ...out[k], ...v } : v;
  }
  return out;
}

/** Lays out the pod's files pilot-agent reads and returns how to start it (argv and environment). */
export async function pilotAgentCommand(bin: string, o: PilotAgentOptions): Promise<{ argv: string[]; env: Record<string, string> }> {
  const at = (p: string) => join(o.dir, p);
  const place = async (from: string, to: string) => {
    await mkdir(dirname(at(to)), { recursive: true });
    await copyFile(from, at(to));
    await chown(at(to), PROXY_UID, PROXY_UID);
  };
  await Promise.all([
    place(templateOf(bin), 'var/lib/istio/envoy/envoy_bootstrap_tmpl.json'),
    place(o.identity.cert, 'var/run/secrets/workload-spiffe-credentials/cert-chain.pem'),
    place(o.identity.key, 'var/run/secrets/workload-spiffe-credentials/key.pem'),
    place(o.identity.ca, 'var/run/secrets/workload-spiffe-credentials/root-cert.pem'),
  ]);
  // pilot-agent (uid 1337) creates its sockets and Envoy's config under these.
  for (const d of ['etc/istio/proxy', 'var/run/secrets/workload-spiffe-uds', 'var/lib/istio/data', 'var/run/secrets', 'var/run', 'var/lib/istio', 'var/lib', 'var', 'etc/istio', 'etc']) {
    await mkdir(at(d), { recursive: true });
    await chown(at(d), PROXY_UID, PROXY_UID);
  }
  const proxyConfig = {
    ...o.meshDefaultConfig,
    binaryPath: o.envoyPath,
    configPath: at('etc/istio/proxy'),
    discoveryAddress: `${o.istiod.address}:${o.istiod.port}`,
    controlPlaneAuthPolicy: 'NONE',
    proxyAdminPort: AGENT_ADMIN_PORT,
    concurrency: 1,
    drainDuration: `${o.drainTimeS}s`,
    fileFlushInterval: '0.1s',
    proxyStatsMatcher: { inclusionRegexps: ['.*'] },
    ...(o.shutdown ? { terminationDrainDuration: `${o.shutdown.terminationDrainMs / 1000}s` } : {}),
  };
  return {
    argv: ['env', '-C', o.dir, bin, 'proxy', 'sidecar', '--proxyLogLevel', `info,${DEBUG_COMPONENTS.map((c) => `${c}:debug`).join(',')}`],
    env: {
      PROXY_CONFIG: YAML.stringify(proxyConfig),
      POD_NAME: o.app,
      POD_NAMESPACE: 'default',
      INSTANCE_IP: o.podIp,
      SERVICE_ACCOUNT: o.app,
      ISTIO_META_CLUSTER_ID: 'Kubernetes',
      ISTIO_META_ISTIO_VERSION: '1.28.0',
      ISTIO_META_INTERCEPTION_MODE: o.interception,
      ISTIO_METAJSON_LABELS: JSON.stringify({ app: o.app }),
      JWT_POLICY: 'none',
      ...(o.dnsCapture ? { ISTIO_META_DNS_CAPTURE: 'true', ...(o.dnsCapture === 'capture-only' ? {} : { ISTIO_META_DNS_AUTO_ALLOCATE: 'true' }) } : {}),
      ...(o.shutdown?.exitOnZeroActive ? { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'true', MINIMUM_DRAIN_DURATION: `${(o.shutdown.minimumDrainMs ?? 5000) / 1000}s` } : {}),
    },
  };
}
