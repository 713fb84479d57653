/**
 * What a scenario is: one documented incident, told as phases. `before` runs the incident's
 * configuration and must show the symptom, its mechanism and the fault firing; each fix phase
 * runs a fresh lab with the fix in place and must show the symptom gone and the fix path used;
 * a live phase applies a fix mid-incident; a control shows a popular non-fix failing.
 */
import type { SidecarShutdown } from '../lab/sidecar-shutdown.js';
import { variantPath } from '../envoy/config.js';
import { RESPONSE_FLAGS } from '../envoy/response-flags.js';
import type { PhaseLoad } from '../scheduler/phase-load.js';
import type { Check } from '../checks/check.js';
import { ScenarioDefinitionError } from '../errors.js';
import type { ScenarioLab as Lab } from '../lab/lab-context.js';
import type { AppServerSpec, InboundMode, LabSpec, UpstreamSpec } from '../lab/lab-spec.js';
import { isSignature, patternSize, type NoSignature, type Signature } from '../triage/signature.js';
import { isAutoAllocated } from '../interception/capture.js';

/** control: a popular non-fix, shown not to work. measure: a rate, reported, not a pass/fail of the fix. */
export type PhaseKind = 'before' | 'fix' | 'live' | 'control' | 'measure';

/**
 * A symptom the seed documents for this phase, with the Envoy versions on which the lab expects
 * it. Before `goneFrom` it is one more check that must pass. From `goneFrom` on, the lab expects
 * it gone and proves it: every `trigger` check passes (the same trigger was applied) while the
 * symptom check does not. The phase then reports GONE with that evidence; a symptom that shows
 * again is a FAIL (the behaviour changed), a trigger that did not fire is UNKNOWN.
 */
export interface DocumentedSymptom {
  /**
   * Passes when the documented symptom shows; several: the symptom and what shows it (the first
   * decides: gone when it fails, shown again when all pass).
   */
  symptom: Check | Check[];
  /** The Envoy version from which it is expected gone (omit: expected on every version). */
  goneFrom?: string;
  /**
   * Under --istio, the Istio (a module pseudo-version) from which what istiod renders from the
   * phase's objects no longer makes it: expected gone there, on every Envoy.
   */
  goneOnIstio?: string;
  /** Proof that the trigger was applied (the request was sent, the timer elapsed, …). */
  trigger: Check[];
  /** What the lab measured, and on which versions. */
  why: string;
}

export interface Phase {
  /** Short id used by --phase, in artifacts and in the verdict table. */
  name: string;
  kind: PhaseKind;
  /** One line: what this phase shows. */
  title: string;
  /** Envoy config variant in envoy-configs/<scenario>/ (without .yaml). */
  config: string;
  /** Upstream hosts whose addresses bypass the sidecar (excludeOutboundIPRanges). */
  excludeOutbound?: string[];
  /** Per-phase changes to upstream hosts, merged into the scenario's (e.g. a longer keep-alive). */
  upstreams?: Record<string, Partial<Record<'http' | 'tls' | 'mariadb' | 'memcached', object>>>;
  /** The other pod's sidecar config variant in this phase (default: the scenario's, if any); false: that pod runs without one. */
  peerSidecar?: string | false;
  /** Per-phase changes to the pod's app server, merged into the scenario's. */
  appServer?: Partial<AppServerSpec>;
  /** The scenario starts Envoy itself (lab.sidecar.start), after the interception is in place. */
  deferSidecar?: boolean;
  /**
   * How the pod's sidecar ends when `lab.sidecar.shutDown()` sends SIGTERM: pilot-agent's
   * terminationDrainDuration, EXIT_ON_ZERO_ACTIVE_CONNECTIONS, MINIMUM_DRAIN_DURATION and a preStop
   * hook (default: Istio's, a 5 s drain). Declared with the phase: pilot-agent reads them at start.
   */
  shutdown?: SidecarShutdown;
  /**
   * Istio's DNS proxy (ISTIO_META_DNS_CAPTURE with DNS_AUTO_ALLOCATE): istio-init redirects the
   * app's DNS queries to pilot-agent (:15053), which answers the mesh's names itself, giving a
   * ServiceEntry without addresses its own address. 'capture-only': ISTIO_META_DNS_CAPTURE alone,
   * no per-proxy allocation (a ServiceEntry then has an address only if istiod's allocator gave it
   * one: PILOT_ENABLE_IP_AUTOALLOCATE). Needs --istio (pilot-agent).
   */
  dnsCapture?: boolean | 'capture-only';
  /**
   * What pilot-agent's DNS proxy answers in this phase (a lab host, or a ServiceEntry's address in
   * Istio's auto-allocated range, 240.240.0.0/16), for a run where the pod has no proxy: the lab DNS
   * gives the pod these answers instead (hand-written variants). Under --istio with `dnsCapture`
   * the proxy answers itself, and they are not used.
   */
  dns?: Record<string, string>;
  /** Inbound capture mode for this phase (default: the scenario's); 'off' = no inbound capture (the app without its sidecar). */
  inbound?: InboundMode | 'off';
  /** Clients (--client) this phase cannot judge, with why: the phase is then not applicable with that client. */
  notFor?: Partial<Record<'curl' | 'go' | 'openssl' | 'redis-cli', string>>;
  /** The phase shows what pilot-agent itself does (its hold, its DNS proxy): it runs only under --istio, where pilot-agent runs; why. */
  pilotAgentOnly?: string;
  /** Phases that need a newer Envoy are reported as not applicable on older ones. */
  requires?: { envoy: string; why: string };
  /** Under --istio, phases whose Istio objects need a newer Istio (a module pseudo-version) are not applicable on older ones. */
  requiresIstio?: { version: string; why: string };
  /**
   * Under --istio, istiod runs with the scenario's Istio behaviour change (Scenario.behaviourChange)
   * reverted: its flag at the value Istio's own compatibility profile sets for the release before
   * the change, read from the Istio module that runs. The hand-written variant models the same.
   */
  oldIstioBehaviour?: true;
  /**
   * Under --istio, istiod's environment in this phase: a flag at a value of its own, e.g. a
   * behaviour Istio has by default and the lab otherwise turns off (PILOT_ENABLE_IP_AUTOALLOCATE).
   */
  istiodEnv?: Record<string, string>;
  /**
   * Under --istio, the Istio YAML variant (envoy-configs/<id>/istio/<name>.yaml) this phase serves,
   * when its objects are another phase's: a fix that changes istiod, not the objects (default: `config`).
   */
  istioObjects?: string;
  /** Symptoms the seed documents that may be gone on newer Envoy (see DocumentedSymptom). */
  documented?: DocumentedSymptom[];
  /**
   * A `before`'s mark in the sidecar's access log, for `npm run lab -- triage`: the failing
   * entries' pattern (two fields at least) and facts about them as a group (src/triage/signature.ts).
   */
  signature?: Signature | NoSignature;
  /**
   * What the phase needs of the machine, where it is not the common case (the scheduler measures
   * that itself): 'alone' for a steady-load or millisecond-sweep phase, whose verdict would
   * depend on its neighbours' load; { cores } for a figure known better than a measurement.
   */
  load?: PhaseLoad;
  /** The incident, as a script against the lab. */
  run(lab: Lab): Promise<void>;
  /** What must hold afterwards; each check cites its evidence. */
  expect: Check[];
}

/** What a scenario's lab is made of, declared once for all its phases. */
export type World = Omit<LabSpec, 'sidecar' | 'peerSidecar'> & {
  inbound?: InboundMode;
  /**
   * Another pod with its own sidecar (a server the pod calls, or a caller of the pod): the lab
   * host and its sidecar's config variant (none: only the phases that name one run it).
   */
  peerSidecar?: { host: string; config?: string };
};

export interface Scenario {
  id: string;
  title: string;
  /**
   * Where the incident comes from: the seed write-up this reproduces (../shared/seeds/…), or a
   * team's own source (a postmortem, a ticket); absent for an incident with none written up.
   */
  seed?: string;
  /** Public reports (links), or any free-form sources (one or several); the report links what is a URL. */
  reported?: string | string[];
  symptom: string;
  cause: string;
  /** How real-world timeouts were scaled down so a phase takes seconds. */
  timeScaling: string;
  /** The world the incident happens in: upstream hosts, DNS records, the pod's app server, the inbound capture mode. */
  world: World;
  /**
   * Third-party programs that can play this scenario's app (--client), with its before and fixes
   * holding for each (the test suite proves it). Only for scenarios whose app is the lab's HTTP
   * client (lab.startApp / client.start).
   */
  clients?: Array<'curl' | 'go' | 'openssl' | 'redis-cli'>;
  /**
   * The Envoy response flags (src/envoy/response-flags.ts) this scenario's incident shows, each
   * with a few words on where; `gone: true` when it is documented but does not happen on the
   * Envoy versions the lab runs. docs/response-flags.md is generated from these.
   */
  responseFlags?: Record<string, { where: string; gone?: boolean }>;
  /**
   * The Istio behaviour change this incident is, by its istiod flag as Istio's compatibility
   * profiles name it (e.g. PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE): its release and the value
   * that reverts it are read from the Istio module, never typed here. `npm run upgrade-check` runs
   * this scenario's traffic when an upgrade brings the change.
   */
  behaviourChange?: string;
  phases: Phase[];
}

/** Checks a scenario's shape when its file loads: a wrong one never reaches a lab. */
/** A phase as written: its kind may be left to its name (before-…, fix-…, control-…, live-…, measure-…). */
export type PhaseDefinition = Omit<Phase, 'kind'> & { kind?: PhaseKind };

/** A scenario as written in its file (defineScenario fills in what its phases' names say). */
export type ScenarioDefinition = Omit<Scenario, 'phases'> & { phases: PhaseDefinition[] };

const PHASE_KINDS: readonly PhaseKind[] = ['before', 'fix', 'live', 'control', 'measure'];

/** The kind a phase's name says: its first word, when that is a kind ("fix-retry" → fix). */
export const kindFromName = (name: string): PhaseKind | undefined => PHASE_KINDS.find((k) => name === k || name.startsWith(`${k}-`));

export function defineScenario(definition: ScenarioDefinition): Scenario {
  const bad = (what: string, fix: string) => new ScenarioDefinitionError(`scenario ${definition.id}: ${what}`, { fix });
  const phases = definition.phases.map((p): Phase => {
    const kind = p.kind ?? kindFromName(p.name);
    if (!kind) throw bad(`phase "${p.name}" has no kind, and its name does not say one`, `name it ${PHASE_KINDS.map((k) => `${k}-…`).join(', ')}, or set kind: ${PHASE_KINDS.join(' | ')}`);
    return { ...p, kind };
  });
  const s: Scenario = { ...definition, phases };
  for (const flag of Object.keys(s.responseFlags ?? {})) {
    if (!(flag in RESPONSE_FLAGS)) throw bad(`responseFlags names "${flag}", which is not an Envoy response flag`, `use one of ${Object.keys(RESPONSE_FLAGS).join(', ')}`);
  }
  const names = new Set<string>();
  for (const p of s.phases) {
    if (names.has(p.name)) throw bad(`phase "${p.name}" is defined twice`, 'give every phase its own name');
    names.add(p.name);
    if (p.expect.length === 0) throw bad(`phase "${p.name}" has no checks`, 'a phase without checks could never fail: list what must hold in `expect`');
    if (p.signature && p.kind !== 'before') throw bad(`phase "${p.name}" (${p.kind}) declares a signature`, 'only a before phase has an incident to recognise: move it to the before');
    if (isSignature(p.signature) && p.signature.entries && patternSize(p.signature.entries) < 2) throw bad(`phase "${p.name}"'s signature says one thing about an entry`, 'say at least two (code and flags, flags and details, …): one shared flag must never make a match');
    if (isSignature(p.signature) && !p.signature.entries && !p.signature.marks?.length && !p.signature.reported?.length) throw bad(`phase "${p.name}"'s signature has neither entries nor marks`, 'say what Envoy logs for it (entries) or what else it leaves (marks: the app\'s errors, Envoy\'s debug lines), or declare { none: why }');
    for (const host of Object.keys(p.upstreams ?? {})) {
      if (!s.world.upstreams.some((u) => u.name === host)) throw bad(`phase "${p.name}" changes upstream host "${host}", which the lab does not have`, `hosts: ${s.world.upstreams.map((u) => u.name).join(', ')}`);
    }
    for (const [name, answer] of Object.entries(p.dns ?? {})) {
      if (!isAutoAllocated(answer) && !s.world.upstreams.some((u) => u.name === answer)) throw bad(`phase "${p.name}" answers ${name} with "${answer}", neither a lab host nor an address in Istio's auto-allocated range`, `a host (${s.world.upstreams.map((u) => u.name).join(', ')}) or 240.240.x.y; the lab answers no other address (nothing may leave the lab)`);
    }
    for (const flag of Object.keys(p.istiodEnv ?? {})) {
      if (!/^[A-Z][A-Z0-9_]+$/.test(flag)) throw bad(`phase "${p.name}" sets istiod env "${flag}", which is not an istiod flag name`, 'a flag as Istio names it, e.g. PILOT_ENABLE_IP_AUTOALLOCATE');
    }
  }
  const reverting = s.phases.find((p) => p.oldIstioBehaviour);
  if (reverting && !s.behaviourChange) throw bad(`phase "${reverting.name}" runs with the old Istio behaviour, and the scenario names no behaviourChange`, 'set behaviourChange: the istiod flag of the change, as Istio\'s compatibility profiles name it');
  if (s.behaviourChange && !/^[A-Z][A-Z0-9_]+$/.test(s.behaviourChange)) throw bad(`behaviourChange "${s.behaviourChange}" is not an istiod flag name`, 'the flag as Istio\'s compatibility profiles name it, e.g. PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE');
  if (!s.phases.some((p) => p.kind === 'before')) throw bad('no "before" phase', 'add the phase that reproduces the incident');
  const server = s.world.peerSidecar;
  if (server && !s.world.upstreams.some((u) => u.name === server.host && ['http', 'client'].includes(u.kind ?? 'http'))) throw bad(`world.peerSidecar names host "${server.host}", which is not one of its HTTP upstreams or callers`, `hosts: ${s.world.upstreams.map((u) => u.name).join(', ')}`);
  const unserved = s.phases.find((p) => p.peerSidecar !== undefined && !server);
  if (unserved) throw bad(`phase "${unserved.name}" sets peerSidecar, and the lab has no other pod with a sidecar`, 'declare world.peerSidecar: {host, config}');
  return s;
}

/** The lab a phase runs: the scenario's world with the phase's changes, and its sidecar config. */
export function labSpecFor(s: Scenario, p: Phase, configPath: string): LabSpec {
  const { inbound, peerSidecar: server, ...world } = s.world;
  const appServer = world.appServer && { ...world.appServer, ...p.appServer };
  const serverVariant = p.peerSidecar === false ? undefined : (p.peerSidecar ?? server?.config);
  const peerSidecar = server && serverVariant ? { host: server.host, config: variantPath(s.id, serverVariant) } : undefined;
  return { ...world, dnsProxyAnswers: p.dns, appServer, peerSidecar, upstreams: upstreamsFor(s, p), sidecar: { config: configPath, excludeOutbound: p.excludeOutbound, inbound: p.inbound === 'off' ? undefined : (p.inbound ?? inbound), deferStart: p.deferSidecar, shutdown: p.shutdown, dnsCapture: p.dnsCapture } };
}

/** The scenario's upstream hosts with a phase's changes merged in. */
export function upstreamsFor(s: Scenario, p: Phase): UpstreamSpec[] {
  return s.world.upstreams.map((u) => {
    const change = p.upstreams?.[u.name];
    if (!change) return u;
    const merged: Record<string, unknown> = { ...u };
    for (const [k, v] of Object.entries(change)) merged[k] = { ...((u as Record<string, any>)[k] ?? {}), ...v };
    return merged as UpstreamSpec;
  });
}
