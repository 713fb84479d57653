/**
 * Before the first lab starts: does this machine have what the scenario's upstream servers need
 * on the chosen backend? One PrerequisiteError (exit 3) with the exact apt-get line, instead of a
 * lab brought up only to fail.
 */
import type { BackendKind } from '../backends/backend.js';
import { fixFor, upstreamRequirements } from '../backends/capabilities.js';
import { PrerequisiteError } from '../errors.js';
import type { Scenario } from './scenario.js';

export function assertScenarioPrerequisites(scenario: Scenario, backend: BackendKind): void {
  const missing = upstreamRequirements(scenario.world.upstreams.map((u) => u.kind), backend).filter((r) => !r.ok);
  if (missing.length) {
    throw new PrerequisiteError(`scenario ${scenario.id} needs ${missing.map((r) => r.what).join(', ')}, which this machine lacks`, {
      fix: `${fixFor(missing)} (or \`npm run lab -- doctor --fix\`)`,
    });
  }
}
