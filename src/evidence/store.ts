/** A phase's evidence on disk (evidence.json beside its artifacts), so verdicts can be re-judged. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Evidence, type EvidenceData } from './evidence.js';

export const EVIDENCE_FILE = 'evidence.json';

export async function saveEvidence(dir: string, data: EvidenceData): Promise<void> {
  await writeFile(join(dir, EVIDENCE_FILE), JSON.stringify(data));
}

export async function loadEvidence(dir: string): Promise<Evidence> {
  return new Evidence(JSON.parse(await readFile(join(dir, EVIDENCE_FILE), 'utf8')) as EvidenceData);
}
