/**
 * The docker-compose playground's Envoy configuration: a scenario's config variant rendered for
 * the playground's fixed subnet (198.18.200.0/24) into lab/playground/envoy/. Envoy watches the
 * xDS files, so rendering another variant while the playground runs applies it live.
 */
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bootstrapYaml, xdsDocuments, xdsPaths } from '../envoy/bootstrap.js';
import { loadVariant, renderResources, variantPath } from '../envoy/config.js';
import { LAB_DIR } from '../paths.js';

export const PLAYGROUND_DIR = join(LAB_DIR, 'playground');
/** Host addresses in docker-compose.yml. */
export const PLAYGROUND_IPS = { pod: '198.18.200.10', dns: '198.18.200.53', old: '198.18.200.21', new: '198.18.200.22', redis: '198.18.200.40' };
/** Where lab/playground is mounted in the containers. */
const IN_CONTAINER = '/playground';

export async function renderPlayground(o: { scenario?: string; variant?: string; envoyVersion: string }): Promise<string> {
  const scenario = o.scenario ?? 'sticky-503';
  const variant = o.variant ?? 'broken';
  const resources = renderResources(await loadVariant(variantPath(scenario, variant)), {
    vars: { DNS_IP: PLAYGROUND_IPS.dns, LAB_CIDR: '198.18.200.0/24', UPSTREAM_OLD_IP: PLAYGROUND_IPS.old, UPSTREAM_NEW_IP: PLAYGROUND_IPS.new, UPSTREAM_REDIS_IP: PLAYGROUND_IPS.redis },
    envoyVersion: o.envoyVersion,
    accessLogPath: '/dev/stdout',
    rdsPath: `${IN_CONTAINER}/envoy/xds/rds.yaml`,
  });
  const dir = join(PLAYGROUND_DIR, 'envoy');
  await mkdir(join(dir, 'xds'), { recursive: true });
  await chmod(dir, 0o755);
  await chmod(join(dir, 'xds'), 0o755);
  const xds = xdsPaths(`${IN_CONTAINER}/envoy/xds`);
  await writeFile(join(dir, 'bootstrap.yaml'), bootstrapYaml({ adminPort: 15000, xds, runtime: resources.runtime }), { mode: 0o644 });
  const docs = xdsDocuments(resources, `${variant}-${Date.now()}`);
  // Clusters before routes before listeners, each by rename: the order istiod pushes in.
  for (const kind of ['cds', 'rds', 'lds'] as const) {
    const file = join(dir, 'xds', `${kind}.yaml`);
    await writeFile(`${file}.tmp`, docs[kind], { mode: 0o644 });
    await rename(`${file}.tmp`, file);
  }
  const records = join(PLAYGROUND_DIR, 'dns-records.json');
  if (!existsSync(records)) await writeFile(records, `${JSON.stringify({ 'test-com.test': [PLAYGROUND_IPS.old], 'redis-ext.test': [PLAYGROUND_IPS.redis] }, null, 2)}\n`, { mode: 0o644 });
  return `${scenario}/${variant}`;
}
