/**
 * The commands a lab agent answers, each group loaded when its first command comes. An agent
 * plays one part (the lab DNS, an upstream server, the app's client), and loading every client
 * library at start-up cost each agent 0.17 s instead of 0.07 s (measured: node on the bundle,
 * 2-core machine), four or five times per lab. test/unit/agent-commands.test.ts keeps each list
 * equal to what its module exports.
 */
import type { Commands } from './agent/protocol.js';

export const COMMAND_GROUPS: Array<{ names: string[]; load: () => Promise<Commands> }> = [
  { names: ['dns.start', 'dns.set'], load: async () => (await import('./dns/dns-server.js')).dnsCommands },
  { names: ['http.start', 'http.closeConnections', 'http.stop', 'http.stats', 'http.armResetIdleReuse', 'http.faultStats', 'http.counts'], load: async () => (await import('./upstreams/http-upstream.js')).httpUpstreamCommands },
  { names: ['tls.start'], load: async () => (await import('./upstreams/tls-upstream.js')).tlsUpstreamCommands },
  { names: ['client.start', 'client.stop'], load: async () => (await import('./clients/http-client.js')).httpClientCommands },
  { names: ['redis.connect', 'redis.command', 'redis.close'], load: async () => (await import('./clients/redis-client.js')).redisClientCommands },
  { names: ['tcp.probe'], load: async () => (await import('./clients/tcp-probe.js')).tcpProbeCommands },
  { names: ['tls.get'], load: async () => (await import('./clients/tls-client.js')).tlsClientCommands },
  { names: ['http.send', 'http.burst', 'http2.send'], load: async () => (await import('./clients/raw-http.js')).rawHttpCommands },
  { names: ['ws.chat', 'ws.hold'], load: async () => (await import('./clients/websocket-client.js')).websocketClientCommands },
  { names: ['http10.get'], load: async () => (await import('./clients/http10-client.js')).http10ClientCommands },
  { names: ['mysql.connect', 'mysql.query', 'mysql.close'], load: async () => (await import('./clients/sql-client.js')).sqlClientCommands },
  { names: ['proc.exec', 'proc.spawn', 'proc.input', 'proc.kill'], load: async () => (await import('./agent/process-runner.js')).processRunnerCommands },
  { names: ['admin.relay'], load: async () => (await import('./agent/admin-relay.js')).adminRelayCommands },
  { names: ['memcached.connect', 'memcached.command', 'memcached.close'], load: async () => (await import('./clients/memcached-client.js')).memcachedClientCommands },
];

export const COMMAND_NAMES = COMMAND_GROUPS.flatMap((g) => g.names);

/** The handler of `name`, its group loaded on first use; undefined for an unknown command. */
export async function commandHandler(name: string): Promise<Commands[string] | undefined> {
  const i = COMMAND_GROUPS.findIndex((g) => g.names.includes(name));
  if (i < 0) return undefined;
  loaded[i] ??= COMMAND_GROUPS[i]!.load();
  return (await loaded[i])[name];
}

const loaded: Array<Promise<Commands> | undefined> = [];
