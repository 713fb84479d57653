/** JUnit XML for CI systems: one testcase per phase run, failures carry the verdict text. */
import type { PhaseResult } from '../scenario/run-phase.js';
import { verdictLines } from './verdict-text.js';

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

export function junitXml(scenario: string, results: PhaseResult[]): string {
  const failures = results.filter((r) => r.status === 'fail' || r.status === 'unknown').length;
  const errors = results.filter((r) => r.status === 'error').length;
  const skipped = results.filter((r) => r.status === 'not-applicable').length;
  const cases = results.map((r) => {
    const name = `${r.phase}${r.iteration > 1 ? ` #${r.iteration}` : ''}: ${r.title}`;
    const body = verdictLines(r).join('\n');
    let inner = '';
    if (r.status === 'fail' || r.status === 'unknown') inner = `<failure message="${esc(r.status)}">${esc(body)}</failure>`;
    else if (r.status === 'error') inner = `<error message="${esc(r.error?.split('\n')[0] ?? 'error')}">${esc(r.error ?? '')}</error>`;
    else if (r.status === 'not-applicable') inner = `<skipped message="${esc(r.verdicts[0]?.evidence ?? '')}"/>`;
    return `    <testcase classname="${esc(scenario)}" name="${esc(name)}" time="${(r.timings.wallMs / 1000).toFixed(3)}">${inner}<system-out>${esc(body)}</system-out></testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites><testsuite name="${esc(scenario)}" tests="${results.length}" failures="${failures}" errors="${errors}" skipped="${skipped}">`,
    ...cases,
    '  </testsuite></testsuites>',
    '',
  ].join('\n');
}
