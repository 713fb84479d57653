// The lab DNS answers real UDP queries and follows record switches at once (TTL 1 s).
import { Resolver } from 'node:dns/promises';
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsCommands } from '../../src/dns/dns-server.js';

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('lab DNS server', () => {
  const queries: unknown[] = [];
  const resolver = new Resolver({ timeout: 500, tries: 1 });

  beforeAll(async () => {
    const port = await freeUdpPort();
    await dnsCommands['dns.start']!({ port, records: { 'test-com.test': ['198.18.0.21'] } }, (_e, f) => queries.push(f));
    resolver.setServers([`127.0.0.1:${port}`]);
  });
  afterAll(() => resolver.cancel());

  it('answers A queries from its records and reports each query', async () => {
    expect(await resolver.resolve4('test-com.test')).toEqual(['198.18.0.21']);
    expect(queries).toContainEqual(expect.objectContaining({ name: 'test-com.test', answer: ['198.18.0.21'] }));
  });

  it('switches a record at run time', async () => {
    await dnsCommands['dns.set']!({ name: 'test-com.test', ips: ['198.18.0.22'] }, () => {});
    const answer = await resolver.resolve4('test-com.test', { ttl: true });
    expect(answer).toEqual([{ address: '198.18.0.22', ttl: 1 }]);
  });

  it('answers NXDOMAIN for names it does not know', async () => {
    await expect(resolver.resolve4('unknown.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
