/**
 * Envoy's admin API over its unix socket: readiness, stats (for deltas), config_dump, clusters.
 */
import { Agent, request } from 'undici';

export type Stats = Map<string, number>;

/** What /clusters?format=json says, as far as the lab reads it. */
export interface ClustersView {
  cluster_statuses?: Array<{ name: string; host_statuses?: HostStatus[] }>;
}
export interface HostStatus {
  address?: { socket_address?: { address: string; port_value: number } };
  health_status?: Record<string, unknown>;
}

export function hostsOf(view: ClustersView, cluster: string): HostStatus[] {
  return (view.cluster_statuses ?? []).find((c) => c.name === cluster)?.host_statuses ?? [];
}

/**
 * An admin path without its leading "/" reaches another endpoint: "drain_listeners?…" is read as
 * POST / (the admin's home page, 200), a drain that never happened (measured, fixed 2026-12-03).
 */
function absolute(path: string): void {
  if (!path.startsWith('/')) throw new Error(`Envoy admin path "${path}" must start with "/"`);
}

export class EnvoyAdmin {
  private readonly dispatcher: Agent;

  constructor(readonly socketPath: string) {
    this.dispatcher = new Agent({ connect: { socketPath } });
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    absolute(path);
    const res = await request(`http://envoy-admin${path}`, { dispatcher: this.dispatcher, signal: AbortSignal.timeout(5000) });
    return { status: res.statusCode, body: await res.body.text() };
  }

  async post(path: string): Promise<{ status: number; body: string }> {
    absolute(path);
    const res = await request(`http://envoy-admin${path}`, { method: 'POST', dispatcher: this.dispatcher, signal: AbortSignal.timeout(5000) });
    return { status: res.statusCode, body: await res.body.text() };
  }

  async ready(): Promise<boolean> {
    const r = await this.get('/ready');
    return r.status === 200 && r.body.trim() === 'LIVE';
  }

  /** Every counter and gauge by name. */
  async stats(): Promise<Stats> {
    const r = await this.get('/stats?format=json');
    const parsed = JSON.parse(r.body) as { stats: Array<{ name?: string; value?: number }> };
    const out: Stats = new Map();
    // Istio ends its stat prefixes with ";" (alt_stat_name "outbound|80||x;", stat_prefix
    // "outbound_0.0.0.0_80;") so its tag regexes find where a name ends; the lab reads the names
    // without it, whoever generated the config.
    for (const s of parsed.stats) if (s.name !== undefined && typeof s.value === 'number') out.set(s.name.replace(/;(?=\.|$)/g, ''), s.value);
    return out;
  }

  /** One stat's value; undefined when Envoy has no such stat (never a silent 0). */
  async stat(name: string): Promise<number | undefined> {
    return (await this.stats()).get(name);
  }

  /** The names of the listeners Envoy runs (no stats needed: works with stats disabled). */
  async listenerNames(): Promise<string[]> {
    const r = await this.get('/listeners?format=json');
    return ((JSON.parse(r.body) as { listener_statuses?: Array<{ name: string }> }).listener_statuses ?? []).map((l) => l.name);
  }

  async configDump(): Promise<string> {
    return (await this.get('/config_dump')).body;
  }

  /**
   * The allocator's bytes in use right now (/memory, read on demand; the server.memory_allocated
   * gauge is only refreshed at each stats flush, every 5 s).
   */
  async memoryAllocated(): Promise<number> {
    const r = await this.get('/memory');
    return Number((JSON.parse(r.body) as { allocated?: string }).allocated ?? NaN);
  }

  async clusters(): Promise<string> {
    return (await this.get('/clusters?format=json')).body;
  }

  /** One cluster's hosts in /clusters now ("ip:port" each, EDS's view), [] when the cluster is unknown. */
  async clusterHosts(cluster: string): Promise<string[]> {
    return hostsOf(JSON.parse(await this.clusters()) as ClustersView, cluster).map((h) => `${h.address?.socket_address?.address}:${h.address?.socket_address?.port_value}`);
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => {});
  }
}
