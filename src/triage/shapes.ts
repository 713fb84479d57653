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
  holds: boolean;
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
  holds: (stats: Map<string, number>) => Holds;
}

/** The listeners, clusters and routes of a config_dump (static and dynamic). */
export const configOfDump = (dump: Json): EnvoyResources => resourcesOfDump(dump);

const portOf = (l: Json): number | undefined => l?.address?.socket_address?.port_value;
const tcpProxyCluster = (chain: Json): string | undefined => (chain?.filters ?? []).find((f: Json) => f.name === 'envoy.filters.network.tcp_proxy')?.typed_config?.cluster;

export const configShapes = {
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
  /** A counter matching `name` is above zero (Envoy counts since it started). */
  counted: (name: RegExp, says: string): CounterShape => ({
    says,
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
