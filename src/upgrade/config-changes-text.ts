/** The upgrade check's config changes as the terminal shows them: per behaviour change, its verdict for this YAML and what it changes. */
import type { ConfigChanges, FactChange } from './config-changes.js';
import type { TrafficEffect } from './traffic-changes.js';

/** At most this many changed facts per behaviour change on screen (--json has them all). */
const SHOWN = 8;

const factLines = (d: FactChange[]) => [
  ...d.slice(0, SHOWN).map((x) => `      ${x.what}: ${x.before} → ${x.after}`),
  ...(d.length > SHOWN ? [`      …and ${d.length - SHOWN} more (--json lists them)`] : []),
];

/** One change's verdict: on traffic when it was run, else on config. */
function verdictOf(e: ConfigChanges['effects'][number]): string {
  if (!e.changes.length) return e.read ? 'no effect on your config' : 'no effect: this Istio no longer reads the flag (the profile still sets it)';
  const parts = `${e.changes.length} part${e.changes.length === 1 ? '' : 's'}`;
  if (!e.traffic) return `changes your config (${parts})`;
  if (e.traffic.verdict === 'changes your traffic') return `CHANGES YOUR TRAFFIC (and ${parts} of config)`;
  if (e.traffic.verdict === 'config only') return `changes config only (${parts}): the same calls, answered the same`;
  return `changes your config (${parts}); traffic unknown: ${e.traffic.reason}`;
}

function trafficLines(t: TrafficEffect): string[] {
  return [
    ...t.differences.map((d) => `      ${d.what}: ${d.before} → ${d.after}`),
    `      traffic: ${t.called.length} service(s) called (${t.called.join(', ') || 'none'}) on each side; evidence ${t.evidence.before} and ${t.evidence.after}`,
    ...(t.unstable.length ? [`      not compared (differ between two runs of the same config): ${t.unstable.join(', ')}`] : []),
    ...t.left.map((x) => `      not probed: ${x}`),
  ];
}

export function configChangesText(r: ConfigChanges, gate: { accepted: Set<string>; unaccepted: string[] } = { accepted: new Set(), unaccepted: [] }): string {
  const from = r.fromBuild ? `Istio ${r.fromBuild.version}${r.fromBuild.profile ? ` (emulated on the new build by compatibility profile ${r.fromBuild.profile})` : ''}` : `${r.from} (Istio's emulation of that release by its compatibility profile, on the new build)`;
  const lines = [`Istio ${r.to}, upgrading from ${from}: what each behaviour change does to the config istiod generates for your YAML`, ''];
  for (const e of r.effects) {
    const acceptedMark = e.traffic?.verdict === 'changes your traffic' ? (gate.accepted.has(e.change.flag) ? ' [accepted]' : ' [not accepted]') : '';
    lines.push(`  ${e.change.flag} (changed in ${e.change.changedIn}): ${verdictOf(e)}${acceptedMark}`);
    const profile = r.fromBuild?.profile ?? r.from.replace(/^compat-/, '');
    const why = e.why === 'newer than the build' ? `${r.fromBuild?.version} predates the flag` : `compatibilityVersion ${profile} sets it`;
    if (e.changes.length) lines.push(...(e.traffic ? trafficLines(e.traffic) : []), ...factLines(e.changes), `      keeps the old behaviour: ${e.change.flag}=${e.change.oldValue} (istiod env; ${why})`, ...e.reproduce.map((c) => `      the incident, with its fixes: ${c}`));
  }
  if (!r.effects.length) lines.push(`  no behaviour change of this Istio is named for ${r.fromBuild ? `${r.fromBuild.version}: it knows every flag, and no profile is for its release (${r.fromBuild.release})` : r.from}`);
  lines.push('', `  all of them at once: ${r.all.length ? `${r.all.length} part(s) change` : 'no change'}`);
  if (r.fromBuild) {
    const b = r.fromBuild;
    lines.push('', `  Istio ${b.version} (release ${b.release}) itself, rendered: ${b.all.length ? `${b.all.length} part(s) differ from ${r.to}` : `the same config as ${r.to}`}`);
    lines.push(`  of those, behind no flag (code changes between the builds): ${b.behindNoFlag.length ? `${b.behindNoFlag.length}` : 'none'}`, ...factLines(b.behindNoFlag));
  }
  if (r.unstable.length) lines.push(`  not compared (differ between two renders of the same YAML): ${r.unstable.join(', ')}`);
  if (r.notRun.length) lines.push(`  not run by the lab (istio-cni / ztunnel Helm values in the profile): ${r.notRun.join(', ')}`);
  const ran = r.effects.some((e) => e.traffic);
  lines.push('', `(each "before → after" is the old behaviour → the new one${ran ? '; a change that alters config is also run with traffic, a lab on each side' : '; config only (--no-traffic)'})`);
  if (gate.unaccepted.length) lines.push('', `GATE: ${gate.unaccepted.length} change(s) alter your traffic and are not in --accept: ${gate.unaccepted.join(', ')} (exit 1). Review each, then list it in the --accept file.`);
  return lines.join('\n');
}
