/** refuse: the host answers every new connection with a TCP RST (nothing listens any more). */
import type { Fault } from './fault.js';
import { inputRulePackets, insertInputRule } from './iptables-rule.js';

const TAG = 'efl-refuse';

export const refuse: Fault = {
  type: 'refuse',
  describe: 'new connections reset (RST)',
  async apply(lab, host) {
    await insertInputRule(lab.backend, host, { tag: TAG, match: ['-p', 'tcp', '--syn'], target: ['-j', 'REJECT', '--reject-with', 'tcp-reset'] });
    await lab.upstream(host).call('http.closeConnections');
  },
  async evidence(lab, host) {
    const fired = await inputRulePackets(lab.backend, host, TAG);
    return { host, fault: 'refuse', fired, detail: `the kernel on ${host} reset ${fired} connection attempt(s)` };
  },
};
