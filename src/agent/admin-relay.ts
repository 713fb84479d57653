/**
 * The agent's side of a sidecar started by pilot-agent: Envoy's admin stays where pilot-agent puts
 * it and calls it (127.0.0.1:15000 in the pod: readiness, the drain, /quitquitquit), and this relay
 * makes it reachable for the harness on a unix socket in the sidecar's directory, whatever
 * namespace or container the pod is. It runs as the proxy's uid: its loopback calls are exempt
 * from the interception as pilot-agent's own are.
 */
import { chmod, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import type { Commands } from './protocol.js';

export const adminRelayCommands: Commands = {
  'admin.relay': async ({ socket, port }: { socket: string; port: number }) => {
    await rm(socket, { force: true });
    const server = createServer((downstream) => {
      const upstream = createConnection({ host: '127.0.0.1', port });
      downstream.pipe(upstream).pipe(downstream);
      upstream.on('error', () => downstream.destroy());
      downstream.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, resolve));
    await chmod(socket, 0o666);
    return { socket };
  },
};
