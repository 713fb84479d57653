/**
 * blackhole: the host's address stops answering. New connections get no reply at all (SYNs are
 * dropped, the dialer sits in SYN-SENT until its own timeout: the seed's `ss` output), and the
 * service behind it goes away, closing the connections it had.
 */
import { kernelFault } from './kernel-rule.js';

export const blackhole = kernelFault({
  type: 'blackhole',
  describe: 'SYNs dropped; open connections closed',
  rule: { tag: 'efl-blackhole', match: ['-p', 'tcp', '--syn'], target: ['-j', 'DROP'] },
  instrument: 'http.closeConnections',
  evidence: (host, ip, n) => `the kernel on ${host} dropped ${n} SYN(s) to ${ip}`,
});
