/** Named checks on the pod's connection table (`ss -tanpo`), the view the seeds' authors had. */
import { check, type Check } from './check.js';

export interface SocketLine {
  /** ss state, e.g. ESTAB, SYN-SENT. */
  state: string;
  /** The peer, e.g. "198.18.7.21:80" (a function of the evidence: addresses differ per lab). */
  peer: (ip: (host: string) => string) => string;
  /**
   * The owning process as ss names it, e.g. "envoy", "node"; or "app": whatever program plays the
   * app (the lab's node client, curl, go-http), i.e. an owned socket that is not Envoy's.
   */
  process: string;
  /** The socket has a keepalive timer running (`timer:(keepalive,…)`, netstat -o) or has none. */
  keepalive?: boolean;
}

/** The snapshot `label` has a line for every one of `lines`. */
export function connectionTableShows(label: string, snapshot: string, lines: SocketLine[]): Check {
  return check(label, (e) => {
    const table = e.snapshot(snapshot).split('\n');
    const found = lines.map((l) => {
      const peer = l.peer((h) => e.ip(h));
      const timerOk = (row: string) => l.keepalive === undefined || row.includes('timer:(keepalive') === l.keepalive;
      const ownerOk = (row: string) => (l.process === 'app' ? row.includes('users:((') && !row.includes('"envoy"') : row.includes(`"${l.process}"`));
      return table.find((row) => row.startsWith(l.state) && row.includes(` ${peer} `) && ownerOk(row) && timerOk(row));
    });
    return {
      pass: found.every(Boolean),
      evidence: lines.map((l, i) => found[i]?.replace(/\s+/g, ' ').trim() ?? `no ${l.state} line of ${l.process === 'app' ? 'the app' : `"${l.process}"`}${l.keepalive === undefined ? '' : l.keepalive ? ' with a keepalive timer' : ' without a keepalive timer'}`).join(' | '),
    };
  });
}
