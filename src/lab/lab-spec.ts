/** What a lab is made of, as data: its upstream hosts, DNS records and sidecar configuration. */
import type { Timeline } from '../timeline/timeline.js';
import type { SidecarShutdown } from './sidecar-shutdown.js';
import type { HttpClientChoice } from './app-client.js';
import type { MariaDbOptions, MemcachedOptions } from '../upstreams/database-upstreams.js';
import type { HttpUpstreamOptions } from '../upstreams/http-upstream.js';
import type { TlsUpstreamOptions } from '../upstreams/tls-upstream.js';

/**
 * A host outside the pod and what it runs: a fake HTTP app (default), a real redis, MariaDB or
 * memcached, a TLS site,
 * or a client that calls the pod's app (inbound scenarios; it runs only the lab's agent).
 */
export type UpstreamSpec = {
  name: string;
  octet: number;
  /** The pod's labels (e.g. {version: 'v2'}): under --istio its ServiceEntry endpoint carries them (${UPSTREAM_<NAME>_LABELS}), so a DestinationRule subset selects it or not. */
  labels?: Record<string, string>;
} & (
  | { kind?: 'http'; ports: number[]; http?: Omit<HttpUpstreamOptions, 'name' | 'ports'> }
  | { kind: 'redis'; port: number }
  | { kind: 'mariadb'; port: number; mariadb?: MariaDbOptions }
  | { kind: 'memcached'; port: number; memcached?: MemcachedOptions }
  | { kind: 'tls'; port: number; tls: Omit<TlsUpstreamOptions, 'name' | 'port' | 'certDir'> }
  | { kind: 'client' }
);

/** Upstream kinds that run a real server from a Debian package instead of the lab's agent. */
export const REAL_SERVER_KINDS = ['redis', 'mariadb', 'memcached'] as const;
export const runsAgent = (u: UpstreamSpec) => !(REAL_SERVER_KINDS as readonly string[]).includes(u.kind ?? 'http');

/** The app's own server in the pod (as uid 1000), behind the sidecar's inbound half. */
export type AppServerSpec = { port: number } & Omit<HttpUpstreamOptions, 'name' | 'ports'>;

import type { InboundMode } from '../interception/capture.js';
export type { InboundMode };

export interface LabSpec {
  upstreams: UpstreamSpec[];
  /** Initial DNS records: name → upstream host name. */
  dns: Record<string, string>;
  /**
   * What the pod's DNS proxy answers, for a lab whose pod has none (hand-written, or without
   * dnsCapture): the lab DNS gives these answers instead (name → host, or an auto-allocated
   * 240.240.x.y). With pilot-agent's proxy they are not used: it answers itself.
   */
  dnsProxyAnswers?: Record<string, string>;
  /** A server in the pod, when the scenario is about the inbound side. */
  appServer?: AppServerSpec;
  sidecar: {
    /** Path of the Envoy config variant. */
    config: string;
    /** Upstream hosts whose addresses bypass the sidecar (excludeOutboundIPRanges). */
    excludeOutbound?: string[];
    /** Capture inbound connections to the pod too, in this mode (default: outbound only). */
    inbound?: InboundMode;
    /** Do not start Envoy with the lab: the scenario starts it (lab.startSidecar), e.g. after the app. */
    deferStart?: boolean;
    /** How the sidecar ends at lab.shutDownSidecar() (pilot-agent's settings, read at its start). */
    shutdown?: SidecarShutdown;
    /** Istio's DNS proxy: the app's DNS redirected to pilot-agent, which auto-allocates ServiceEntry addresses. */
    dnsCapture?: boolean | 'capture-only';
  };
  /**
   * Another pod with its own sidecar (a server the pod calls, or a caller of the pod): a second
   * Envoy on that lab host, with istio-init's rules there (inbound to 15006, outbound to 15001),
   * its own workload identity, and this config variant (path).
   */
  peerSidecar?: { host: string; config: string };
  /**
   * --istio: istiod runs in the lab (its own host) and the sidecar gets its config from it over
   * ADS, generated from this Istio YAML; a live change (Lab.applyConfig) is the scenario's Istio
   * YAML of the same variant name.
   */
  istio?: {
    scenario: string;
    /** The Istio YAML of the phase's config: envoy-configs/<scenario>/istio/<variant>.yaml. */
    source: string;
    /** The other pod's own objects (world.peerSidecar): its variant's Istio YAML, always in the store beside `source`. */
    peerSource?: string;
    /** Mesh settings files, applied in order (the scenario's time scaling, the variant's own). */
    meshFiles: string[];
    /** The Istio lab/istiod is built from (default: the version lab/istiod/go.mod pins). */
    version?: string;
    /** istiod's environment beyond the lab's own: a behaviour flag reverted (Phase.oldIstioBehaviour). */
    env?: Record<string, string>;
  };
}

export interface LabOptions {
  /**
   * Leave every injected fault out (the marker is still set): proves that a `before` phase's
   * checks cannot pass without the fault. Used by the test suite, never by a normal run.
   */
  omitFaults?: boolean;
  /** Workshop mode (--narrate, --step): told before each step what is about to happen and why. */
  narrator?: Narrator;
  /** --client curl | go: a third-party program plays the app instead of the lab's HTTP client. */
  httpClient?: HttpClientChoice;
  /**
   * --app-only: the user's command is the app. The lab's HTTP client does not start; the
   * scenario's waits on its records are given a fixed time instead; checks that read those records
   * are UNKNOWN (the evidence says the lab's client was left out).
   */
  appOnly?: boolean;
}

/**
 * Workshop mode's view of a phase (src/workshop/narrator.ts). The lab calls `before` ahead of each
 * verb with what is about to happen and why (in the scenario's words: its labels, the fault's
 * description, `lab.say`); with --step a pausing step waits for Enter. `show` puts a table on
 * screen the moment it is taken; `watch` gives the live view the phase's request outcomes.
 */
export interface Narrator {
  before(what: string, o?: { why?: string; pause?: boolean }): Promise<void>;
  show(title: string, text: string): void;
  watch(timeline: Timeline): void;
}

/** Where a phase's time went; scripted = the scenario's own timers and waits. */
export interface LabTimings {
  topologyUpMs: number;
  envoyReadyMs: number;
  scriptedMs: number;
  teardownMs: number;
  /** From the lab's start to its teardown, and the CPU its processes used meanwhile (the scheduler learns loads from these). */
  lifetimeMs?: number;
  cpuMs?: number;
  /**
   * The lab's own steps, ms each, in order (StepClock): prepare (validation, backend), hosts,
   * agents, servers, intercept, control plane, peer, sidecar, then collect and teardown after the script.
   */
  steps?: Record<string, number>;
}

/** Envoy's --drain-time-s (pilot-agent's drainDuration): the phase's shutdown's, or the lab's 2 s. */
export const drainTimeS = (spec: LabSpec) => Math.max(1, Math.round((spec.sidecar.shutdown?.drainDurationMs ?? 2000) / 1000));

export { hostPlaceholder, labVars } from '../topology/placeholders.js';
