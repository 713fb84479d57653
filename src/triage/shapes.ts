/**
 * Beyond the access log: what an incident needs of the sidecar's config and what it leaves in its
 * counters, declared by a signature (`config`, `counters`) and held against a pod's own
 * config_dump and /stats when the user has them (`triage --config-dump`, `--stats`). A shape is
 * checked only when that evidence is given: without it the shape says "not checked", never a
 * match or a miss.
 */
import { resourcesOfDump } from '../envoy/import-config.js';
import type { EnvoyResources } from '../envoy/config.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any: a config_dump is whatever Envoy wrote

export interface Holds {
  /** Undefined: what is given cannot tell (a counter the excerpt does not carry). */
  holds: boolean | undefined;
  evidence: string;
}

/** A shape of the sidecar's config (from a config_dump) the incident needs. */
export interface ConfigShape {
  says: string;
  holds: (config: EnvoyResources) => Holds;
}

/** A mark the incident leaves in Envoy's counters (from /stats, counted since Envoy started). */
export interface CounterShape {
  says: string;
  /** The counters it reads: in a pasted excerpt, none of them present means "not pasted", not zero. */
  about?: RegExp;
  holds: (stats: Map<string, number>) => Holds;
}

/** The listeners, clusters and routes of a config_dump (static and dynamic). */
export const configOfDump = (dump: Json): EnvoyResources => resourcesOfDump(dump);

const portOf = (l: Json): number | undefined => l?.address?.socket_address?.port_value;
const HCM_NAME = 'envoy.filters.network.http_connection_manager';
/** Istio's own HTTP listeners (admin, debug, agent, health, Prometheus): no app traffic passes them. */
const ISTIO_OWN_PORTS = [15000, 15004, 15020, 15021, 15090];
/** Every HTTP connection manager of the dump's listeners that app traffic passes, with its listener's name. */
const hcmsOf = (c: EnvoyResources): { listener: string; hcm: Json }[] =>
  c.listeners.filter((l: Json) => !ISTIO_OWN_PORTS.includes(portOf(l) ?? -1)).flatMap((l: Json) => [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])].flatMap((ch: Json) => (ch.filters ?? []).filter((f: Json) => f.name === HCM_NAME).map((f: Json) => ({ listener: String(l.name), hcm: f.typed_config ?? {} }))));
/**
 * Some HCM has the setting `lacks` describes: holds when at least one does (the user's service may
 * be on any port, so no port is assumed).
 */
const someHcm = (says: string, lacks: (hcm: Json) => boolean): ConfigShape => ({
  says,
  holds: (c) => {
    const all = hcmsOf(c);
    const hit = all.filter(({ hcm }) => lacks(hcm));
    return { holds: hit.length > 0, evidence: hit.length ? `${hit.length} of ${all.length} HTTP listener(s), e.g. ${[...new Set(hit.map((h) => h.listener))].slice(0, 3).join(', ')}` : `none of ${all.length} HTTP listener(s)` };
  },
});
const tcpProxyCluster = (chain: Json): string | undefined => (chain?.filters ?? []).find((f: Json) => f.name === 'envoy.filters.network.tcp_proxy')?.typed_config?.cluster;

const seconds = (d: unknown): number | undefined => (typeof d === 'string' && /^[\d.]+s$/.test(d) ? Number(d.slice(0, -1)) : undefined);

export const configShapes = {
  /**
   * PassthroughCluster (ORIGINAL_DST) sweeps its hosts between an app's periodic calls: its
   * cleanup_interval is Envoy's default 5 s or anything under a minute (what the leak needs).
   */
  passthroughSweepsHosts: (): ConfigShape => ({
    says: "PassthroughCluster sweeps its hosts between calls (cleanup_interval under a minute; Envoy's default is 5 s)",
    holds: (c) => {
      const pass = c.clusters.find((cl: Json) => cl.name === 'PassthroughCluster');
      if (!pass) return { holds: false, evidence: 'no PassthroughCluster (REGISTRY_ONLY?)' };
      const s = pass.cleanup_interval === undefined ? 5 : seconds(pass.cleanup_interval);
      return { holds: s !== undefined && s < 60, evidence: `PassthroughCluster cleanup_interval ${pass.cleanup_interval ?? '5s (default)'}` };
    },
  }),
  /**
   * Some service cluster routes no traffic to unhealthy hosts however few are healthy: its
   * healthy_panic_threshold is 0 (Istio's default where a DestinationRule sets no minHealthPercent).
   */
  noPanicRouting: (): ConfigShape => ({
    says: 'a cluster with healthy_panic_threshold 0 (no panic routing: Istio without minHealthPercent)',
    holds: (c) => {
      const zero = c.clusters.filter((cl: Json) => /^outbound\|/.test(String(cl.name)) && cl.common_lb_config?.healthy_panic_threshold !== undefined && !(cl.common_lb_config.healthy_panic_threshold.value > 0));
      return { holds: zero.length > 0, evidence: zero.length ? `${zero[0].name}: healthy_panic_threshold 0` : 'no outbound cluster sets healthy_panic_threshold 0' };
    },
  }),
  /**
   * WebSocket upgrades off for some traffic: an HCM without `upgrade_configs` for websocket, or a
   * route that turns them off (what istiod renders for a port declared other than HTTP/1.1
   * upgrades allow). Envoy then answers the handshake 403 itself.
   */
  noWebSocketUpgrade: (): ConfigShape => ({
    says: 'WebSocket upgrades are off on an HTTP listener or route (no upgrade_configs websocket, or enabled: false)',
    holds: (c) => {
      const websocket = (list: Json[] | undefined) => (list ?? []).find((u: Json) => u.upgrade_type === 'websocket');
      const hcms = hcmsOf(c).filter(({ hcm }) => websocket(hcm.upgrade_configs)?.enabled === false || !websocket(hcm.upgrade_configs));
      const routes = c.routes.flatMap((r: Json) => (r.virtual_hosts ?? []).flatMap((v: Json) => (v.routes ?? []).filter((rt: Json) => websocket(rt.route?.upgrade_configs)?.enabled === false).map(() => `route ${r.name} ${v.name}`)));
      const off = [...hcms.map((h) => `listener ${h.listener}`), ...routes];
      return { holds: off.length > 0, evidence: off.length ? `off on ${off.slice(0, 3).join(', ')}${off.length > 3 ? ` (+${off.length - 3})` : ''}` : 'every HTTP listener and route allows them' };
    },
  }),
  /** An HCM that refuses HTTP/1.0 (accept_http_10 not set: Istio without PILOT_HTTP10). */
  refusesHttp10: (): ConfigShape => someHcm('an HTTP listener refuses HTTP/1.0 (http_protocol_options.accept_http_10 not set)', (h) => h.http_protocol_options?.accept_http_10 !== true),
  /** An HCM whose request-header limit is Envoy's default or lower (60 KiB; Istio sets none). */
  requestHeadersCapped: (kb = 60): ConfigShape => someHcm(`an HTTP listener caps request headers at ${kb} KiB or less (max_request_headers_kb, default 60)`, (h) => (h.max_request_headers_kb ?? 60) <= kb),
  /** An HCM whose header-count limit is Envoy's default or lower (100; Istio sets none). */
  requestHeaderCountCapped: (count = 100): ConfigShape => someHcm(`an HTTP listener caps a request at ${count} headers or fewer (common_http_protocol_options.max_headers_count, default 100)`, (h) => (h.common_http_protocol_options?.max_headers_count ?? 100) <= count),
  /** A route that sends traffic to a cluster the sidecar does not have (a subset no DestinationRule defines). */
  routeToMissingCluster: (): ConfigShape => ({
    says: 'a route names a cluster the sidecar does not have',
    holds: (c) => {
      const clusters = new Set(c.clusters.map((x: Json) => x.name));
      const named = c.routes.flatMap((r: Json) => (r.virtual_hosts ?? []).flatMap((v: Json) => (v.routes ?? []).flatMap((rt: Json) => [rt.route?.cluster, ...(rt.route?.weighted_clusters?.clusters ?? []).map((w: Json) => w.name)]))).filter(Boolean) as string[];
      const missing = [...new Set(named.filter((n) => !clusters.has(n)))];
      return { holds: missing.length > 0, evidence: missing.length ? `routes name ${missing.slice(0, 3).join(', ')}, absent from ${clusters.size} cluster(s)` : `all ${new Set(named).size} cluster(s) the routes name exist` };
    },
  }),
  /** ALLOW_ANY on an HTTP port: the port's route sends any host it does not know to PassthroughCluster (ORIGINAL_DST). */
  unknownHostsToPassthrough: (port: number): ConfigShape => ({
    says: `route ${port} sends hosts it does not know to PassthroughCluster`,
    holds: (c) => {
      const route = c.routes.find((r: Json) => r.name === String(port));
      const vh = (route?.virtual_hosts ?? []).find((v: Json) => (v.domains ?? []).includes('*'));
      const to = (vh?.routes ?? []).map((r: Json) => r.route?.cluster).filter(Boolean);
      return { holds: to.includes('PassthroughCluster'), evidence: route ? `route ${port}: ${vh ? `virtual host ${vh.name} (*) → ${to.join(', ') || 'no cluster'}` : 'no catch-all (*) virtual host'}` : `no route config named ${port}` };
    },
  }),
  /** Some listener is bound to an address in Istio's auto-allocated range (240.240.0.0/16): a ServiceEntry got an address its DNS proxy answers. */
  autoAllocatedListener: (): ConfigShape => ({
    says: "a listener on a ServiceEntry's auto-allocated address (240.240.0.0/16)",
    holds: (c) => {
      const on = c.listeners.filter((l: Json) => /^240\.240\./.test(l?.address?.socket_address?.address ?? '')).map((l: Json) => String(l.name));
      return { holds: on.length > 0, evidence: on.length ? `listener(s) ${on.slice(0, 3).join(', ')}` : 'no listener on 240.240.0.0/16' };
    },
  }),
  /** A listener on the port takes connections without a server name match (a catch-all chain) to a service's cluster, not to PassthroughCluster. */
  catchAllChainOn: (port: number): ConfigShape => ({
    says: `a filter chain on :${port} without a server-name match sends connections to a service's cluster`,
    holds: (c) => {
      const chains = c.listeners.filter((l: Json) => portOf(l) === port).flatMap((l: Json) => [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])].map((ch: Json) => ({ l, ch })));
      const catchAll = chains.filter(({ ch }) => !ch.filter_chain_match?.server_names?.length && !ch.filter_chain_match?.prefix_ranges?.length && /^outbound\|/.test(tcpProxyCluster(ch) ?? ''));
      return { holds: catchAll.length > 0, evidence: catchAll.length ? `${catchAll[0]!.l.name}: a chain with no SNI match → ${tcpProxyCluster(catchAll[0]!.ch)}` : `${chains.length} chain(s) on :${port}, none a catch-all to a service's cluster` };
    },
  }),
};

export const counterShapes = {
  /** Some cluster has every host ejected: outlier_detection.ejections_active at its membership_total. */
  everyHostEjected: (): CounterShape => ({
    says: 'outlier detection has ejected every host of a cluster (ejections_active = membership_total)',
    about: /\.outlier_detection\.ejections_active$/,
    holds: (stats) => {
      const clusters = [...stats].filter(([k, v]) => k.endsWith('.outlier_detection.ejections_active') && v > 0).map(([k, v]) => ({ cluster: k.slice(0, -'.outlier_detection.ejections_active'.length), ejected: v }));
      const all = clusters.map((c) => ({ ...c, total: stats.get(`${c.cluster}.membership_total`) }));
      const full = all.find((c) => c.total !== undefined && c.ejected >= c.total);
      if (full) return { holds: true, evidence: `${full.cluster}: ${full.ejected} of ${full.total} hosts ejected` };
      if (all.some((c) => c.total === undefined)) return { holds: undefined, evidence: `${all[0]!.cluster}: ${all[0]!.ejected} ejected, membership_total not given` };
      return { holds: false, evidence: all.length ? all.map((c) => `${c.cluster}: ${c.ejected} of ${c.total} ejected`).join('; ') : 'no cluster has a host ejected' };
    },
  }),
  /** A counter matching `name` is above zero (Envoy counts since it started). */
  counted: (name: RegExp, says: string): CounterShape => ({
    says,
    about: name,
    holds: (stats) => {
      const hits = [...stats].filter(([k, v]) => name.test(k) && v > 0);
      return { holds: hits.length > 0, evidence: hits.length ? hits.slice(0, 3).map(([k, v]) => `${k} ${v}`).join(', ') : `no counter matching ${name.source} above 0` };
    },
  }),
};

/** What the pod's connection table (`ss -tanp` in its network namespace) shows. */
export interface SocketShape {
  says: string;
  holds: (rows: SocketRow[]) => Holds;
}

export interface SocketRow {
  state: string;
  local: string;
  peer: string;
  /** The owning process name (users:(("name",…))), when ss could see it. */
  process?: string;
}

/** `ss -tanp` as text: one row per socket (the header, comments and LISTEN sockets left out). */
export function parseSs(text: string): SocketRow[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 5 && /^[A-Z][A-Z0-9-]+$/.test(f[0]!) && f[0] !== 'State' && f[0] !== 'LISTEN')
    .map((f) => ({ state: f[0]!, local: f[3]!, peer: f[4]!, process: /users:\(\("([^"]+)"/.exec(f.slice(5).join(' '))?.[1] }));
}

export const socketShapes = {
  /**
   * The app's kept-alive connection is ESTAB to an address (its original destination), and Envoy's
   * own connection to the very same address is stuck in SYN-SENT: the seed's `ss` view of a
   * connection pinned to an address that no longer answers.
   */
  envoyDiallingThePinnedAddress: (): SocketShape => ({
    says: "the app's connection is ESTAB to an address Envoy is still dialling (SYN-SENT)",
    holds: (rows) => {
      const dialling = rows.filter((r) => r.state === 'SYN-SENT' && r.process === 'envoy');
      const pinned = dialling.find((d) => rows.some((r) => r.state === 'ESTAB' && r.process !== undefined && r.process !== 'envoy' && r.peer === d.peer));
      return { holds: !!pinned, evidence: pinned ? `app ESTAB to ${pinned.peer}, envoy SYN-SENT to ${pinned.peer}` : `${dialling.length} envoy SYN-SENT row(s), none to an address an app connection is ESTAB to` };
    },
  }),
};

/**
 * A pod's /stats as a user has it: Envoy's text ("name: value" lines, `curl localhost:15000/stats`),
 * its JSON (`/stats?format=json`), or a lab run's stats-after.json. Histograms and text values are
 * left out.
 */
export function parseStats(text: string): Map<string, number> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const json = JSON.parse(trimmed);
    if (Array.isArray(json.stats)) return new Map(json.stats.filter((s: Json) => typeof s.value === 'number').map((s: Json) => [s.name, s.value]));
    return new Map(Object.entries(json).filter(([, v]) => typeof v === 'number') as Array<[string, number]>);
  }
  const out = new Map<string, number>();
  for (const line of trimmed.split('\n')) {
    const at = line.lastIndexOf(': ');
    const value = line.slice(at + 2).trim();
    if (at > 0 && /^-?\d+$/.test(value)) out.set(line.slice(0, at).trim(), Number(value));
  }
  return out;
}
