/** Envoy counters and gauges that changed during the phase: the mechanism, in Envoy's own numbers. */
import { html, type Html } from './html.js';

/** Process-wide housekeeping (uptime, memory, xDS versions) moves in every phase and tells no story. */
const HOUSEKEEPING = /^(server\.|runtime\.|main_thread\.|workers\.|.*\.version(_text)?$|.*\.update_time$|.*last_updated)/;

export function changedCounters(before: Record<string, number> | null, after: Record<string, number> | null): Array<{ name: string; before: number; after: number }> {
  if (!after) return [];
  return Object.entries(after)
    .filter(([name, v]) => (before?.[name] ?? 0) !== v)
    .map(([name, v]) => ({ name, before: before?.[name] ?? 0, after: v }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function countersHtml(before: Record<string, number> | null, after: Record<string, number> | null): Html {
  if (!after) return html`<p class="missing">Envoy's stats could not be read at the end of the phase (missing evidence).</p>`;
  const changed = changedCounters(before, after);
  const story = changed.filter((c) => !HOUSEKEEPING.test(c.name));
  const rest = changed.filter((c) => HOUSEKEEPING.test(c.name));
  const table = (rows: typeof changed) =>
    html`<table class="counters"><tr><th>stat</th><th>start</th><th>end</th><th>change</th></tr>${rows.map((c) => html`<tr><td><code>${c.name}</code></td><td>${c.before}</td><td>${c.after}</td><td>${c.after - c.before > 0 ? '+' : ''}${c.after - c.before}</td></tr>`)}</table>`;
  return html`${table(story)}${rest.length ? html`<details><summary>${rest.length} housekeeping stats that changed too (server, runtime, xDS versions)</summary>${table(rest)}</details>` : ''}`;
}
