/** Finds the scenarios: every scenarios/<id>.ts default-exports one. */
import { readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors.js';
import { SCENARIOS_DIR } from '../paths.js';
import type { Scenario } from './scenario.js';

export function scenarioIds(): string[] {
  return readdirSync(SCENARIOS_DIR)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
}

export async function loadScenario(id: string): Promise<Scenario> {
  const ids = scenarioIds();
  if (!ids.includes(id)) {
    throw new UsageError(`unknown scenario "${id}"`, { fix: `choose one of: ${ids.join(', ')} (list them with --list)` });
  }
  const mod = (await import(pathToFileURL(`${SCENARIOS_DIR}/${id}.ts`).href)) as { default: Scenario };
  return mod.default;
}
