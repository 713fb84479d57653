/**
 * Which backends the scenario tests run on. LAB_BACKENDS names them (e.g. "netns,docker"); under
 * CI (CI=true) both are required unless LAB_BACKENDS says otherwise. A required backend that
 * cannot run here fails the suite with the reason: CI must never turn a broken Docker daemon
 * into silently skipped tests. Without either variable, what cannot run is skipped with its reason.
 */
import type { BackendKind } from '../../src/backends/backend.js';
import { dockerCapability, fixFor, netnsCapability } from '../../src/backends/capabilities.js';
import { DEFAULT_ENVOY_VERSION } from '../../src/envoy/version.js';

export interface BackendUnderTest {
  kind: BackendKind;
  /** Why it cannot run here; undefined when it can. */
  unavailable?: string;
}

export async function backendsUnderTest(envoyVersion = process.env.ENVOY_VERSION ?? DEFAULT_ENVOY_VERSION): Promise<BackendUnderTest[]> {
  const named = process.env.LAB_BACKENDS?.split(',').map((s) => s.trim()).filter(Boolean) as BackendKind[] | undefined;
  const required = named ?? (process.env.CI ? ['netns', 'docker'] : undefined);
  const netns = netnsCapability();
  const docker = await dockerCapability(envoyVersion);
  const why: Record<BackendKind, string | undefined> = {
    netns: netns.ok ? undefined : `netns cannot run here: missing ${netns.missing.map((r) => r.what).join(', ')} (${fixFor(netns.missing)})`,
    docker: docker.ok ? undefined : `docker cannot run here: ${docker.why} (${docker.fix})`,
  };
  for (const kind of required ?? []) {
    if (!(kind in why)) throw new Error(`LAB_BACKENDS names "${kind}": the backends are netns, docker`);
    if (why[kind]) throw new Error(`${process.env.LAB_BACKENDS ? `LAB_BACKENDS=${process.env.LAB_BACKENDS}` : 'CI'} requires the ${kind} backend, which ${why[kind]}`);
  }
  return (required ?? ['netns', 'docker']).map((kind) => ({ kind, unavailable: why[kind] }));
}

/** The netns backend when it can run here (tests that only need one real lab use it). */
export async function netnsUnderTest(): Promise<BackendUnderTest> {
  return (await backendsUnderTest()).find((b) => b.kind === 'netns') ?? { kind: 'netns', unavailable: 'LAB_BACKENDS leaves netns out' };
}
