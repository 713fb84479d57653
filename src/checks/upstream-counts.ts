/**
 * Checks on what an upstream HTTP host counted itself (lab.hosts.upstreamCounts): requests and the work
 * they did per "METHOD /path". Envoy's own account says how many attempts it made; this says how
 * many times the work really happened (a payout, an order), which is what the incident costs.
 */
import type { Evidence } from '../evidence/evidence.js';
import { EvidenceMissing } from '../evidence/evidence.js';
import type { UpstreamCounts } from '../upstreams/http-upstream.js';
import { check, type Check, type Finding } from './check.js';

/** The host's last counts the phase took (lab.hosts.upstreamCounts); never taken → EvidenceMissing. */
export function upstreamCountsOf(e: Evidence, host: string): UpstreamCounts {
  try {
    return JSON.parse(e.note(`${host} counts`)) as UpstreamCounts;
  } catch (err) {
    if (err instanceof EvidenceMissing) throw new EvidenceMissing(`what ${host} counted: the phase never called lab.hosts.upstreamCounts('${host}')`);
    throw err;
  }
}

const describe = (c: UpstreamCounts) =>
  `requests ${JSON.stringify(c.requests)}, work done ${JSON.stringify(c.work)}${c.duplicatesAbsorbed ? `, ${c.duplicatesAbsorbed} repeated key(s) absorbed` : ''}${c.shadowed ? `, ${c.shadowed} taken for mirrored traffic (no work)` : ''}${c.resetsAfterRead ? `, ${c.resetsAfterRead} reset(s) after the request was read` : ''}${Object.keys(c.protocols ?? {}).length ? `, per HTTP version ${JSON.stringify(c.protocols)}` : ''}${Object.keys(c.hosts ?? {}).length ? `, per Host ${JSON.stringify(c.hosts)}` : ''}${Object.keys(c.ports ?? {}).length ? `, per port ${JSON.stringify(c.ports)}` : ''}${c.websockets ? `, ${c.websockets} WebSocket(s), ${c.websocketMessages} message(s) echoed` : ''}${c.unreadable ? `, ${c.unreadable} parse error(s) on what came in (${c.lastUnreadable})` : ''}${c.goaways || c.pastGoaway ? `, ${c.goaways} GOAWAY(s) sent at its limit, ${c.pastGoaway} stream(s) past one never answered` : ''}`;

/** A check on an upstream's own counts; the evidence always shows them in full. */
export function upstreamCounted(label: string, host: string, judge: (c: UpstreamCounts, e: Evidence) => boolean | Finding): Check {
  return check(label, (e) => {
    const c = upstreamCountsOf(e, host);
    const r = judge(c, e);
    return typeof r === 'boolean' ? { pass: r, evidence: `${host}: ${describe(c)}` } : { pass: r.pass, evidence: `${host}: ${describe(c)}; ${r.evidence}` };
  });
}
