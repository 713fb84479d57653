/** Checks on Envoy's own view of a cluster's hosts, taken mid-phase with lab.sidecar.hostHealth(label, cluster). */
import { check, type Check } from './check.js';

/** Host lines ("198.18.4.31:8080 failed_outlier_check") of the view taken under `label`. */
const hostsOf = (e: Parameters<Check>[0], label: string): string[] => JSON.parse(e.note(`hosts ${label}`)) as string[];

/** In the view taken under `label`, exactly `count` host(s) carried `flag` ('healthy': no flag at all). */
export function hostsFlagged(label: string, view: string, flag: string, count: number | 'all'): Check {
  return check(label, (e) => {
    const hosts = hostsOf(e, view);
    const flagged = hosts.filter((h) => h.split(' ')[1]!.split(',').includes(flag));
    const want = count === 'all' ? hosts.length : count;
    return { pass: hosts.length > 0 && flagged.length === want, evidence: `/clusters (${view}): ${hosts.join('; ') || 'no hosts'}` };
  });
}

/**
 * The view taken under `view` listed exactly these lab hosts (by name; EDS's membership, flags
 * aside): what the sidecar still believed about the service at that moment.
 */
export function hostsListed(label: string, view: string, hosts: string[]): Check {
  return check(label, (e) => {
    const listed = hostsOf(e, view).map((h) => h.split(':')[0]!).sort();
    const want = hosts.map((h) => e.ip(h)).sort();
    return { pass: listed.join(' ') === want.join(' '), evidence: `/clusters (${view}): ${hostsOf(e, view).join('; ') || 'no hosts'}; expected ${hosts.map((h) => `${h} (${e.ip(h)})`).join(', ') || 'none'}` };
  });
}
