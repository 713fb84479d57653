/** upgrade-check's JUnit XML: one test case per change, the changes that alter traffic unaccepted failing. */
import { junit } from '../report/junit.js';
import type { ConfigChanges } from './config-changes.js';
import type { EnvoyChanges } from './envoy-changes.js';

/** The upgrade check: one test case per behaviour change; a traffic change the team has not accepted fails, one without effect is skipped. */
export function upgradeJunitXml(r: ConfigChanges, unaccepted: string[]): string {
  const builder = junit.newBuilder();
  const suite = builder.testSuite().name(`upgrade-check ${r.from} → ${r.to}`);
  for (const e of r.effects) {
    const diffs = [...(e.traffic?.differences ?? []), ...e.changes].map((d) => `${d.what}: ${d.before} → ${d.after}`).join('\n');
    const tc = suite.testCase().className('upgrade-check').name(`${e.change.flag} (changed in ${e.change.changedIn}): ${e.traffic?.verdict ?? (e.changes.length ? 'changes config' : 'no effect')}`).standardOutput(diffs);
    if (unaccepted.includes(e.change.flag)) tc.failure(`changes your traffic, not in --accept (keeps the old behaviour: ${e.change.flag}=${e.change.oldValue})`).stacktrace(diffs);
    else if (!e.changes.length) tc.skipped();
  }
  return builder.build();
}

/** An Envoy upgrade: one test case per phase that behaves differently, failing unless accepted. */
export function envoyUpgradeJunitXml(r: EnvoyChanges, unaccepted: string[]): string {
  const builder = junit.newBuilder();
  const suite = builder.testSuite().name(`upgrade-check Envoy ${r.from} → ${r.to}`);
  for (const c of r.changed) {
    const what = `${c.from.word} on ${r.from} → ${c.to.word} on ${r.to}`;
    const tc = suite.testCase().className(`upgrade-check.${c.scenario}`).name(`${c.phase} (${c.kind}): ${what}`).standardOutput(`${what}\n${c.reproduce}`);
    if (unaccepted.includes(c.id)) tc.failure(`behaves differently on Envoy ${r.to}, not in --accept (${c.id})`).stacktrace(`${what}\n${c.reproduce}`);
  }
  suite.testCase().className('upgrade-check').name(`${r.same} phase(s) behave the same on both`);
  return builder.build();
}
