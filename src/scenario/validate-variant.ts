/**
 * `envoy --mode validate` for a config variant file, rendered with canonical lab values: the
 * scenario that owns the file (envoy-configs/<scenario>/…) supplies its upstream hosts, so every
 * ${UPSTREAM_<NAME>_IP} placeholder has a value. Used before every phase, by `lab validate` and
 * by the unit tests.
 */
import { basename, dirname } from 'node:path';
import { loadVariant, renderResources, sdsSecretNames } from '../envoy/config.js';
import { workloadIdentity } from '../lab/control-plane/workload-identity.js';
import type { EnvoyBinary } from '../envoy/install.js';
import { validateResources, type ValidationResult } from '../envoy/validate.js';
import { EnvoyConfigError } from '../errors.js';
import { labVars, type UpstreamSpec } from '../lab/lab-spec.js';
import { AddressPlan } from '../topology/addresses.js';
import { loadScenario, scenarioIds } from './registry.js';

/** `upstreams`: the hosts whose placeholders the file may use (default: the scenario whose folder holds it). */
export async function validateVariantFile(envoy: EnvoyBinary, configPath: string, upstreams?: UpstreamSpec[]): Promise<ValidationResult> {
  const owner = basename(dirname(configPath));
  const resources = await loadVariant(configPath);
  upstreams ??= scenarioIds().includes(owner) ? (await loadScenario(owner)).world.upstreams : standInUpstreams(resources);
  const rendered = renderResources(resources, {
    vars: labVars(new AddressPlan('000000'), { upstreams }),
    accessLogPath: '/dev/null',
    envoyVersion: envoy.version,
  });
  // SDS secrets (mTLS) are checked against the lab's own workload certificate.
  return validateResources(envoy, rendered, sdsSecretNames(rendered).length ? await workloadIdentity('pod') : undefined);
}

/**
 * A shared base (envoy-configs/common/) gets its hosts from the scenarios that use it: validated
 * on its own, each ${UPSTREAM_<NAME>_IP} it names stands for a host of that name.
 */
function standInUpstreams(resources: unknown): UpstreamSpec[] {
  const names = [...new Set([...JSON.stringify(resources).matchAll(/\$\{UPSTREAM_([A-Z0-9_]+)_IP\}/g)].map((m) => m[1]!.toLowerCase().replace(/_/g, '-')))];
  return names.map((name, i) => ({ name, octet: 30 + i, ports: [8080] }));
}

export async function assertVariantValid(envoy: EnvoyBinary, configPath: string, upstreams?: UpstreamSpec[]): Promise<void> {
  const result = await validateVariantFile(envoy, configPath, upstreams);
  const shown = configPath.replace(/^.*\/envoy-configs\//, 'envoy-configs/');
  if (!result.ok) {
    throw new EnvoyConfigError(`Envoy ${envoy.version} rejects ${shown}: ${result.message}`, { fix: `fix ${shown}; check it alone with \`npm run lab -- validate ${shown}\`` });
  }
}
