/** A phase result as text lines: one per check, with its evidence. Used by the CLI, tests, JUnit. */
import type { CheckStatus } from '../checks/check.js';
import type { PhaseResult } from '../scenario/run-phase.js';

const MARK: Record<CheckStatus, string> = { pass: '✓', fail: '✗', unknown: '?' };

export function verdictLines(r: PhaseResult): string[] {
  const lines: string[] = [];
  if (r.reason) lines.push(`- ${r.reason}`);
  if (r.error) lines.push(...r.error.split('\n').map((l) => `! ${l}`));
  for (const v of r.verdicts) {
    lines.push(`${MARK[v.status]} ${v.status === 'unknown' ? 'UNKNOWN: ' : ''}${v.label}`);
    lines.push(`    ${v.evidence}`);
  }
  if (r.strip) lines.push(`  timeline ${r.strip}`);
  lines.push(`  artifacts ${r.artifactsDir}`);
  return lines;
}

/** Upper-case status words, as every report prints them. */
export const STATUS_WORD: Record<PhaseResult['status'], string> = {
  pass: 'PASS',
  gone: 'GONE',
  fail: 'FAIL',
  unknown: 'UNKNOWN',
  error: 'ERROR',
  'not-applicable': 'N/A',
};
