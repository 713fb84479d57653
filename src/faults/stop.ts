/**
 * stop: the upstream process stops (its listeners close, its connections end) while the host and
 * its address stay: new connections are refused by the kernel (RST), as after a crash. A counting
 * rule (ACCEPT, no effect on traffic) proves connection attempts arrived after the stop.
 */
import type { Fault } from './fault.js';
import { inputRulePackets, insertInputRule } from './iptables-rule.js';

const TAG = 'efl-stop-count';

export const stop: Fault = {
  type: 'stop',
  describe: 'server stopped: listeners closed, connections ended',
  async apply(lab, host) {
    await insertInputRule(lab.backend, host, { tag: TAG, match: ['-p', 'tcp', '--syn'], target: ['-j', 'ACCEPT'] });
    await lab.upstream(host).call('http.stop');
  },
  async evidence(lab, host) {
    const fired = await inputRulePackets(lab.backend, host, TAG);
    return { host, fault: 'stop', fired, detail: `${fired} connection attempt(s) reached ${host} after its server stopped (refused by the kernel)` };
  },
};
