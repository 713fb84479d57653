import { beforeAll, describe, expect, it } from 'vitest';
import { HCM, TCP_PROXY, fillPlaceholders, forEachNetworkFilter, loadVariant, renderResources, sdsSecretNames, variantPath } from '../../src/envoy/config.js';
import { ensureEnvoy, type EnvoyBinary } from '../../src/envoy/install.js';
import { validateResources } from '../../src/envoy/validate.js';
import { bootstrapYaml, validationBootstrapYaml, xdsPaths } from '../../src/envoy/bootstrap.js';
import YAML from 'yaml';
import { labVars } from '../../src/lab/lab-spec.js';
import { AddressPlan } from '../../src/topology/addresses.js';
import { scenarioIds } from '../../src/scenario/registry.js';
import { validateVariantFile } from '../../src/scenario/validate-variant.js';
import { readdirSync } from 'node:fs';
import { ENVOY_CONFIGS_DIR } from '../../src/paths.js';

const vars = labVars(new AddressPlan('000000'), { upstreams: [{ name: 'old', octet: 21 }] });

describe('config variants', () => {
  it('a fix overlay keeps the base and changes only what it names', async () => {
    const broken = await loadVariant(variantPath('sticky-503', 'broken'));
    const fix = await loadVariant(variantPath('sticky-503', 'fix-lua-drain'));
    expect(fix.listeners.map((l) => l.name)).toEqual(broken.listeners.map((l) => l.name));
    expect(fix.routes).toEqual(broken.routes);
    const hcm = fix.listeners[1].filter_chains[0].filters[0].typed_config;
    expect(hcm.http_filters.map((f: any) => f.name)).toEqual(['envoy.filters.http.lua', 'envoy.filters.http.router']);
    expect(hcm.stat_prefix).toBe('outbound_0.0.0.0_80');
  });

  it("runtime values: an overlay's merge over its base's, and a variant without them has none", async () => {
    expect((await loadVariant(variantPath('grpc-trailers-oghttp2', 'broken'))).runtime).toBeUndefined();
    expect((await loadVariant(variantPath('grpc-trailers-oghttp2', 'fix-nghttp2'))).runtime).toEqual({ 'envoy.reloadable_features.http2_use_oghttp2': false });
  });

  it('renders: access log on every HCM and tcp_proxy, RDS from the lab file', async () => {
    const r = renderResources(await loadVariant(variantPath('sticky-503', 'broken')), { vars, envoyVersion: '1.40.0', accessLogPath: '/x/access.jsonl', rdsPath: '/x/xds/rds.yaml' });
    let n = 0;
    forEachNetworkFilter(r, (f) => {
      if (f.name !== HCM && f.name !== TCP_PROXY) return;
      n++;
      expect(f.typed_config.access_log[0].typed_config.path).toBe('/x/access.jsonl');
      if (f.name === HCM) expect(f.typed_config.rds.config_source.path_config_source.path).toBe('/x/xds/rds.yaml');
    });
    expect(n).toBe(3);
  });

  it('fills placeholders and names an unknown one with the known ones', () => {
    expect(fillPlaceholders({ a: '${DNS_IP}:53' }, vars)).toEqual({ a: '198.18.0.53:53' });
    expect(() => fillPlaceholders({ a: '${NOPE}' }, vars)).toThrow(/unknown placeholder \$\{NOPE\}/);
  });
});

describe('envoy --mode validate', () => {
  let envoy: EnvoyBinary;
  beforeAll(async () => {
    envoy = await ensureEnvoy();
  });

  it('accepts every config variant in envoy-configs/, and rejects every bad-*.yaml', async () => {
    const dirs = readdirSync(ENVOY_CONFIGS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(dirs).toEqual(expect.arrayContaining(scenarioIds()));
    for (const id of dirs) {
      for (const file of readdirSync(`${ENVOY_CONFIGS_DIR}/${id}`).filter((f) => f.endsWith('.yaml'))) {
        const result = await validateVariantFile(envoy, `${ENVOY_CONFIGS_DIR}/${id}/${file}`);
        expect(result.ok, `${id}/${file}: ${result.message}`).toBe(!file.startsWith('bad-'));
      }
    }
  });

  it("rejects two filter chains with the same match and quotes Envoy's reason", async () => {
    const chain = (name: string) => ({ name, filters: [{ name: TCP_PROXY, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: name, cluster: 'c' } }] });
    const r = {
      listeners: [{ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 10443 } }, filter_chains: [chain('a'), chain('b')] }],
      clusters: [{ name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [] } }],
      routes: [],
    };
    const result = await validateResources(envoy, r);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/same matching rules/);
  });

  it("a variant's runtime values go into the bootstrap's static layer, for a lab and for validation", async () => {
    const runtime = { 'envoy.reloadable_features.http2_use_oghttp2': false };
    const lab = YAML.parse(bootstrapYaml({ adminSocket: '/x/admin.sock', xds: xdsPaths('/x/xds'), runtime }));
    expect(lab.layered_runtime.layers).toEqual([{ name: 'static', static_layer: runtime }, { name: 'admin', admin_layer: {} }]);
    expect(YAML.parse(validationBootstrapYaml({ listeners: [], clusters: [], routes: [], runtime })).layered_runtime.layers[0].static_layer).toEqual(runtime);
    expect((await validateResources(envoy, { listeners: [], clusters: [], routes: [], runtime })).ok).toBe(true);
  });
});

describe('overlay errors name their file', () => {
  it('a $delete of something the base does not have is an EnvoyConfigError naming the overlay', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { join, relative } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'efl-overlay-'));
    const base = relative(dir, variantPath('sticky-503', 'broken'));
    await writeFile(join(dir, 'fix-typo.yaml'), `base: ${base}\nclusters:\n  - name: PassthroughClustr\n    $delete: true\n`);
    await expect(loadVariant(join(dir, 'fix-typo.yaml'))).rejects.toMatchObject({
      name: 'EnvoyConfigError',
      message: expect.stringMatching(/fix-typo\.yaml: overlay deletes "PassthroughClustr", which the base does not have/),
    });
  });
});

describe('what the harness adds when it renders a variant for a lab', () => {
  const tls = { name: 'envoy.transport_sockets.tls', typed_config: { common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'default' }], combined_validation_context: { validation_context_sds_secret_config: { name: 'ROOTCA' } } } } };
  const source = {
    listeners: [{ name: 'virtualInbound', access_log: 'lab', filter_chains: [] }],
    clusters: [{ name: 'outbound|8080||app.test', type: 'EDS', transport_socket: tls, load_assignment: { cluster_name: 'outbound|8080||app.test', endpoints: [{ lb_endpoints: [] }] } }],
    routes: [],
  };

  it("an EDS cluster's endpoints go to its own EDS file, its TLS secrets to SDS files, a listener's `access_log: lab` becomes the lab's log", () => {
    const r = renderResources(source, { vars: {}, envoyVersion: '1.40.0', accessLogPath: '/x/access.jsonl', rdsPath: '/x/xds/rds.yaml', edsDir: '/x/xds', sdsDir: '/x/xds' });
    const c = r.clusters[0];
    expect(c.load_assignment).toBeUndefined();
    expect(c.eds_cluster_config.eds_config.path_config_source.path).toBe('/x/xds/eds-outbound_8080__app.test.yaml');
    expect(r.endpoints).toEqual([{ cluster_name: 'outbound|8080||app.test', endpoints: [{ lb_endpoints: [] }] }]);
    const ctx = c.transport_socket.typed_config.common_tls_context;
    expect(ctx.tls_certificate_sds_secret_configs[0].sds_config.path_config_source.path).toBe('/x/xds/sds-default.yaml');
    expect(ctx.combined_validation_context.validation_context_sds_secret_config.sds_config.path_config_source.path).toBe('/x/xds/sds-ROOTCA.yaml');
    expect(r.listeners[0].access_log[0].typed_config.path).toBe('/x/access.jsonl');
    expect(sdsSecretNames(r).sort()).toEqual(['ROOTCA', 'default']);
  });

  it('for validation (no EDS directory) the same cluster is STATIC with its endpoints', () => {
    const r = renderResources(source, { vars: {}, envoyVersion: '1.40.0', accessLogPath: '/dev/null' });
    expect(r.clusters[0]).toMatchObject({ type: 'STATIC', load_assignment: { cluster_name: 'outbound|8080||app.test' } });
  });
});
