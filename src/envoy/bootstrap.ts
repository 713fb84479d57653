/**
 * Envoy's bootstrap for a lab and the file-based xDS documents it watches. Listeners, clusters,
 * routes and EDS clusters' endpoints come from files (LDS/CDS/RDS/EDS with path_config_source +
 * watched_directory), so a fix or an endpoint change can be
 * applied live by renaming a new file over the old one, the way istiod pushes a change.
 */
import YAML from 'yaml';
import type { EnvoyResources } from './config.js';

const TYPE = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
};

export interface XdsPaths {
  dir: string;
  lds: string;
  cds: string;
  rds: string;
}

export function xdsPaths(dir: string): XdsPaths {
  return { dir, lds: `${dir}/lds.yaml`, cds: `${dir}/cds.yaml`, rds: `${dir}/rds.yaml` };
}

const pathSource = (path: string, dir: string) => ({
  resource_api_version: 'V3',
  path_config_source: { path, watched_directory: { path: dir } },
});

/** Envoy's runtime layers: the variant's values (static), then the admin layer (/runtime_modify). */
const runtimeLayers = (values: EnvoyResources['runtime'] = {}) => ({ layers: [{ name: 'static', static_layer: values }, { name: 'admin', admin_layer: {} }] });

export function bootstrapYaml(o: { adminSocket?: string; adminPort?: number; xds: XdsPaths; nodeId?: string; runtime?: EnvoyResources['runtime'] }): string {
  return YAML.stringify({
    node: { id: o.nodeId ?? 'sidecar~lab-pod', cluster: 'lab' },
    // Admin on a unix socket: reachable by the harness whatever namespace Envoy runs in. The
    // playground uses 127.0.0.1:15000 in the pod, as Istio does.
    admin: {
      address: o.adminSocket ? { pipe: { path: o.adminSocket, mode: 0o666 } } : { socket_address: { address: '127.0.0.1', port_value: o.adminPort ?? 15000 } },
    },
    layered_runtime: runtimeLayers(o.runtime),
    dynamic_resources: { lds_config: pathSource(o.xds.lds, o.xds.dir), cds_config: pathSource(o.xds.cds, o.xds.dir) },
  });
}

/** Where an ADS sidecar gets its config (--istio: lab/istiod on its own lab host), and who it says it is. */
export interface AdsSource {
  address: string;
  port: number;
  node: { id: string; cluster: string; metadata: Record<string, unknown> };
}

/**
 * The bootstrap of a sidecar that gets everything from istiod over ADS, as pilot-agent writes it
 * (trimmed to what upstream Envoy needs): LDS and CDS over one gRPC stream, routes and endpoints
 * by ADS as Istio's config says.
 */
export function adsBootstrapYaml(o: { adminSocket: string; ads: AdsSource }): string {
  return YAML.stringify({
    node: o.ads.node,
    admin: { address: { pipe: { path: o.adminSocket, mode: 0o666 } } },
    layered_runtime: runtimeLayers(),
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [
        {
          name: 'xds-grpc',
          type: 'STATIC',
          connect_timeout: '1s',
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
          load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: o.ads.address, port_value: o.ads.port } } } }] }] },
        },
      ],
    },
  });
}

/** The EDS file of one cluster: a DiscoveryResponse with its one ClusterLoadAssignment. */
export function edsDocument(assignment: any, version: string): string {
  return YAML.stringify({ version_info: version, resources: [{ '@type': TYPE.endpoints, ...assignment }] });
}

/** DiscoveryResponse-shaped documents for the three files. */
export function xdsDocuments(r: EnvoyResources, version: string): { lds: string; cds: string; rds: string } {
  const doc = (type: string, resources: any[]) => YAML.stringify({ version_info: version, resources: resources.map((x) => ({ '@type': type, ...x })) });
  return { lds: doc(TYPE.listener, r.listeners), cds: doc(TYPE.cluster, r.clusters), rds: doc(TYPE.route, r.routes) };
}

/**
 * Everything static, routes inline: what `envoy --mode validate` checks. SDS secrets the config
 * names (`default`, `ROOTCA`) are given as static secrets from `identity`'s files.
 */
export function validationBootstrapYaml(r: EnvoyResources, identity?: { cert: string; key: string; ca: string }): string {
  const secrets = identity
    ? [
        { name: 'default', tls_certificate: { certificate_chain: { filename: identity.cert }, private_key: { filename: identity.key } } },
        { name: 'ROOTCA', validation_context: { trusted_ca: { filename: identity.ca } } },
      ]
    : undefined;
  return YAML.stringify({
    node: { id: 'validate', cluster: 'lab' },
    ...(r.runtime ? { layered_runtime: runtimeLayers(r.runtime) } : {}),
    static_resources: { listeners: r.listeners, clusters: r.clusters, ...(secrets ? { secrets } : {}) },
  });
}
