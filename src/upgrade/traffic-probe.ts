/**
 * Traffic through the config istiod generated for a team's own Istio YAML. The render becomes a
 * runnable variant (import-config): every endpoint address it names is a lab host that answers
 * HTTP and counts what reached it, so a lab runs that exact config with the real Envoy. The app
 * then calls every service the config routes (each HTTP virtual host of each outbound listener)
 * a few times, and the probe keeps what happened: the statuses, which endpoints answered, and the
 * Host of what each endpoint received (mirrored copies included). Two renders probed this way are
 * compared call by call: what differs is what a behaviour change does to the team's traffic.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { importConfigDump, resourcesOfDump } from '../envoy/import-config.js';
import type { EnvoyBinary } from '../envoy/install.js';
import type { UpstreamSpec } from '../lab/lab-spec.js';
import type { UpstreamCounts } from '../upstreams/http-upstream.js';
import { check } from '../checks/check.js';
import type { Scenario } from '../scenario/scenario.js';
import { runPhase, type PhaseResult } from '../scenario/run-phase.js';
import type { BackendKind } from '../backends/backend.js';
import { hostPlaceholder } from '../topology/placeholders.js';

/** A service the config routes: the app calls http://<host>:<port>/. */
export interface ProbeTarget {
  host: string;
  port: number;
}

export interface ProbePlan {
  /** One lab host per endpoint address of the render (ep-1, ep-2, …), serving HTTP on its ports. */
  upstreams: UpstreamSpec[];
  /** Lab host → the address it stands for in the render. */
  standsFor: Record<string, string>;
  targets: ProbeTarget[];
  /** What the probe leaves out, and why. */
  left: string[];
}

/** What one call did, and what every endpoint received. */
export interface ProbeObservations {
  calls: Record<string, string>;
  received: Record<string, string>;
}

/**
 * Calls per service: what is compared is which statuses came back and which endpoints answered, as
 * sets, so a load balancer's spread is the same from run to run (two endpoints: one left out by
 * chance in 1 run of 512).
 */
const CALLS_PER_TARGET = 10;

/** Lab hosts for endpoints: .100 up; the topology keeps .10 (pod), .15 (istiod) and .53 (dns). */
const FIRST_OCTET = 100;
/** Each endpoint is a lab host (a container on Docker): enough for a team's service graph around one pod, bounded. */
export const MAX_ENDPOINTS = 40;

const isIpv4 = (s: unknown): s is string => typeof s === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(s);

/** The lab world and calls for one render. Both renders of a comparison are planned from the union of their endpoints, so the same lab hosts stand for the same addresses. */
export function planProbe(dumps: Array<{ configs?: any[] }>): ProbePlan {
  const left: string[] = [];
  const ports = new Map<string, Set<number>>();
  const targets = new Map<string, ProbeTarget>();
  for (const dump of dumps) {
    const r = resourcesOfDump(dump);
    const assignments = [...r.clusters.filter((c) => c.load_assignment).map((c) => c.load_assignment), ...r.endpoints];
    for (const a of assignments) {
      if (!String(a.cluster_name ?? '').startsWith('outbound|')) continue;
      for (const g of a.endpoints ?? []) {
        for (const e of g.lb_endpoints ?? []) {
          const s = e.endpoint?.address?.socket_address;
          if (!isIpv4(s?.address)) {
            if (s?.address) left.push(`endpoint ${s.address} of ${a.cluster_name}: not an IPv4 address`);
            continue;
          }
          if (!ports.has(s.address)) ports.set(s.address, new Set());
          ports.get(s.address)!.add(Number(s.port_value));
        }
      }
    }
    for (const l of r.listeners) {
      const at = l.address?.socket_address;
      if (!at || l.traffic_direction === 'INBOUND' || l.name === 'virtualOutbound' || l.name === 'virtualInbound') continue;
      if (at.address !== '0.0.0.0') {
        left.push(`listener ${l.name}: a service address (VIP) listener; the probe calls the port listeners (0.0.0.0)`);
        continue;
      }
      const routeNames = (l.filter_chains ?? []).flatMap((c: any) => (c.filters ?? []).map((f: any) => f.typed_config?.rds?.route_config_name)).filter(Boolean);
      for (const rc of r.routes.filter((x) => routeNames.includes(x.name))) {
        for (const vh of rc.virtual_hosts ?? []) {
          const host = (vh.domains ?? []).find((d: string) => /^[a-z0-9][a-z0-9.-]*[a-z]$/i.test(d) && !isIpv4(d));
          if (host) targets.set(`${host}:${at.port_value}`, { host, port: at.port_value });
        }
      }
    }
  }
  const addresses = [...ports.keys()].sort();
  if (addresses.length > MAX_ENDPOINTS) left.push(`${addresses.length - MAX_ENDPOINTS} endpoint address(es) beyond the first ${MAX_ENDPOINTS}: their calls fail the same in both runs`);
  const upstreams: UpstreamSpec[] = addresses.slice(0, MAX_ENDPOINTS).map((ip, i) => ({ name: `ep-${i + 1}`, octet: FIRST_OCTET + i, ports: [...ports.get(ip)!].sort((a, b) => a - b), http: { h2c: true } }));
  const standsFor = Object.fromEntries(upstreams.map((u, i) => [u.name, addresses[i]!]));
  return { upstreams, standsFor, targets: [...targets.values()].sort((a, b) => `${a.host}:${a.port}`.localeCompare(`${b.host}:${b.port}`)), left: [...new Set(left)] };
}

/** The pod's address in an upgrade-check render (lab/istiod's default -pod-ip): the lab's pod in the probe. */
const RENDER_POD_IP = '198.18.0.10';

/** The render as a variant the lab runs, its endpoint addresses put on the plan's lab hosts. */
export async function probeVariant(dump: { configs?: any[] }, plan: ProbePlan, file: string): Promise<string> {
  const map = { [RENDER_POD_IP]: '${POD_IP}', ...Object.fromEntries(Object.entries(plan.standsFor).map(([host, ip]) => [ip, `\${${hostPlaceholder(host)}}`])) };
  const { resources, changes } = importConfigDump(dump, map);
  await writeFile(file, `# istiod's render, made runnable by import-config:\n${changes.map((c) => `# - ${c}`).join('\n')}\n${YAML.stringify(resources, { lineWidth: 0 })}`);
  return file;
}

export interface ProbeRun {
  observations: ProbeObservations;
  result: PhaseResult;
}

/** One lab on `variant`: every target called, then every endpoint's own counts. */
export async function runProbe(plan: ProbePlan, variant: string, o: { envoy: EnvoyBinary; artifactsDir: string; backend?: BackendKind; log?: (line: string) => void }): Promise<ProbeRun> {
  const observations: ProbeObservations = { calls: {}, received: {} };
  // A probe, not an incident: no before, no fix; built as a Scenario directly (defineScenario asks for a before).
  const scenario: Scenario = {
    id: 'upgrade-probe',
    title: "A team's own config, each routed service called once",
    symptom: 'none: a probe',
    cause: 'none: a probe',
    timeScaling: 'none',
    world: { upstreams: plan.upstreams, dns: Object.fromEntries(plan.targets.map((t) => [t.host, plan.upstreams[0]?.name ?? 'pod'])) },
    phases: [
      {
        name: 'measure-calls',
        kind: 'measure',
        title: `every routed service called ${CALLS_PER_TARGET} times`,
        config: 'probe',
        run: async (lab) => {
          for (const t of plan.targets) {
            const seen = { statuses: new Set<string>(), by: new Set<string>() };
            for (let i = 1; i <= CALLS_PER_TARGET; i++) {
              const out = await lab.app.send({ method: 'GET', url: `http://${t.host}:${t.port}/`, headers: [], label: `GET ${t.host}:${t.port} #${i}` });
              seen.statuses.add(out.status ? String(out.status) : `no response (${out.error ?? 'unknown'})`);
              seen.by.add(out.servedBy ?? 'the sidecar itself');
            }
            observations.calls[`${t.host}:${t.port}`] = `${[...seen.statuses].sort().join(' and ')} from ${[...seen.by].sort().join(' and ')}`;
          }
          // A mirrored copy is sent beside the call and never awaited by it: read the endpoints'
          // counts until two reads 200 ms apart agree (at most 5 s).
          const counts = async () => JSON.stringify(await Promise.all(plan.upstreams.map((u) => lab.hosts.upstreamCounts(u.name))));
          for (let last = '', i = 0; i < 25; i++) {
            const now = await counts();
            if (now === last) break;
            last = now;
            await lab.sleep(200);
          }
          for (const u of plan.upstreams) {
            const c: UpstreamCounts = await lab.hosts.upstreamCounts(u.name);
            const hosts = Object.keys(c.hosts ?? {}).sort();
            if (hosts.length) observations.received[`${u.name} (${plan.standsFor[u.name]})`] = `requests with Host ${hosts.join(', ')}`;
          }
        },
        expect: [check('every routed service was called', () => ({ pass: plan.targets.every((t) => `${t.host}:${t.port}` in observations.calls), evidence: `${Object.keys(observations.calls).length} of ${plan.targets.length} called` }))],
      },
    ],
  };
  await mkdir(o.artifactsDir, { recursive: true });
  const result = await runPhase(scenario, scenario.phases[0]!, { envoy: o.envoy, artifactsDir: o.artifactsDir, backend: o.backend, log: o.log, configPath: variant });
  return { observations, result };
}

/** "what: before → after" for every call or endpoint whose observation differs. */
export function observationDiff(before: ProbeObservations, after: ProbeObservations): Array<{ what: string; before: string; after: string }> {
  const out: Array<{ what: string; before: string; after: string }> = [];
  for (const part of ['calls', 'received'] as const) {
    const keys = [...new Set([...Object.keys(before[part]), ...Object.keys(after[part])])].sort();
    for (const k of keys) {
      const a = before[part][k] ?? (part === 'calls' ? 'not called' : 'nothing');
      const b = after[part][k] ?? (part === 'calls' ? 'not called' : 'nothing');
      if (a !== b) out.push({ what: part === 'calls' ? `call ${k}` : `${k} received`, before: a, after: b });
    }
  }
  return out;
}

