/**
 * JUnit XML for CI systems (junit-report-builder: it escapes and strips what XML cannot carry,
 * such as control characters in Envoy's output): one testcase per phase run; failures and
 * UNKNOWNs carry the verdict text, N/A phases are skipped with their reason. A matrix names each
 * test case's class `<scenario>@<version>`. The upgrade check's own cases: src/upgrade/upgrade-junit.ts.
 */
import junitModule, { type Builder } from 'junit-report-builder';
import type { PhaseResult } from '../scenario/run-phase.js';
import { verdictLines } from './verdict-text.js';

// A CommonJS module whose `exports.default` is the builder: Node's ESM import hands over the
// whole exports object, TypeScript's types describe the default. Take whichever holds it.
export const junit: Builder = ((junitModule as unknown as { default?: Builder }).default ?? junitModule) as Builder;

export function junitXml(scenario: string, results: PhaseResult[], classOf: (r: PhaseResult) => string = () => scenario): string {
  const builder = junit.newBuilder();
  const suite = builder.testSuite().name(scenario);
  for (const r of results) {
    const body = verdictLines(r).join('\n');
    const tc = suite
      .testCase()
      .className(classOf(r))
      .name(`${r.phase}${r.iteration > 1 ? ` #${r.iteration}` : ''}: ${r.title}`)
      .time(r.timings.wallMs / 1000)
      .standardOutput(body);
    if (r.status === 'fail' || r.status === 'unknown') tc.failure(`${r.status.toUpperCase()}: ${r.verdicts.find((v) => v.status !== 'pass')?.label ?? ''}`).stacktrace(body);
    else if (r.status === 'error') tc.error(r.error?.split('\n')[0] ?? 'error').stacktrace(r.error ?? '');
    else if (r.status === 'not-applicable') tc.skipped();
  }
  return builder.build();
}
