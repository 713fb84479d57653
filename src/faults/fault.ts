/**
 * A fault is something the lab does to one of its own hosts, with a way to prove afterwards that
 * it fired: a kernel rule whose packet counter is read back, or an instrument (the fake upstream)
 * that counts what it did. One file per fault; every fault is injected the same way
 * (`lab.hosts.inject(fault, host)`) and judged the same way (`faultFired`).
 */
import type { ExecResult } from '../backends/backend.js';
import type { FaultRecord } from '../evidence/evidence.js';

/** What a fault may touch: the one host it is injected on. */
export interface FaultContext {
  host: string;
  ip: string;
  /** Runs a command on the host (as root). */
  exec(argv: string[]): Promise<ExecResult>;
  /** Calls the host's instrument (its lab agent), e.g. the fake upstream. */
  instrument<T = unknown>(cmd: string, args?: unknown): Promise<T>;
}

export interface Fault {
  /** Kebab-case type, e.g. "blackhole". */
  readonly type: string;
  /** What it does on the wire, for the timeline marker. */
  readonly describe: string;
  apply(ctx: FaultContext): Promise<void>;
  /** Read back from the kernel / the instrument after the phase. */
  evidence(ctx: FaultContext): Promise<FaultRecord>;
}
