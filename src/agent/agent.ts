/**
 * Entry point of every lab agent: a Node process started inside a lab host (a namespace or a
 * container) that plays one part of the world (the lab DNS, an upstream server, the app's
 * client), driven by the harness over IPC. It exits when the harness goes away.
 * It is bundled on its own (agent-bundle.ts): nothing it imports may reach harness-only modules
 * (paths, install, lab), which depend on the repository layout.
 */
import type { AgentRequest, Commands, Emit } from './protocol.js';
import { dnsCommands } from '../dns/dns-server.js';
import { httpUpstreamCommands } from '../upstreams/http-upstream.js';
import { tlsUpstreamCommands } from '../upstreams/tls-upstream.js';
import { httpClientCommands } from '../traffic/http-client.js';
import { redisClientCommands } from '../traffic/redis-client.js';
import { tcpProbeCommands } from '../traffic/tcp-probe.js';
import { tlsClientCommands } from '../traffic/tls-client.js';

const commands: Commands = {
  ...dnsCommands,
  ...httpUpstreamCommands,
  ...tlsUpstreamCommands,
  ...httpClientCommands,
  ...redisClientCommands,
  ...tcpProbeCommands,
  ...tlsClientCommands,
};

if (!process.send) {
  console.error('agent.ts is started by the lab harness with an IPC channel; it is not a command to run by hand.');
  process.exit(2);
}

const send = (msg: unknown) => process.connected && process.send!(msg);
const emit: Emit = (event, fields) => send({ event, at: Date.now(), ...fields });

process.on('message', async (raw) => {
  const req = raw as AgentRequest;
  const handler = commands[req.cmd];
  try {
    if (!handler) throw new Error(`unknown agent command "${req.cmd}"`);
    send({ id: req.id, ok: true, result: (await handler(req.args, emit)) ?? null });
  } catch (err) {
    send({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
// The harness is gone (crash, SIGKILL): nothing in the lab may outlive it.
process.on('disconnect', () => process.exit(0));
send({ ready: true, pid: process.pid });
