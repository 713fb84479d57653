/** The upgrade check's config changes as the terminal shows them: per behaviour change, its verdict for this YAML and what it changes. */
import type { ConfigChanges, FactChange } from './config-changes.js';

/** At most this many changed facts per behaviour change on screen (--json has them all). */
const SHOWN = 8;

const factLines = (d: FactChange[]) => [
  ...d.slice(0, SHOWN).map((x) => `      ${x.what}: ${x.before} → ${x.after}`),
  ...(d.length > SHOWN ? [`      …and ${d.length - SHOWN} more (--json lists them)`] : []),
];

export function configChangesText(r: ConfigChanges): string {
  const from = r.fromBuild ? `Istio ${r.fromBuild.version}${r.fromBuild.profile ? ` (emulated on the new build by compatibility profile ${r.fromBuild.profile})` : ''}` : `${r.from} (Istio's emulation of that release by its compatibility profile, on the new build)`;
  const lines = [`Istio ${r.to}, upgrading from ${from}: what each behaviour change does to the config istiod generates for your YAML`, ''];
  for (const e of r.effects) {
    const verdict = e.changes.length ? `changes your config (${e.changes.length} part${e.changes.length === 1 ? '' : 's'})` : e.read ? 'no effect on your config' : 'no effect: this Istio no longer reads the flag (the profile still sets it)';
    lines.push(`  ${e.change.flag} (changed in ${e.change.changedIn}): ${verdict}`);
    const profile = r.fromBuild?.profile ?? r.from.replace(/^compat-/, '');
    const why = e.why === 'newer than the build' ? `${r.fromBuild?.version} predates the flag` : `compatibilityVersion ${profile} sets it`;
    if (e.changes.length) lines.push(...factLines(e.changes), `      keeps the old behaviour: ${e.change.flag}=${e.change.oldValue} (istiod env; ${why})`);
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
  lines.push('', '(each "before → after" is the old behaviour → the new one; only config is compared so far: traffic under each behaviour is the next step of the upgrade check)');
  return lines.join('\n');
}
