/**
 * Finds the scenarios: every scenarios/<id>.ts default-exports one (dist/scenarios/<id>.js in the
 * installed package), and a user's own scenario files join them when a CLI is given one
 * (`scenario ./incidents/payments-503.ts`, `--scenarios ./incidents`).
 */
import { readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors.js';
import { SCENARIOS_DIR, SCENARIO_EXT } from '../paths.js';
import type { Scenario } from './scenario.js';
import { loadScenarioFile } from './scenario-file.js';

/** Scenarios loaded from the user's files, by id. */
const outside = new Map<string, Scenario>();

function builtInIds(): string[] {
  return readdirSync(SCENARIOS_DIR)
    .filter((f) => f.endsWith(SCENARIO_EXT) && !f.endsWith(`.d${SCENARIO_EXT}`))
    .map((f) => f.slice(0, -SCENARIO_EXT.length));
}

export function scenarioIds(): string[] {
  return [...builtInIds(), ...outside.keys()].sort();
}

export async function loadScenario(id: string): Promise<Scenario> {
  const own = outside.get(id);
  if (own) return own;
  const ids = scenarioIds();
  if (!ids.includes(id)) {
    throw new UsageError(`unknown scenario "${id}"`, { fix: `choose one of: ${ids.join(', ')} (list them with --list), or give a scenario file: ./incidents/<name>.ts` });
  }
  const mod = (await import(pathToFileURL(`${SCENARIOS_DIR}/${id}${SCENARIO_EXT}`).href)) as { default: Scenario };
  return mod.default;
}

/** A CLI argument that names a scenario file rather than a scenario id. */
export const isScenarioFile = (arg: string) => /\.[cm]?[jt]s$/.test(arg) || arg.includes('/');

/** Loads a user's scenario file and adds it to the ids every CLI sees; returns its scenario. */
export async function addScenarioFile(file: string): Promise<Scenario> {
  const scenario = await loadScenarioFile(file, builtInIds());
  outside.set(scenario.id, scenario);
  return scenario;
}

/** `--scenarios <dir>`: every scenario file in that folder (not its tests or declarations). */
export async function addScenarioDir(dir: string): Promise<Scenario[]> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /\.[cm]?[jt]s$/.test(f) && !/\.d\.[cm]?ts$/.test(f) && !/\.(test|spec)\./.test(f));
  } catch (err) {
    throw new UsageError(`--scenarios ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (err as Error).message}`, { fix: 'give the folder that holds your incident files (e.g. ./incidents)' });
  }
  if (!files.length) throw new UsageError(`--scenarios ${dir}: the folder has no scenario files (.ts or .js)`, { fix: 'write one: see docs/own-repo.md' });
  const loaded: Scenario[] = [];
  for (const f of files.sort()) loaded.push(await addScenarioFile(`${dir.replace(/\/$/, '')}/${f}`));
  return loaded;
}
