/**
 * What a backend must do to realise a Topology. The netns backend (netns/) implements it with
 * `ip netns`; the Docker backend (docker/) with containers. Scenarios only see `Lab`.
 */
import type { Readable, Writable } from 'node:stream';
import type { AddressPlan } from '../topology/addresses.js';
import type { Topology } from '../topology/topology.js';

/** The Envoy binary the sidecar runs (envoy/install.ts's EnvoyBinary fits this shape). */
export interface SidecarBinary {
  bin: string;
  version: string;
}

/** Every backend kind; `auto` picks one (create-backend.ts). */
export type BackendKind = 'netns' | 'docker';

/** How to find what dead runs of a backend left behind, and remove it (backends/reaper.ts). */
export interface BackendReaper {
  /** Lab ids that have resources of this backend now. */
  labIds(): Promise<string[]>;
  /** Removes every resource of one lab. */
  remove(labId: string): Promise<void>;
}

export interface SpawnOptions {
  /** Run as this uid/gid (default: root). Envoy runs as 1337, the app as 1000. */
  uid?: number;
  gid?: number;
  env?: Record<string, string>;
  /** stdout + stderr go to this file (append). */
  logFile?: string;
  /** Give the process a stdin and a stdout pipe (lab agents talk JSON lines over them). */
  pipes?: boolean;
  /** Run in the pod's sidecar (same network namespace as the pod; its own container on Docker). */
  sidecar?: boolean;
  /** Capabilities the process keeps after dropping to `uid` (ambient), e.g. ["net_admin"]. */
  capabilities?: string[];
  /**
   * SIGTERM is the start of its own shutdown (pilot-agent drains for terminationDrainDuration):
   * no SIGKILL follows 2 s later, as for other processes; the lab's teardown still ends it.
   */
  ownShutdown?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A process running on a lab host, whatever the backend (a child process, a docker exec). */
export interface HostProcess {
  /** Present when started with `pipes: true`. */
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  /** Resolves when the process has ended. */
  readonly exited: Promise<{ exitCode?: number; signal?: string }>;
  /** null while it runs. */
  exitCode(): number | null;
  kill(signal?: NodeJS.Signals): void;
}

export interface Backend {
  readonly kind: BackendKind;
  readonly labId: string;
  readonly plan: AddressPlan;
  /** Scratch directory for this lab: configs, sockets, logs. Readable by uid 1337 and 1000. */
  readonly workDir: string;
  /** The node binary as the lab hosts see it. */
  readonly nodePath: string;
  /** The Envoy binary as the sidecar sees it. */
  envoyPath(binary: SidecarBinary): string;
  /**
   * The shell prefix that runs a command on a host, for a person poking at a kept lab
   * (`--keep`), e.g. `ip netns exec efl-1a2b3c-pod` or `docker exec efl-1a2b3c-pod`.
   */
  pokePrefix(host: string, o?: { asApp?: boolean }): string;

  /**
   * Creates the network and hosts. Leaves nothing behind if it fails. `onHostUp` is called for
   * each host as soon as processes can start on it (its network may still be coming up), so a
   * lab starts its agents while the other hosts are still being made; `up` resolves once every
   * host is on the network.
   */
  up(topology: Topology, o?: { onHostUp?: (host: string) => void }): Promise<void>;
  /** Starts a long-running process on a host. */
  spawn(host: string, argv: string[], options?: SpawnOptions): HostProcess;
  /** Runs a command on a host to completion. Never throws on a non-zero exit: check exitCode. */
  exec(host: string, argv: string[], options?: { uid?: number; input?: string }): Promise<ExecResult>;
  /** Points the host's resolver (/etc/resolv.conf as its processes see it) at the lab DNS. */
  setResolver(host: string, nameserver: string): Promise<void>;
  /**
   * CPU the lab's processes have used so far, in ms (the kernel's cgroup accounting), or
   * undefined where it cannot be measured: the scheduler learns each phase's load from it.
   */
  cpuMs(): Promise<number | undefined>;
  /** Stops every process and removes every host, network and rule of this lab. Idempotent. */
  down(): Promise<void>;
}
