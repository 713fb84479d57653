/**
 * Loads a scenario's Envoy configuration variant (envoy-configs/<scenario>/<variant>.yaml),
 * resolves its `base:` overlay chain and renders it for one lab: placeholders filled, the JSON
 * access log put on every HCM / tcp_proxy, every `rds:` pointed at the lab's RDS file.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { EnvoyConfigError } from '../errors.js';
import { configsDir, resolveBase } from './configs-dir.js';
import { accessLogConfig } from './access-log.js';
import { OverlayError, mergeOverlay } from './overlay.js';

export interface EnvoyResources {
  listeners: any[];
  clusters: any[];
  /** RouteConfiguration resources, served by RDS. */
  routes: any[];
  /**
   * ClusterLoadAssignment resources, served by EDS: one per `type: EDS` cluster, taken from its
   * `load_assignment` when rendered for a lab (absent before rendering).
   */
  endpoints?: any[];
  /**
   * Envoy runtime values (the bootstrap's static layer), e.g. a reloadable feature's flag: what
   * Istio sets from ProxyConfig.runtimeValues. Read when Envoy starts: a push cannot change them.
   */
  runtime?: Record<string, string | number | boolean>;
}

export const HCM = 'envoy.filters.network.http_connection_manager';
export const TCP_PROXY = 'envoy.filters.network.tcp_proxy';

/** A config variant file, e.g. ("sticky-503", "fix-dns-cluster"): envoy-configs/<id>/, or beside a user's scenario file. */
export function variantPath(scenario: string, variant: string): string {
  return join(configsDir(scenario), `${variant}.yaml`);
}

export async function loadVariant(path: string, seen: string[] = []): Promise<EnvoyResources> {
  if (!existsSync(path)) throw new EnvoyConfigError(`config file ${path} does not exist`, { fix: 'check the variant name in the scenario' });
  if (seen.includes(path)) throw new EnvoyConfigError(`config ${path}: "base:" chain loops (${[...seen, path].join(' -> ')})`);
  let doc: any;
  try {
    doc = YAML.parse(await readFile(path, 'utf8')) ?? {};
  } catch (err) {
    throw new EnvoyConfigError(`config ${path} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const unknown = Object.keys(doc).filter((k) => !['base', 'listeners', 'clusters', 'routes', 'runtime'].includes(k));
  if (unknown.length) throw new EnvoyConfigError(`config ${path}: unknown top-level key(s) ${unknown.join(', ')}`, { fix: 'allowed: base, listeners, clusters, routes, runtime' });
  const base: EnvoyResources = doc.base ? await loadVariant(resolveBase(path, doc.base), [...seen, path]) : { listeners: [], clusters: [], routes: [] };
  // A list the overlay does not mention stays as the base has it.
  try {
    return {
      listeners: (mergeOverlay(base.listeners, doc.listeners) as any[]) ?? [],
      clusters: (mergeOverlay(base.clusters, doc.clusters) as any[]) ?? [],
      routes: (mergeOverlay(base.routes, doc.routes) as any[]) ?? [],
      ...(base.runtime || doc.runtime ? { runtime: { ...base.runtime, ...doc.runtime } } : {}),
    };
  } catch (err) {
    if (!(err instanceof OverlayError)) throw err;
    throw new EnvoyConfigError(`config ${path}: ${err.message}`, { fix: `fix the overlay in ${path} or its base ${doc.base}`, cause: err });
  }
}

/** Replaces every ${NAME} in string values; an unknown name is an error that lists the known ones. */
export function fillPlaceholders<T>(value: T, vars: Record<string, string>, where = 'config'): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
        if (!(name in vars)) throw new EnvoyConfigError(`${where}: unknown placeholder \${${name}}`, { fix: `known placeholders: ${Object.keys(vars).map((k) => `\${${k}}`).join(', ')}` });
        return vars[name]!;
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** Calls `visit` for every network filter (in filter chains and default filter chains). */
export function forEachNetworkFilter(resources: EnvoyResources, visit: (filter: any, listener: any) => void): void {
  for (const listener of resources.listeners) {
    const chains = [...(listener.filter_chains ?? []), ...(listener.default_filter_chain ? [listener.default_filter_chain] : [])];
    for (const chain of chains) for (const filter of chain.filters ?? []) visit(filter, listener);
  }
}

export interface RenderOptions {
  vars: Record<string, string>;
  /** The Envoy that will run it: decides which access-log fields exist. */
  envoyVersion: string;
  accessLogPath: string;
  /** Where RDS reads route configurations from; undefined = inline them (validation). */
  rdsPath?: string;
  /**
   * Where EDS reads each `type: EDS` cluster's endpoints from (one file per cluster: Envoy's EDS
   * takes exactly one ClusterLoadAssignment per update); undefined = the cluster is made STATIC
   * with the same endpoints (validation, the playground).
   */
  edsDir?: string;
  /**
   * Where SDS reads the secrets a TLS context names without a source (`default`, `ROOTCA`: the
   * names pilot-agent serves): <sdsDir>/sds-<name>.yaml, written by the Envoy that runs it.
   * Undefined = left as they are (validation).
   */
  sdsDir?: string;
}

/** The SDS file of one secret (Envoy.start writes it). */
export function sdsFile(sdsDir: string, secret: string): string {
  return join(sdsDir, `sds-${secret}.yaml`);
}

/** The SDS secrets a config names (tls_certificate_sds_secret_configs, validation_context_sds_secret_config). */
export function sdsSecretNames(r: EnvoyResources): string[] {
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, any>;
    for (const c of o.tls_certificate_sds_secret_configs ?? []) names.add(c.name);
    if (o.validation_context_sds_secret_config) names.add(o.validation_context_sds_secret_config.name);
    Object.values(o).forEach(walk);
  };
  walk(r.listeners);
  walk(r.clusters);
  return [...names];
}

/** Each secret a TLS context names without a source is read from its SDS file, as pilot-agent serves it over SDS. */
function pointSecretsAtSds(r: EnvoyResources, sdsDir: string | undefined): void {
  if (!sdsDir) return;
  const source = (name: string) => ({ resource_api_version: 'V3', path_config_source: { path: sdsFile(sdsDir, name), watched_directory: { path: sdsDir } } });
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, any>;
    for (const c of o.tls_certificate_sds_secret_configs ?? []) c.sds_config ??= source(c.name);
    if (o.validation_context_sds_secret_config) o.validation_context_sds_secret_config.sds_config ??= source(o.validation_context_sds_secret_config.name);
    Object.values(o).forEach(walk);
  };
  walk(r.listeners);
  walk(r.clusters);
}

/** The EDS file of one cluster: its name with every character a file name should not hold replaced. */
export function edsFile(edsDir: string, cluster: string): string {
  return join(edsDir, `eds-${cluster.replace(/[^A-Za-z0-9.-]/g, '_')}.yaml`);
}

/**
 * An EDS cluster's endpoints go to its own EDS file, as istiod sends them apart from the cluster;
 * the cluster keeps only where to read them. Without a file (validation) it is the STATIC cluster
 * with the same endpoints.
 */
function moveEndpointsToEds(r: EnvoyResources, edsDir: string | undefined): void {
  r.endpoints = [];
  for (const c of r.clusters) {
    if (c.type !== 'EDS' || !c.load_assignment) continue;
    if (!edsDir) {
      c.type = 'STATIC';
      continue;
    }
    const path = edsFile(edsDir, c.name);
    r.endpoints.push({ ...c.load_assignment, cluster_name: c.eds_cluster_config?.service_name ?? c.name });
    delete c.load_assignment;
    c.eds_cluster_config = { ...c.eds_cluster_config, eds_config: { resource_api_version: 'V3', path_config_source: { path, watched_directory: { path: edsDir } } } };
  }
}

export function renderResources(source: EnvoyResources, o: RenderOptions): EnvoyResources {
  const r = structuredClone(fillPlaceholders(source, o.vars));
  moveEndpointsToEds(r, o.edsDir);
  pointSecretsAtSds(r, o.sdsDir);
  // A listener's own access log (`access_log: lab`): the connections it turns away before any
  // filter chain (NR filter_chain_not_found), which the chains' logs never see.
  for (const l of r.listeners) if (l.access_log === 'lab') l.access_log = accessLogConfig(o.accessLogPath, 'tcp', o.envoyVersion);
  forEachNetworkFilter(r, (filter) => {
    const tc = filter.typed_config;
    if (!tc) return;
    if (filter.name === HCM || filter.name === TCP_PROXY) {
      tc.access_log ??= accessLogConfig(o.accessLogPath, filter.name === HCM ? 'http' : 'tcp', o.envoyVersion);
    }
    if (filter.name === HCM && tc.rds) {
      const name = tc.rds.route_config_name;
      if (o.rdsPath) {
        tc.rds.config_source ??= {
          resource_api_version: 'V3',
          path_config_source: { path: o.rdsPath, watched_directory: { path: join(o.rdsPath, '..') } },
        };
      } else {
        const route = r.routes.find((x) => x.name === name);
        if (!route) throw new EnvoyConfigError(`HCM asks RDS for route "${name}", which the config does not define`, { fix: `add a route named "${name}" under routes:` });
        delete tc.rds;
        tc.route_config = route;
      }
    }
  });
  return r;
}
