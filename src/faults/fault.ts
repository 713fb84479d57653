/**
 * A fault is something the lab does to one of its own hosts, with a way to prove afterwards that
 * it fired. One file per fault.
 */
import type { FaultRecord } from '../checks/check.js';
import type { Lab } from '../lab.js';

export interface Fault {
  /** Kebab-case type, e.g. "blackhole". */
  readonly type: string;
  /** What it does on the wire, for the timeline marker. */
  readonly describe: string;
  apply(lab: Lab, host: string): Promise<void>;
  /** Read back from the kernel / the instrument after the phase. */
  evidence(lab: Lab, host: string): Promise<FaultRecord>;
}
