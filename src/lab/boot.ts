/**
 * Bringing a lab's hosts up: the topology (backend), the pod's resolver, the agents on every host
 * (DNS, app, upstream servers) and the real servers; then istio-init's interception in the pod.
 * The control plane and the sidecar start after (lab.ts says the order). Whatever fails, the
 * caller disposes what was started.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { LabRuntimeError, LabStartError } from '../errors.js';
import { APP_UID, DNS_HOST, POD, podWithUpstreams } from '../topology/topology.js';
import { startMariaDb, startMemcached } from '../upstreams/database-upstreams.js';
import { startRedis } from '../upstreams/redis-upstream.js';
import { captureTraffic, isAutoAllocated, routeAutoAllocatedRange } from '../interception/capture.js';
import { ensureLabCerts } from '../upstreams/lab-certs.js';
import { AgentHandle } from './agent-handle.js';
import { controlPlaneHosts, hasDnsProxy } from './control-plane/choose.js';
import { runsAgent, type LabSpec } from './lab-spec.js';
import type { Recorder } from './recorder.js';

export interface BootedHosts {
  agents: AgentHandle[];
  dns: AgentHandle;
  app: AgentHandle;
  /** The agent of each upstream host that runs one (redis hosts run a real redis-server instead). */
  upstreams: Map<string, AgentHandle>;
  /** The lab CA and site certificates (when the lab has TLS sites): the app trusts ca.crt. */
  certDir: string;
}

/**
 * The topology, the agents and the servers, with the recorder listening to every agent. Each
 * host's agent starts as soon as that host is up, while the others are still being made.
 */
export async function bootHosts(backend: Backend, spec: LabSpec, recorder: Recorder, ip: (host: string) => string, started: AgentHandle[], mark: (step: string) => void = () => {}): Promise<BootedHosts> {
  const logs = join(backend.workDir, 'logs');
  await mkdir(logs, { recursive: true });
  const startAgent = async (host: string, role: string, uid?: number) => {
    const agent = await AgentHandle.start(backend, host, role, { uid, logFile: join(logs, `${role}-${host}.log`) });
    started.push(agent); // so a failure further on still stops it
    agent.onEvent((e) => recorder.record(e));
    return agent;
  };
  const agentHosts = spec.upstreams.filter(runsAgent);
  const roles = new Map<string, { role: string; uid?: number }>([
    [DNS_HOST.name, { role: 'dns' }],
    [POD.name, { role: 'app', uid: APP_UID }],
    ...agentHosts.map((u) => [u.name, { role: 'upstream' }] as const),
  ]);
  const agentStarts = new Map<string, Promise<AgentHandle>>();
  const onHostUp = (host: string) => {
    const r = roles.get(host);
    if (!r) return;
    // The pod's processes resolve through the lab DNS from their first start.
    const start = (host === POD.name ? backend.setResolver(POD.name, ip(DNS_HOST.name)) : Promise.resolve()).then(() => startAgent(host, r.role, r.uid));
    start.catch(() => {}); // awaited below; a host that failed half-way must not leave it unhandled
    agentStarts.set(host, start);
  };
  try {
    await backend.up(podWithUpstreams(spec.upstreams.map((u) => ({ ...u, sidecar: u.name === spec.peerSidecar?.host })), controlPlaneHosts(spec)), { onHostUp });
  } finally {
    // Agents already on their way end up in `started` (or fail) before the caller disposes.
    await Promise.allSettled(agentStarts.values());
  }
  mark('hosts');
  const agentOf = (host: string) => agentStarts.get(host) ?? Promise.reject(new LabStartError(`the backend never reported host ${host} up`, { fix: 'a backend must call onHostUp for every host it makes' }));
  const [dns, app, ...ups] = await Promise.all([agentOf(DNS_HOST.name), agentOf(POD.name), ...agentHosts.map((u) => agentOf(u.name))]);
  mark('agents');
  const upstreams = new Map(agentHosts.map((u, i) => [u.name, ups[i]!]));
  if (spec.appServer) recorder.served[POD.name] = 0;
  const records = Object.fromEntries(Object.entries(labDns(spec)).map(([name, host]) => [name, [isAutoAllocated(host) ? host : ip(host)]]));
  const certDir = spec.upstreams.some((u) => u.kind === 'tls') ? await ensureLabCerts() : '';
  await Promise.all([
    dns!.call('dns.start', { port: 53, records }),
    spec.appServer && app!.call('http.start', { name: POD.name, ports: [spec.appServer.port], ...spec.appServer }),
    ...spec.upstreams.map(async (u) => {
      recorder.served[u.name] = 0;
      if (u.kind === 'redis') return startRedis(backend, u.name, u.port, join(logs, `redis-${u.name}.log`));
      if (u.kind === 'mariadb') return startMariaDb(backend, u.name, u.port, u.mariadb ?? {}, join(logs, `mariadb-${u.name}.log`));
      if (u.kind === 'memcached') return startMemcached(backend, u.name, u.port, u.memcached ?? {}, join(logs, `memcached-${u.name}.log`));
      if (u.kind === 'client') return undefined; // a caller: its agent waits for the scenario's calls
      const agent = upstreams.get(u.name)!;
      if (u.kind === 'tls') return agent.call('tls.start', { name: u.name, port: u.port, certDir, ...u.tls });
      return agent.call('http.start', { name: u.name, ports: u.ports, ...u.http });
    }),
  ]);
  mark('servers');
  return { agents: [...started], dns: dns!, app: app!, upstreams, certDir };
}

/** The lab agent of a host: the app's in the pod, the DNS server's, an upstream's or a caller's. */
export function agentOn(booted: BootedHosts, host: string): AgentHandle {
  const a = host === POD.name ? booted.app : host === DNS_HOST.name ? booted.dns : booted.upstreams.get(host);
  if (!a) throw new LabRuntimeError(`no lab agent on "${host}"`, { fix: `agents run on: pod, dns, ${[...booted.upstreams.keys()].join(', ')} (redis hosts run a real redis-server)` });
  return a;
}

/**
 * istio-init in the pod: outbound capture, excludeOutboundIPRanges and inbound capture as the phase
 * asks. DNS capture goes to pilot-agent's DNS proxy, so only under --istio; without it the lab DNS
 * answers, an auto-allocated address included where the phase's `dns` gives one.
 */
export async function intercept(backend: Backend, spec: LabSpec, ip: (host: string) => string): Promise<void> {
  const excludeOutbound = (spec.sidecar.excludeOutbound ?? []).map((h) => `${ip(h)}/32`);
  await captureTraffic(backend, POD.name, { excludeOutbound, inbound: spec.sidecar.inbound, dns: podHasDnsProxy(spec) });
  if (podHasDnsProxy(spec) || Object.values(labDns(spec)).some(isAutoAllocated)) await routeAutoAllocatedRange(backend, POD.name, ip(DNS_HOST.name));
}

/** The pod's DNS goes to pilot-agent's proxy: the phase captures DNS, and its control plane runs pilot-agent. */
const podHasDnsProxy = (spec: LabSpec) => !!spec.sidecar.dnsCapture && hasDnsProxy(spec);

/** The lab DNS's records: the world's, and the proxy's answers where the pod has no proxy to give them. */
const labDns = (spec: LabSpec): Record<string, string> => (podHasDnsProxy(spec) ? spec.dns : { ...spec.dns, ...spec.dnsProxyAnswers });
