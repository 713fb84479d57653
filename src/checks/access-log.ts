/** Named checks on Envoy's own account: its JSON access log (what it decided, per request or connection). */
import type { AccessLogEntry } from '../envoy/access-log.js';
import { check, type Check } from './check.js';
import { accessIn, describeAccess, distinct, type Window } from './slices.js';

export interface AccessSelection extends Window {
  kind?: 'http' | 'tcp';
  where?: (a: AccessLogEntry) => boolean;
  /** Whose access log: the pod's sidecar (default) or the other pod's own sidecar (world.peerSidecar). */
  sidecar?: 'pod' | 'peer';
  /** At least this many entries must be selected (default 1). */
  min?: number;
  /**
   * Pinned: all on one downstream connection (one %CONNECTION_ID%) per app in the pod: one for the
   * lab's client, one more for your own app (--app), each kept alive by its program.
   */
  oneDownstreamConnection?: boolean;
}

/** Every selected access-log entry satisfies `expected`. */
export function everyAccessEntry(label: string, sel: AccessSelection, expected: (a: AccessLogEntry) => boolean): Check {
  return check(label, (e) => {
    const entries = accessIn(e, sel, sel.kind, sel.sidecar === 'peer' ? e.peerAccessLog : undefined).filter(sel.where ?? (() => true));
    const cxs = distinct(entries.map((a) => a.cx));
    const bad = entries.filter((a) => !expected(a));
    const apps = sel.oneDownstreamConnection ? e.appsInPod : 1;
    const oneCx = !sel.oneDownstreamConnection || (cxs.length >= 1 && cxs.length <= apps);
    return {
      pass: entries.length >= (sel.min ?? 1) && bad.length === 0 && oneCx,
      evidence: `${describeAccess(entries)}${sel.oneDownstreamConnection ? `; downstream cx id(s) ${cxs.join(', ') || '(none)'}${apps > 1 ? ` (${apps} apps in the pod: one each)` : ''}` : ''}${bad.length ? `; ${bad.length} not as expected` : ''}`,
    };
  });
}

/** Envoy saw none of the phase's traffic (the sidecar was out of the path). */
export const noAccessEntries = (label: string) =>
  check(label, (e) => ({ pass: e.accessLog.length === 0, evidence: `${e.accessLog.length} access-log entries` }));
