/** The upgrade check over scenarios as the terminal shows it: per behaviour change, the phases whose config it alters, and their verdicts on each side. */
import type { ScenarioChanges } from './scenario-changes.js';

/** At most this many phases per behaviour change on screen (--json has them all). */
const SHOWN = 12;

export function scenarioChangesText(r: ScenarioChanges, gate: { accepted: Set<string>; unaccepted: string[] }): string {
  const lines = [`Istio ${r.to}, upgrading from ${r.from}: what each behaviour change does to ${r.scenarios.length} scenario(s) with Istio YAML (${r.scenarios.join(', ') || 'none'})`, ''];
  for (const e of r.effects) {
    const traffic = e.phases.filter((p) => p.traffic?.verdict === 'changes your traffic');
    const accepted = traffic.length ? (gate.accepted.has(e.change.flag) ? ' [accepted]' : ' [not accepted]') : '';
    const verdict = !e.phases.length
      ? e.read ? 'no effect on any scenario' : 'no effect: this Istio no longer reads the flag (the profile still sets it)'
      : traffic.length ? `CHANGES THE TRAFFIC of ${traffic.length} phase(s); config of ${e.phases.length}` : `changes the config of ${e.phases.length} phase(s)${e.phases.some((p) => p.traffic) ? ', their verdicts the same on both sides' : ''}`;
    lines.push(`  ${e.change.flag} (changed in ${e.change.changedIn}): ${verdict}${accepted}`);
    const shown = [...traffic, ...e.phases.filter((p) => !traffic.includes(p))].slice(0, SHOWN);
    for (const p of shown) {
      const t = p.traffic;
      const run = t ? `${t.before.toUpperCase()} with the old behaviour → ${t.after.toUpperCase()} with the new${t.verdict === 'unknown' ? ` (unknown: ${t.reason ?? 'a run did not finish'})` : ''}` : `${p.changes.length} config part(s)`;
      lines.push(`      ${p.scenario} ${p.phase} (${p.kind}): ${run}${t?.verdict === 'changes your traffic' ? `; ${p.reproduce}` : ''}`);
    }
    if (e.phases.length > SHOWN) lines.push(`      …and ${e.phases.length - SHOWN} more (--json lists them)`);
    if (e.phases.length) lines.push(`      keeps the old behaviour: ${e.change.flag}=${e.change.oldValue} (istiod env)`);
  }
  if (gate.unaccepted.length) lines.push('', `GATE: ${gate.unaccepted.length} change(s) alter your scenarios' traffic and are not in --accept: ${gate.unaccepted.join(', ')} (exit 1).`);
  return lines.join('\n');
}
