/** What a phase run needs from workshop mode (src/workshop/narrator.ts): the lab's narrator, a phase intro, Enter. */
import type { Narrator } from '../lab/lab-spec.js';
import type { Phase, Scenario } from './scenario.js';

export interface PhaseNarrator extends Narrator {
  /** Before a phase: what it shows, in the scenario's words (waits for Enter with --step). */
  phase(scenario: Scenario, phase: Phase): Promise<void>;
  /** Waits for Enter (used by --keep too, so both read stdin through one reader). */
  enter(): Promise<void>;
}
