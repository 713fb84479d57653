/**
 * upgrade-report.html: the upgrade check as one page. Per behaviour change: its verdict for the
 * team's YAML (traffic, config only, no effect), whether the team has accepted it, the calls that
 * differ, the config parts that differ, the flag that keeps the old behaviour, the labs' evidence.
 */
import type { ConfigChanges } from './config-changes.js';
import { html, type Html } from '../report/html/html.js';
import { page } from '../report/html/page.js';

type Effect = ConfigChanges['effects'][number];

const verdict = (e: Effect): { text: string; css: string } => {
  if (!e.changes.length) return { text: e.read ? 'no effect' : 'no effect (flag no longer read)', css: 'not-applicable' };
  if (e.traffic?.verdict === 'changes your traffic') return { text: 'changes your traffic', css: 'fail' };
  if (e.traffic?.verdict === 'config only') return { text: 'changes config only', css: 'pass' };
  if (e.traffic?.verdict === 'unknown') return { text: 'traffic unknown', css: 'unknown' };
  return { text: 'changes your config (traffic not run)', css: 'unknown' };
};

const rows = (list: Array<{ what: string; before: string; after: string }>): Html =>
  html`<table><tr><th>what</th><th>old behaviour</th><th>new behaviour</th></tr>${list.map((d) => html`<tr><td>${d.what}</td><td>${d.before}</td><td>${d.after}</td></tr>`)}</table>`;

function effectSection(e: Effect, accepted: Set<string>): Html {
  const v = verdict(e);
  const t = e.traffic;
  const gate = t?.verdict === 'changes your traffic' ? (accepted.has(e.change.flag) ? ' (accepted)' : ' (not accepted: fails the gate)') : '';
  return html`<section class="phase"><h3>${e.change.flag}</h3> <small>changed in ${e.change.changedIn}</small> <span class="badge ${v.css}">${v.text}${gate}</span>
  ${t && t.differences.length ? html`<h4>Calls through your config</h4>${rows(t.differences)}` : ''}
  ${t ? html`<p class="meta">${t.called.length} service(s) called on each side: ${t.called.join(', ') || 'none'}. Evidence: ${t.evidence.before} and ${t.evidence.after}.${t.reason ? ` ${t.reason}` : ''}</p>` : ''}
  ${t?.unstable.length ? html`<p class="meta">Not compared (differ between two runs of the same config): ${t.unstable.join(', ')}</p>` : ''}
  ${e.changes.length ? html`<details${t?.verdict === 'changes your traffic' ? '' : ' open'}><summary>${e.changes.length} config part(s)</summary>${rows(e.changes)}</details><p class="meta">Keeps the old behaviour: istiod env <code>${e.change.flag}=${e.change.oldValue}</code>.${e.reproduce.length ? html` The incident, with its fixes: ${e.reproduce.map((c) => html`<code>${c}</code> `)}` : ''}</p>` : ''}
  </section>`;
}

export function upgradeReportHtml(r: ConfigChanges, accepted: Set<string>, unaccepted: string[]): string {
  const from = r.fromBuild ? `Istio ${r.fromBuild.version}` : `${r.from} (Istio's compatibility profile on the new build)`;
  return page(
    `upgrade check: ${from} → ${r.to}`,
    html`<h1>Istio upgrade check</h1><p class="meta">From ${from} to Istio ${r.to}. ${unaccepted.length ? `${unaccepted.length} change(s) alter your traffic and are not accepted: ${unaccepted.join(', ')}.` : 'No unaccepted change alters your traffic.'}</p>
    ${r.effects.map((e) => effectSection(e, accepted))}
    ${r.fromBuild?.behindNoFlag.length ? html`<section class="phase"><h3>Behind no flag</h3> <small>code changes between the builds</small>${rows(r.fromBuild.behindNoFlag)}</section>` : ''}
    ${r.notRun.length ? html`<p class="meta">Not run by the lab (istio-cni / ztunnel Helm values in the profile): ${r.notRun.join(', ')}</p>` : ''}`,
  );
}
