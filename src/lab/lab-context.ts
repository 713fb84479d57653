/**
 * What the lab's parts share: the core (lab.ts) makes one LabContext per lab and hands it to each
 * concern (the sidecar, the hosts, the app and callers, the config pushes, the control plane), so
 * none of them reaches into another's state.
 */
import type { Backend } from '../backends/backend.js';
import type { Envoy } from '../envoy/envoy.js';
import type { EnvoyBinary } from '../envoy/install.js';
import type { NotApplicableError } from '../errors.js';
import type { Timeline } from '../timeline/timeline.js';
import type { AgentHandle } from './agent-handle.js';
import type { Hosts } from './hosts.js';
import type { Lab } from './lab.js';
import type { Sidecar } from './sidecar.js';
import type { LabOptions, LabSpec } from './lab-spec.js';

/** What a scenario's `run` sees of a Lab: the typed verbs, never the backend, the lab's own steps or an agent's command names. */
export type ScenarioLab = Pick<Lab, 'timeline' | 'ip' | 'certDir' | 'artifactsDir' | 'sleep' | 'waitFor' | 'say' | 'note' | 'app' | 'caller' | 'push'> & {
  readonly sidecar: Pick<Sidecar, 'binary' | 'envoy' | 'start' | 'shutDown' | 'stat' | 'memory' | 'hostHealth'>;
  readonly hosts: Pick<Hosts, 'inject' | 'switchDns' | 'chainPackets' | 'kernelCounter' | 'snapshotConnections' | 'upstreamCounts' | 'run' | 'serverLog'>;
};

export interface LabStartOptions extends LabOptions {
  envoy: EnvoyBinary;
  artifactsDir: string;
  log?: (line: string) => void;
  /** For the evidence file: which scenario and phase this lab plays. */
  scenario?: string;
  phase?: string;
}

export interface LabContext {
  readonly backend: Backend;
  readonly spec: LabSpec;
  readonly options: LabStartOptions;
  readonly timeline: Timeline;
  /** Agents started for the lab (stopped at its end, whoever started them). */
  readonly started: AgentHandle[];
  ip(host: string): string;
  /** The lab agent of a host: the app's in the pod, the DNS server's, an upstream's or a caller's. */
  agentOf(host: string): AgentHandle;
  /** The pod's running sidecar, or a clear error when it has not started. */
  sidecar(): Envoy;
  /** A line on the timeline (and in the log unless quiet). */
  note(what: string, detail: string, o?: { quiet?: boolean }): void;
  log(line: string): void;
  /** Workshop mode: what is about to happen and why, before it happens. */
  narrate(what: string, o?: { why?: string; pause?: boolean }): Promise<void>;
  /** Runs the scenario's own time (waits, traffic), counted apart from the lab's overhead. */
  scripted<T>(call: () => Promise<T>): Promise<T>;
  sleep(ms: number): Promise<void>;
  /** The phase cannot run in this mode: the error to throw, remembered even if the scenario catches it. */
  notApplicable(reason: string): NotApplicableError;
}
