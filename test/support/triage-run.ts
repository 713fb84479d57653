/**
 * Triage of a lab run as a person would do it: everything the run left that a person in the
 * incident would have (the access log, what the app met, Envoy's and pilot-agent's log, the
 * counters, the config_dump, the connection tables), read by the same reader as a paste.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Evidence } from '../../src/evidence/evidence.js';
import type { ReadPaste } from '../../src/triage/clue.js';
import { pasteOfRun } from '../../src/triage/paste-of-run.js';
import { readPaste } from '../../src/triage/read/read-paste.js';
import type { SignedScenario } from '../../src/triage/signature.js';
import { cluesOfEntries, podEvidence, triagePaste, type Triage } from '../../src/triage/triage.js';

export function readRun(e: Evidence, artifactsDir: string): ReadPaste {
  const log = join(artifactsDir, 'envoy', 'envoy.log');
  const read = readPaste(pasteOfRun(e.data, existsSync(log) ? readFileSync(log, 'utf8') : ''));
  const entries = cluesOfEntries(e.accessLog).clues;
  return { ...read, clues: [...read.clues, ...entries], wholeLog: true, wholeRun: true };
}

export const marksOf = (read: ReadPaste) => new Set(read.clues.flatMap((c) => (c.mark ? [c.mark] : [])));

export const triageRun = (e: Evidence, artifactsDir: string, scenarios: SignedScenario[]): Triage => triagePaste(readRun(e, artifactsDir), scenarios, podEvidence(e));
