/** refuse: the host answers every new connection with a TCP RST (nothing listens any more). */
import { kernelFault } from './kernel-rule.js';

export const refuse = kernelFault({
  type: 'refuse',
  describe: 'new connections reset (RST)',
  rule: { tag: 'efl-refuse', match: ['-p', 'tcp', '--syn'], target: ['-j', 'REJECT', '--reject-with', 'tcp-reset'] },
  instrument: 'http.closeConnections',
  evidence: (host, _ip, n) => `the kernel on ${host} reset ${n} connection attempt(s)`,
});
