/**
 * `npm run lab -- import-config`: a config_dump made into envoy-configs/<scenario>/imported-<name>.yaml,
 * with the addresses of the dump's world mapped to the scenario's lab hosts (from a mapping file,
 * or, for a lab phase's own dump, from the evidence.json beside it), then validated by Envoy.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import YAML from 'yaml';
import { variantPath } from '../envoy/config.js';
import { importConfigDump } from '../envoy/import-config.js';
import type { EnvoyBinary } from '../envoy/install.js';
import { UsageError } from '../errors.js';
import { EVIDENCE_FILE } from '../evidence/store.js';
import { hostPlaceholder } from '../lab/lab-spec.js';
import { DNS_HOST, POD } from '../topology/topology.js';
import type { Scenario } from './scenario.js';
import { assertVariantValid } from './validate-variant.js';

/** ip → ${PLACEHOLDER}, for the hosts this scenario's lab has. */
async function addressMap(scenario: Scenario, dumpFile: string, mapFile?: string): Promise<{ map: Record<string, string>; from: string }> {
  const hosts = new Set([POD.name, DNS_HOST.name, ...scenario.world.upstreams.map((u) => u.name)]);
  let byIp: Record<string, string>;
  let from: string;
  if (mapFile) {
    const text = await readFile(mapFile, 'utf8').catch(() => {
      throw new UsageError(`cannot read the mapping file ${mapFile}`, { fix: 'a YAML map of your addresses to the lab hosts, e.g.\n  10.0.3.7: old\n  52.1.2.3: new' });
    });
    byIp = YAML.parse(text) ?? {};
    from = mapFile;
  } else {
    const evidence = join(dirname(dumpFile), EVIDENCE_FILE);
    const ips: Record<string, string> = existsSync(evidence) ? JSON.parse(await readFile(evidence, 'utf8')).ips : {};
    byIp = Object.fromEntries(Object.entries(ips).map(([host, ip]) => [ip, host]));
    from = existsSync(evidence) ? `${evidence} (the lab phase's own addresses)` : 'none (no --map and no evidence.json beside the dump)';
  }
  const unknown = Object.values(byIp).filter((h) => !hosts.has(h));
  if (unknown.length) throw new UsageError(`the mapping names host(s) ${unknown.join(', ')}, which ${scenario.id}'s lab does not have`, { fix: `its hosts: ${[...hosts].join(', ')}` });
  return { map: Object.fromEntries(Object.entries(byIp).map(([ip, host]) => [ip, `\${${hostPlaceholder(host)}}`])), from };
}

export async function importVariant(o: { scenario: Scenario; dumpFile: string; name: string; mapFile?: string; envoy: EnvoyBinary }): Promise<{ file: string; changes: string[]; mappedFrom: string }> {
  const text = await readFile(o.dumpFile, 'utf8').catch(() => {
    throw new UsageError(`cannot read ${o.dumpFile}`, { fix: 'give a config_dump JSON: `istioctl proxy-config all <pod> -o json`, `curl localhost:15000/config_dump`, or a lab phase\'s config_dump.json' });
  });
  let dump: { configs?: unknown[] };
  try {
    dump = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${o.dumpFile} is not JSON: ${(err as Error).message}`, { fix: 'give the config_dump as JSON (istioctl ... -o json)' });
  }
  if (!Array.isArray(dump.configs)) throw new UsageError(`${o.dumpFile} has no "configs" list: not an Envoy config_dump`, { fix: 'give the whole /config_dump output' });
  const { map, from } = await addressMap(o.scenario, o.dumpFile, o.mapFile);
  const { resources, changes } = importConfigDump(dump as { configs: any[] }, map);
  if (resources.listeners.length === 0) throw new UsageError(`${o.dumpFile} holds no listeners`, { fix: 'export the whole config (proxy-config all), not one section' });
  const file = variantPath(o.scenario.id, `imported-${o.name}`);
  const header = [`# Imported by \`npm run lab -- import-config ${o.dumpFile}\` (${new Date().toISOString()}).`, `# Addresses mapped from: ${from}.`, '# What was changed so the lab\'s upstream Envoy runs it, and why:', ...changes.map((c) => `# - ${c}`), ''].join('\n');
  await writeFile(file, `${header}\n${YAML.stringify(resources, { lineWidth: 0 })}`);
  await assertVariantValid(o.envoy, file);
  return { file, changes, mappedFrom: from };
}
