/**
 * accept-queue-full: one port of the host stops taking connections the way a listener whose accept
 * queue is full does: the kernel drops the SYNs to that port (Linux counts them as
 * ListenOverflows), so each dialer waits for its own connect timeout. Other ports, and the
 * connections already open, are left alone.
 */
import { kernelFault } from './kernel-rule.js';

export const acceptQueueFull = (port: number) =>
  kernelFault({
    type: 'accept-queue-full',
    describe: `SYNs to :${port} dropped (a full accept queue)`,
    rule: { tag: 'efl-accept-queue-full', match: ['-p', 'tcp', '--syn', '--dport', String(port)], target: ['-j', 'DROP'] },
    evidence: (host, _ip, n) => `the kernel on ${host} dropped ${n} SYN(s) to :${port}`,
  });
