/**
 * stop: the upstream process stops (its listeners close, its connections end) while the host and
 * its address stay: new connections are refused by the kernel (RST), as after a crash. The rule
 * only counts (ACCEPT changes nothing): proof that connection attempts arrived after the stop.
 */
import { kernelFault } from './kernel-rule.js';

export const stop = kernelFault({
  type: 'stop',
  describe: 'server stopped: listeners closed, connections ended',
  rule: { tag: 'efl-stop-count', match: ['-p', 'tcp', '--syn'], target: ['-j', 'ACCEPT'] },
  instrument: 'http.stop',
  evidence: (host, _ip, n) => `${n} connection attempt(s) reached ${host} after its server stopped (refused by the kernel)`,
});
