/** The files a run leaves beside its phases: result.json (everything) and junit.xml (for CI). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PhaseResult } from '../scenario/run-phase.js';
import { junitXml } from './junit.js';

export interface RunSummary {
  scenario: string;
  backend: string;
  envoy: string;
  envoyBinary: string;
  repeat: number;
  results: PhaseResult[];
}

export async function writeRunFiles(runDir: string, summary: RunSummary): Promise<void> {
  await writeFile(join(runDir, 'result.json'), JSON.stringify(summary, null, 2));
  await writeFile(join(runDir, 'junit.xml'), junitXml(summary.scenario, summary.results));
}
