/**
 * The facts a signature may declare about the entries its pattern matched, as a group: one
 * downstream connection, the upstream host staying, connections reused, a window between
 * successes, a permanent state, connections delivered elsewhere. Each says "cannot tell"
 * (undefined) where an excerpt does not show it: a paste is not the whole log.
 */
import type { AccessLogEntry } from '../envoy/access-log.js';
import type { SignatureFact } from './signature.js';

/** The downstream connection of an entry: its id in the lab's log, the caller's address:port otherwise. */
export const downstreamConnection = (a: AccessLogEntry) => (a.cx !== undefined ? `cx ${a.cx}` : a.ds_remote);

// A 2xx whose only flag is DC was answered: the client hung up after its answer, before Envoy closed the stream.
const succeeded = (a: AccessLogEntry) => a.code !== undefined && a.code < 400 && (!a.flags || a.flags === 'DC') && (a.kind === 'tcp' || a.code > 0);
/** A log with no success at all is likely an excerpt (grep 503): what it says of successes cannot be judged. */
const FILTERED = { holds: undefined, evidence: 'no successful entry in the log (an excerpt?): cannot tell' };

/** The shared facts scenarios declare. */
export const facts = {
  /** Every matching entry came on one downstream connection (a kept-alive client connection, pinned). */
  oneDownstreamConnection: (): SignatureFact => ({
    says: 'all on one downstream connection',
    holds: (m, _all, o) => {
      const cxs = [...new Set(m.map(downstreamConnection))];
      if (m.length < 2 && !o.excerpt) return { holds: false, evidence: 'one entry: not a connection pinned across calls' };
      if (m.length < 2 || cxs[0] === undefined) return { holds: undefined, evidence: m.length < 2 ? 'one entry: cannot tell' : 'the log does not carry the downstream connection' };
      return { holds: cxs.length === 1, evidence: cxs.length === 1 ? `all on downstream connection ${cxs[0]}` : `${cxs.length} downstream connections` };
    },
  }),
  /** The upstream host never changes across the matching entries (pinned to one address). */
  upstreamHostStays: (): SignatureFact => ({
    says: 'the upstream host stays the same',
    holds: (m, _all, o) => {
      const hosts = [...new Set(m.map((a) => a.up_host))];
      if (m.length < 2 && !o.excerpt) return { holds: false, evidence: 'one entry: not a host the calls stay pinned to' };
      if (m.length < 2 || hosts.every((h) => h === undefined)) return { holds: undefined, evidence: m.length < 2 ? 'one entry: cannot tell' : 'the log does not carry the upstream host' };
      return { holds: hosts.length === 1 && hosts[0] !== undefined, evidence: hosts.length === 1 ? `upstream host stays ${hosts[0] ?? '(none)'}` : `upstream hosts ${hosts.join(', ')}` };
    },
  }),
  /** Calls to the same cluster also succeed: the failure is in some calls, not the route. */
  othersToTheClusterSucceed: (): SignatureFact => ({
    says: 'other calls to the same cluster succeed',
    holds: (m, all, o) => {
      if (o.excerpt && !all.some(succeeded)) return FILTERED;
      const clusters = new Set(m.map((a) => a.up_cluster));
      const ok = all.filter((a) => clusters.has(a.up_cluster) && succeeded(a));
      return { holds: ok.length >= 1, evidence: `${ok.length} successful call(s) to ${[...clusters].join(', ')}` };
    },
  }),
  /** An entry's upstream connection carried an earlier successful request: the failure came on a reused connection. */
  onAReusedUpstreamConnection: (): SignatureFact => ({
    says: 'each on an upstream connection that had served before (reused)',
    holds: (m, all) => {
      const conn = (a: AccessLogEntry) => (a.up_cx !== undefined ? `up_cx ${a.up_cx}` : a.up_local);
      const t = (a: AccessLogEntry) => Date.parse(a.ts);
      if (m.every((f) => conn(f) === undefined)) return { holds: undefined, evidence: 'the log does not carry the upstream connection' };
      // Each upstream connection's first success (one pass over the log).
      const firstServed = new Map<string, number>();
      for (const a of all) {
        const k = conn(a);
        if (k !== undefined && a.code !== undefined && a.code < 400 && !(firstServed.get(k)! <= t(a))) firstServed.set(k, t(a));
      }
      const reused = m.filter((f) => conn(f) !== undefined && firstServed.get(conn(f)!)! <= t(f));
      return { holds: reused.length === m.length, evidence: `${reused.length} of ${m.length} on an upstream connection that had served before` };
    },
  }),
  /** Connections for one address delivered to another host: the original destination is not the upstream host (a catch-all chain). */
  deliveredToAnotherHost: (): SignatureFact => ({
    says: 'connections dialled to one address were delivered to another host',
    holds: (m) => {
      const ip = (addr?: string) => addr?.replace(/:\d+$/, '');
      if (m.every((a) => a.ds_local === undefined || a.up_host === undefined)) return { holds: undefined, evidence: 'the log does not carry the original destination and the upstream host' };
      const moved = m.filter((a) => a.ds_local !== undefined && a.up_host !== undefined && ip(a.ds_local) !== ip(a.up_host));
      return { holds: moved.length >= 1, evidence: moved.length ? `${moved.length} connection(s), e.g. dialled ${moved[0]!.ds_local}${moved[0]!.sni ? ` (SNI ${moved[0]!.sni})` : ''}, delivered to ${moved[0]!.up_host} by ${moved[0]!.up_cluster}` : 'every connection went to the address it dialled' };
    },
  }),
  /** Inbound calls went to the pod's address (Istio ≥ 1.10), not to 127.0.0.1 (before 1.10, where an app bound to localhost answers). */
  inboundToThePodAddress: (): SignatureFact => ({
    says: "the inbound cluster dialled the pod's address, not 127.0.0.1 (Istio ≥ 1.10)",
    holds: (m) => {
      const hosts = [...new Set(m.map((a) => a.up_host).filter((h): h is string => h !== undefined))];
      if (!hosts.length) return { holds: undefined, evidence: 'the log does not carry the upstream host' };
      const loopback = hosts.filter((h) => /^127\.|^\[::1\]/.test(h));
      return { holds: loopback.length === 0, evidence: loopback.length ? `to ${loopback[0]}: Istio < 1.10 sends inbound traffic to localhost, where an app bound to it answers` : `to ${hosts.slice(0, 2).join(', ')}` };
    },
  }),
  /** The upstream host is in Istio's auto-allocated range (240.240.0.0/16): a ServiceEntry's address, where nothing listens. */
  toAnAutoAllocatedAddress: (): SignatureFact => ({
    says: "the upstream host is a ServiceEntry's auto-allocated address (240.240.0.0/16)",
    holds: (m) => {
      const hosts = [...new Set(m.map((a) => a.up_host).filter((h): h is string => h !== undefined))];
      if (!hosts.length) return { holds: undefined, evidence: 'the log does not carry the upstream host' };
      return { holds: hosts.every((h) => /^240\.240\./.test(h)), evidence: `to ${hosts.slice(0, 2).join(', ')}` };
    },
  }),
  /** Once failing, the route never works again in the log: a permanent state, not a window. */
  noSuccessAfterTheFirstFailure: (): SignatureFact => ({
    says: 'no success after the first failure (permanent, not a window)',
    holds: (m, all, o) => {
      if (o.excerpt && !all.some(succeeded)) return FILTERED;
      const first = Math.min(...m.map((a) => Date.parse(a.ts)));
      const after = all.filter((a) => Date.parse(a.ts) > first && succeeded(a)).length;
      return { holds: after === 0, evidence: `${after} success(es) after the first failure` };
    },
  }),
  /** No call to that cluster succeeds: the whole route is broken. */
  noCallToTheClusterSucceeds: (): SignatureFact => ({
    says: 'no call to that cluster succeeds',
    holds: (m, all, o) => {
      if (o.excerpt && !all.some(succeeded)) return FILTERED;
      const clusters = new Set(m.map((a) => a.up_cluster));
      const ok = all.filter((a) => clusters.has(a.up_cluster) && succeeded(a));
      return { holds: ok.length === 0, evidence: ok.length ? `${ok.length} successful call(s) to the same cluster` : 'no successful call to it' };
    },
  }),
  /** The failures come as a window: successes before and after them on the same route (a push in progress). */
  failuresBetweenSuccesses: (): SignatureFact => ({
    says: 'successes before and after the failures (a window, not a permanent state)',
    holds: (m, all, o) => {
      if (o.excerpt && !all.some(succeeded)) return FILTERED;
      const t = (a: AccessLogEntry) => Date.parse(a.ts);
      const first = Math.min(...m.map(t));
      const last = Math.max(...m.map(t));
      const ok = succeeded;
      const before = all.filter((a) => ok(a) && t(a) < first).length;
      const after = all.filter((a) => ok(a) && t(a) > last).length;
      return { holds: before >= 1 && after >= 1, evidence: `${before} success(es) before the first failure, ${after} after the last` };
    },
  }),
};
