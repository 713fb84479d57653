/** The files a run leaves beside its phases: result.json (everything), junit.xml (for CI) and report.html (for people). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PhaseResult } from '../scenario/run-phase.js';
import type { Scenario } from '../scenario/scenario.js';
import { writeRunReport } from './html/run-report.js';
import { junitXml } from './junit.js';

export interface RunSummary {
  scenario: string;
  backend: string;
  envoy: string;
  envoyBinary: string;
  repeat: number;
  results: PhaseResult[];
}

/** Writes the run's files; returns the path of report.html. */
export async function writeRunFiles(runDir: string, summary: RunSummary, scenario: Scenario): Promise<string> {
  await writeFile(join(runDir, 'result.json'), JSON.stringify(summary, null, 2));
  await writeFile(join(runDir, 'junit.xml'), junitXml(summary.scenario, summary.results));
  return writeRunReport(runDir, { scenario, results: summary.results, repeat: summary.repeat, backend: summary.backend, envoy: summary.envoy });
}
