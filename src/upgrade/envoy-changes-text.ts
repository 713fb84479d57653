/** upgrade-check's words for an Envoy upgrade: each phase that behaves differently, its two verdicts, how to run it; then the gate. */
import type { EnvoyChanges } from './envoy-changes.js';

export function envoyChangesText(r: EnvoyChanges, o: { accepted: Set<string>; unaccepted: string[] }): string {
  const lines = [`Envoy ${r.from} → ${r.to}: every phase of ${r.scenarios.length} scenario(s) run on both (the same labs and checks, ${r.backend})`, ''];
  for (const c of r.changed) {
    const mark = o.unaccepted.includes(c.id) ? ' [not accepted]' : o.accepted.has(c.id) ? ' [accepted]' : '';
    lines.push(`  ${c.scenario} ${c.phase} (${c.kind}): ${c.from.word} on ${r.from} → ${c.to.word} on ${r.to}${mark}`);
    for (const [v, s] of [[r.from, c.from], [r.to, c.to]] as const) if (s.reason && s.status !== 'pass') lines.push(`      on ${v}: ${s.reason}`);
    lines.push(`      ${c.reproduce}`);
  }
  if (!r.changed.length) lines.push('  no phase behaves differently');
  lines.push('', `  the same on both: ${r.same} phase(s)`, '');
  lines.push(
    o.unaccepted.length
      ? `GATE: ${o.unaccepted.length} phase(s) behave differently on ${r.to} and are not in --accept: ${o.unaccepted.join(', ')} (exit 1). Review each, then list it (<scenario>/<phase>) in the --accept file.`
      : `GATE: passed: ${r.changed.length ? 'every phase that behaves differently is in --accept' : 'no phase behaves differently'}.`,
  );
  return lines.join('\n');
}
