/** A phase result as text lines: one per check, with its evidence. Used by the CLI, tests, JUnit. */
import type { PhaseResult } from '../scenario/run-phase.js';

const MARK = { true: '✓', false: '✗', unknown: '?' } as const;

export function verdictLines(r: PhaseResult): string[] {
  const lines: string[] = [];
  if (r.error) lines.push(...r.error.split('\n').map((l) => `! ${l}`));
  for (const v of r.verdicts) {
    lines.push(`${MARK[String(v.pass) as keyof typeof MARK]} ${v.label}`);
    lines.push(`    ${v.evidence}`);
  }
  if (r.strip) lines.push(`  timeline ${r.strip}`);
  lines.push(`  artifacts ${r.artifactsDir}`);
  return lines;
}
