/** The page shell every report shares: one file, its CSS inline, no script, nothing fetched. */
import { html, raw, type Html } from './html.js';

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1180px; padding: 16px 24px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin: 0; } h3 { font-size: 15px; display: inline; }
h4 { font-size: 13px; margin: 10px 0 2px; } small { color: #666; font-weight: normal; }
section.phase { border-top: 2px solid #ddd; padding: 14px 0 8px; margin-top: 18px; }
.phase-title { margin: 4px 0; font-size: 15px; } .meta { color: #555; margin: 2px 0 8px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 4px; color: #fff; font-size: 13px; }
.badge.pass { background: #2e9d4a; } .badge.gone { background: #1f77b4; } .badge.fail, .badge.error { background: #d62728; }
.badge.unknown { background: #d4a017; } .badge.not-applicable { background: #999; }
table { border-collapse: collapse; margin: 6px 0; } th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } table.checks td.mark { font-weight: bold; } tr.pass td.mark { color: #2e9d4a; } tr.fail td.mark { color: #d62728; } tr.unknown td.mark { color: #d4a017; }
table.access-log, table.counters { font: 12px/1.3 ui-monospace, monospace; } tr.flagged { background: #fff3f3; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 12px; } pre.error { background: #fff0f0; }
.diff .add { color: #116329; background: #e6ffec; } .diff .del { color: #82071e; background: #ffebe9; } .diff .hunk { color: #6639ba; }
.missing { color: #a05a00; } details { margin: 8px 0; } summary { cursor: pointer; }
.chart { overflow-x: auto; } dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; } dt { font-weight: bold; } dd { margin: 0; }
table.matrix td a { color: inherit; text-decoration: none; display: block; } table.matrix td.ok { background: #eaf6ec; } table.matrix td.bad { background: #fdeaea; }
`;

export function page(title: string, body: Html): string {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title><style>${raw(CSS)}</style></head><body>${body}</body></html>`.text;
}
