/**
 * Bringing a lab up, in order: the topology (backend), the pod's resolver, the agents on every
 * host (DNS, app, upstream servers) and the real servers, then Envoy, then the interception that
 * puts Envoy in the app's path. Whatever fails, the caller disposes what was started.
 */
import { appendFile, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { loadVariant, renderResources, type EnvoyResources } from '../envoy/config.js';
import { Envoy, type EnvoyStartOptions } from '../envoy/envoy.js';
import type { EnvoyBinary } from '../envoy/install.js';
import { LabStartError } from '../errors.js';
import { LAB_DIR } from '../paths.js';
import { APP_UID, DNS_HOST, POD, PROXY_UID, podWithUpstreams } from '../topology/topology.js';
import { certFile, ensureLabCerts, WORKLOAD_IDENTITY } from '../upstreams/lab-certs.js';
import { startMariaDb, startMemcached } from '../upstreams/database-upstreams.js';
import { startRedis } from '../upstreams/redis-upstream.js';
import { peerApp } from '../istio/istio-variant.js';
import { accessLogEnvoyFilter, ISTIOD_HOST, ISTIOD_XDS_PORT, IstiodHost, sidecarNode } from '../istio/istiod-host.js';
import { AgentHandle } from './agent-handle.js';
import { labVars, runsAgent, type InboundMode, type LabSpec } from './lab-spec.js';
import { AGENT_ADMIN_PORT, PILOT_AGENT_LAB_SETTINGS, pilotAgentBinary, pilotAgentCommand, type PilotAgentOptions } from '../istio/pilot-agent.js';
import { ISTIO_IPTABLES_SCRIPT, captureFlags, istioIptablesBinary, tproxyLeftOut } from '../istio/istio-iptables.js';
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
    await backend.up(podWithUpstreams(spec.upstreams.map((u) => ({ ...u, sidecar: u.name === spec.peerSidecar?.host })), spec.istio ? [ISTIOD_HOST] : []), { onHostUp });
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
  const records = Object.fromEntries(Object.entries(spec.dns).map(([name, host]) => [name, [ip(host)]]));
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

/** A config variant rendered for this lab: its addresses, this Envoy's access-log fields, RDS file. */
export async function renderForLab(backend: Backend, spec: LabSpec, envoyVersion: string, configPath: string, envoyDir = join(backend.workDir, 'envoy')): Promise<EnvoyResources> {
  return renderResources(await loadVariant(configPath), {
    vars: labVars(backend.plan, spec),
    envoyVersion,
    accessLogPath: Envoy.accessLogPath(envoyDir),
    rdsPath: Envoy.xdsPaths(envoyDir).rds,
    edsDir: Envoy.xdsPaths(envoyDir).dir,
    sdsDir: Envoy.xdsPaths(envoyDir).dir,
  });
}

/** A sidecar's workload identity, from the lab's CA (made on first use). */
export async function workloadIdentity(who: keyof typeof WORKLOAD_IDENTITY): Promise<{ cert: string; key: string; ca: string }> {
  const dir = await ensureLabCerts();
  const file = certFile(WORKLOAD_IDENTITY[who]);
  return { cert: join(dir, `${file}.crt`), key: join(dir, `${file}.key`), ca: join(dir, 'ca.crt') };
}

/** --istio: istiod on its own lab host, serving the phase's Istio YAML (this lab's addresses) plus the lab's access-log EnvoyFilter. */
export async function startIstiod(backend: Backend, spec: LabSpec, binary: EnvoyBinary, progress?: (line: string) => void): Promise<IstiodHost> {
  const dir = join(backend.workDir, 'istiod');
  await mkdir(dir, { recursive: true });
  return IstiodHost.start(backend, {
    source: spec.istio!.source,
    alwaysSource: spec.istio!.peerSource,
    vars: labVars(backend.plan, spec),
    meshFiles: spec.istio!.meshFiles,
    labObjects: spec.peerSidecar
      ? [accessLogEnvoyFilter(Envoy.accessLogPath(join(backend.workDir, 'envoy')), binary.version, 'app'), accessLogEnvoyFilter(Envoy.accessLogPath(peerDir(backend, spec.peerSidecar.host)), binary.version, peerApp(spec.peerSidecar.host))].join('---\n')
      : accessLogEnvoyFilter(Envoy.accessLogPath(join(backend.workDir, 'envoy')), binary.version),
    dir,
    listenIp: backend.plan.ip(ISTIOD_HOST),
    version: spec.istio!.version,
    progress,
  });
}

export async function startSidecar(backend: Backend, spec: LabSpec, binary: EnvoyBinary, started: AgentHandle[], istiod?: IstiodHost): Promise<Envoy> {
  const dir = join(backend.workDir, 'envoy');
  await mkdir(dir, { recursive: true });
  const podIp = backend.plan.ip(POD);
  const resources = istiod ? { listeners: [], clusters: [], routes: [] } : await renderForLab(backend, spec, binary.version, spec.sidecar.config);
  const identity = await workloadIdentity('pod');
  return Envoy.start(backend, {
    binary,
    host: POD.name,
    dir,
    resources,
    identity: istiod ? undefined : identity,
    ads: istiod ? { address: backend.plan.ip(ISTIOD_HOST), port: ISTIOD_XDS_PORT, node: sidecarNode(podIp), expectedListeners: await istiod.initialListenerCount() } : undefined,
    agent: istiod ? await viaPilotAgent(backend, POD.name, dir, { podIp, app: 'app', interception: spec.sidecar.inbound ?? 'REDIRECT', identity, binary, shutdown: spec.sidecar.shutdown, drainTimeS: drainTimeS(spec), dnsCapture: spec.sidecar.dnsCapture }, started) : undefined,
    drainTimeS: drainTimeS(spec),
    // TPROXY: transparent sockets need CAP_NET_ADMIN (Istio gives istio-proxy NET_ADMIN in that mode).
    capabilities: spec.sidecar.inbound === 'TPROXY' ? ['net_admin'] : [],
  });
}

/**
 * --istio: the sidecar through Istio's own pilot-agent (src/istio/pilot-agent.ts), Envoy's admin
 * relayed to admin.sock by a lab agent in the pod as uid 1337. Without Go, undefined: the lab's own
 * ADS bootstrap stands in (adsBootstrapYaml, "pilot-agent's, trimmed"), said in lab-settings.txt.
 */
async function viaPilotAgent(
  backend: Backend,
  host: string,
  dir: string,
  o: Pick<PilotAgentOptions, 'podIp' | 'app' | 'interception' | 'identity' | 'shutdown' | 'dnsCapture'> & { binary: EnvoyBinary; drainTimeS?: number },
  started: AgentHandle[],
): Promise<EnvoyStartOptions['agent']> {
  const bin = await pilotAgentBinary();
  const settings = join(backend.workDir, 'istiod', 'lab-settings.txt');
  if (!bin) {
    await appendFile(settings, `- ${host}: no Go here, so no pilot-agent: the lab's own ADS bootstrap stands in (Envoy started directly)\n`);
    return undefined;
  }
  await chown(dir, PROXY_UID, PROXY_UID);
  const relay = await AgentHandle.start(backend, host, 'sidecar-admin', { uid: PROXY_UID, logFile: join(backend.workDir, 'logs', `sidecar-admin-${host}.log`) });
  started.push(relay);
  await relay.call('admin.relay', { socket: join(dir, 'admin.sock'), port: AGENT_ADMIN_PORT });
  if (o.app === 'app') await appendFile(settings, ['- the sidecar starts through pilot-agent (lab/pilot-agent, Istio\'s own), with:', ...PILOT_AGENT_LAB_SETTINGS.map((x) => `  - ${x}`), ''].join('\n'));
  return pilotAgentCommand(bin, { ...o, dir, envoyPath: backend.envoyPath(o.binary), istiod: { address: backend.plan.ip(ISTIOD_HOST), port: ISTIOD_XDS_PORT }, drainTimeS: o.drainTimeS ?? 2 });
}

/** Envoy's --drain-time-s (pilot-agent's drainDuration): the phase's shutdown's, or the lab's 2 s. */
const drainTimeS = (spec: LabSpec) => Math.max(1, Math.round((spec.sidecar.shutdown?.drainDurationMs ?? 2000) / 1000));

/** Another pod's sidecar: its directory. */
const peerDir = (backend: Backend, host: string) => join(backend.workDir, `envoy-${host}`);

/**
 * Another pod's own sidecar: istio-init's rules on that host (inbound captured to 15006 in
 * REDIRECT mode, outbound to 15001), then its Envoy with that pod's workload identity.
 */
export async function startPeerSidecar(backend: Backend, spec: LabSpec, binary: EnvoyBinary, started: AgentHandle[], istiod?: IstiodHost): Promise<Envoy> {
  const { host, config } = spec.peerSidecar!;
  await captureTraffic(backend, host, { inbound: 'REDIRECT' });
  const dir = peerDir(backend, host);
  await mkdir(dir, { recursive: true });
  if (istiod) {
    // --istio: istiod renders for that pod too (its own node, label app: <host>-peer), from the
    // phase's Istio YAML; the variant named for it is the hand-written mode's. Ready at its first LDS.
    const podIp = backend.plan.ip(spec.upstreams.find((u) => u.name === host)!);
    const ads = { address: backend.plan.ip(ISTIOD_HOST), port: ISTIOD_XDS_PORT, node: sidecarNode(podIp, peerApp(host)), expectedListeners: 1 };
    const agent = await viaPilotAgent(backend, host, dir, { podIp, app: peerApp(host), interception: 'REDIRECT', identity: await workloadIdentity('peer'), binary }, started);
    return Envoy.start(backend, { binary, host, dir, resources: { listeners: [], clusters: [], routes: [] }, ads, agent });
  }
  return Envoy.start(backend, { binary, host, dir, resources: await renderForLab(backend, spec, binary.version, config, dir), identity: await workloadIdentity('peer') });
}

/** istio-init in the pod: outbound capture, excludeOutboundIPRanges and inbound capture as the phase asks. */
export async function intercept(backend: Backend, spec: LabSpec, ip: (host: string) => string): Promise<void> {
  const excludeOutbound = (spec.sidecar.excludeOutbound ?? []).map((h) => `${ip(h)}/32`);
  await captureTraffic(backend, POD.name, { excludeOutbound, inbound: spec.sidecar.inbound, dns: spec.sidecar.dnsCapture });
  if (spec.sidecar.dnsCapture) await routeAutoAllocatedRange(backend, ip(DNS_HOST.name));
}

/** Istio's auto-allocated ServiceEntry addresses (the ServiceEntry registry's range: class E, never routed anywhere). */
export const AUTO_ALLOCATED_RANGE = '240.240.0.0/16';

/**
 * In Kubernetes the app's connect() to an auto-allocated address passes the routing decision on
 * the pod's default route, and istio-init's OUTPUT rule then redirects it to Envoy. A lab pod has
 * no default route (nothing may leave the lab), so the connect would fail with ENETUNREACH before
 * the rule sees it: the pod gets an on-link route for that range on its lab interface, and nothing
 * else. Packets the rule does not take (uid 1337) stay on the lab's own network.
 */
async function routeAutoAllocatedRange(backend: Backend, labIp: string): Promise<void> {
  const via = await backend.exec(POD.name, ['ip', '-o', 'route', 'get', labIp]);
  const dev = /\bdev (\S+)/.exec(via.stdout)?.[1];
  const added = dev ? await backend.exec(POD.name, ['ip', 'route', 'add', AUTO_ALLOCATED_RANGE, 'dev', dev]) : undefined;
  if (!added || added.exitCode !== 0) throw new LabStartError(`the pod could not route Istio's auto-allocated range ${AUTO_ALLOCATED_RANGE}`, { evidence: `${via.stdout}${via.stderr}${added?.stderr ?? ''}`.trim(), fix: 'run `npm run lab -- doctor`: the pod needs `ip` (iproute2) and NET_ADMIN' });
}

/**
 * istio-init's rules in a host's network namespace, written by Istio's own capture code
 * (lab/istio-iptables) or, on a machine without Go, by its stand-in lab/istio-iptables.sh; in
 * TPROXY mode without the named pair (tproxyLeftOut). What is in force is kept with the run
 * (iptables-save-<host>.txt).
 */
/** Where the capture's own output ends and iptables-save's begins, in one exec's stdout. */
const SAVED_MARK = '### efl: iptables-save ###';

async function captureTraffic(backend: Backend, host: string, o: { excludeOutbound?: string[]; inbound?: InboundMode; dns?: boolean }): Promise<void> {
  const bin = await istioIptablesBinary();
  if (o.dns && !bin) throw new LabStartError("DNS capture needs Istio's own capture code (lab/istio-iptables): the stand-in script has no DNS rules", { fix: 'install Go (the lab builds Istio\'s capture code with it)' });
  const flags = captureFlags({ ...o, uid: PROXY_UID });
  const who = bin ? "Istio's capture code (lab/istio-iptables)" : 'lab/istio-iptables.sh (no Go here: the stand-in for Istio\'s capture code)';
  const capture = bin ? [bin, ...flags] : ['sh', ISTIO_IPTABLES_SCRIPT, ...flags];
  // The rules and what is then in force in one exec (a docker exec costs dockerd 30-50 ms of
  // CPU); TPROXY deletes a pair in between, so it saves on its own.
  const tproxy = !!bin && o.inbound === 'TPROXY';
  const r = await backend.exec(host, tproxy ? capture : ['sh', '-c', `"$@" && echo '${SAVED_MARK}' && iptables-save`, 'capture', ...capture]);
  const [out = '', savedHere] = r.stdout.split(`${SAVED_MARK}\n`);
  if (r.exitCode !== 0) {
    throw new LabStartError(`the interception rules failed on ${host} (${who})`, { evidence: `${r.stderr.trim()}\n${out.split('\n').filter((l) => /error|fail/i.test(l)).join('\n')}`.trim(), fix: 'run `npm run lab -- doctor`: the host needs iptables with the nat table and the owner match' });
  }
  if (tproxy) {
    for (const rule of tproxyLeftOut(PROXY_UID)) await backend.exec(host, ['iptables', '-w', '-t', 'nat', '-D', ...rule.split(' ').slice(1)]);
  }
  const saved = { stdout: savedHere ?? (await backend.exec(host, ['iptables-save'])).stdout };
  await writeFile(join(backend.workDir, `iptables-save-${host}.txt`), `# ${who}: ${flags.join(' ')}${bin && o.inbound === 'TPROXY' ? '\n# then without the pair tproxyLeftOut names (src/istio/istio-iptables.ts)' : ''}\n${saved.stdout}`);
}
