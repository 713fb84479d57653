/**
 * blackhole: the host's address stops answering. New connections get no reply at all (SYNs are
 * dropped, the dialer sits in SYN-SENT until its own timeout: the seed's `ss` output), and the
 * service behind it goes away, closing the connections it had.
 */
import type { Fault } from './fault.js';
import { inputRulePackets, insertInputRule } from './iptables-rule.js';

const TAG = 'efl-blackhole';

export const blackhole: Fault = {
  type: 'blackhole',
  describe: 'SYNs dropped; open connections closed',
  async apply(lab, host) {
    await insertInputRule(lab.backend, host, { tag: TAG, match: ['-p', 'tcp', '--syn'], target: ['-j', 'DROP'] });
    await lab.upstream(host).call('http.closeConnections');
  },
  async evidence(lab, host) {
    const fired = await inputRulePackets(lab.backend, host, TAG);
    return { host, fault: 'blackhole', fired, detail: `the kernel on ${host} dropped ${fired} SYN(s) to ${lab.ip(host)}` };
  },
};
