/**
 * What real Istio generates for Istio YAML files, for the lab's pod: lab/istiod's output
 * is an Envoy config_dump, so the lab reads it like a real pod's (proxy-config tables,
 * import-config into a runnable variant).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execaOffline } from '../backends/offline.js';
import { UsageError } from '../errors.js';
import { acquireSlot } from '../scheduler/machine-slots.js';
import { istiodBinary } from './istiod-binary.js';

/**
 * What lab/istiod sets so that upstream Envoy can run what Istio generates (measured): no
 * Istio-only filters (their extensions exist only in istio-proxy), no mTLS that would wait for
 * istiod's CA over SDS. Listed in every generated variant.
 */
export const ISTIO_SETTINGS_FOR_UPSTREAM_ENVOY = [
  'PILOT_ENABLE_METADATA_EXCHANGE=false (no istio.metadata_exchange filters)',
  'PILOT_ENABLE_ALPN_FILTER=false (no istio.alpn filter)',
  'meshConfig.enableAutoMtls=false (no mTLS to upstreams: no SDS certificates to wait for)',
  'PeerAuthentication istio-system/lab-no-mtls, mtls DISABLE (no inbound TLS chains waiting for SDS; a workload\'s own PeerAuthentication overrides it)',
  'PILOT_ENABLE_IP_AUTOALLOCATE=false (DNS capture: the ServiceEntry registry allocates addresses itself; the newer allocator writes them to Kubernetes status)',
];

export interface RenderOptions {
  podIp?: string;
  /** The pod's app label (default: app): another pod's sidecar is rendered as its own workload. */
  app?: string;
  namespace?: string;
  /** The Istio to render with (default: the one lab/istiod pins). */
  version?: string;
  /** Mesh config files, applied in order over Istio's defaults. */
  meshFiles?: string[];
  /**
   * istiod's behaviour flags for this render (PILOT_…=false: a release's old behaviour). The flags
   * named in `flags` are set to exactly these values or left unset, whatever the caller's shell
   * has: istiod reads them from its environment, so a stray one must not decide a comparison.
   */
  env?: Record<string, string>;
  flags?: readonly string[];
  progress?: (line: string) => void;
}

/** The config_dump Istio would push to the pod's sidecar. */
/** What one istiod render holds of the machine (Go's config generation on one core, measured). */
const RENDER_CORES = 1;
/** How long one takes, for the scheduler's backfill (0.3-1.5 s in a full suite's trace). */
const RENDER_MS = 1500;

export async function renderIstio(files: string[], o: RenderOptions = {}): Promise<{ configs: any[] }> {
  const bin = await istiodBinary(o.progress, o.version);
  const dir = await mkdtemp(join(tmpdir(), 'efl-istio-'));
  const out = join(dir, 'config_dump.json');
  const args = ['-config', files.join(','), '-out', out, ...(o.podIp ? ['-pod-ip', o.podIp] : []), ...(o.app ? ['-app', o.app] : []), ...(o.namespace ? ['-namespace', o.namespace] : []), ...(o.meshFiles?.length ? ['-mesh', o.meshFiles.join(',')] : [])];
  try {
    // istiod logs to stdout: the dump comes through a file. Loopback only: rendering needs no network.
    // A render keeps a core busy for a second or two: it takes a place in the machine's ledger like
    // a phase run, so a phase that needs the machine alone is not overtaken by the drift checks
    // (beside 100 renders, ratelimit-accuracy's caller could not hold its rate: measured).
    const slot = await acquireSlot({ label: `istiod render ${basename(files[0] ?? '')}`, cores: RENDER_CORES, alone: false, expectedMs: RENDER_MS });
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !o.flags?.includes(k)));
    const env = { ...inherited, ...o.env };
    const r = await execaOffline(bin, args, { reject: false, all: true, maxBuffer: 256 * 1024 * 1024, env, extendEnv: false }).finally(() => slot.release());
    if (r.exitCode !== 0) throw new UsageError(`Istio could not generate a config from ${files.join(', ')}`, { fix: 'check the YAML (Istio objects and Kubernetes Services)', evidence: String(r.all ?? '').split('\n').filter((l) => !/\tinfo\t/.test(l)).slice(-10).join('\n') });
    return JSON.parse(await readFile(out, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
