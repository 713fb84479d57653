/**
 * The lab's authoritative DNS server (runs inside the lab's dns host). Real DNS over UDP with
 * dns2's codec; records are switched at run time by the harness, the way the seed switched
 * test.com from one IP to another. TTL 1 s so resolvers never cache past a switch.
 * Every query is reported, so a check can prove who resolved what (e.g. Envoy's DNS cluster).
 */
import { readFileSync, watchFile } from 'node:fs';
import dns2 from 'dns2';
import type { Commands, Emit } from '../agent/protocol.js';

const { Packet } = dns2;

export interface DnsServerOptions {
  port: number;
  records?: Record<string, string[]>;
  /** A JSON file of records ({"name": ["ip"]}) re-read when it changes: switch DNS by editing it. */
  recordsFile?: string;
  ttl?: number;
}

const records = new Map<string, string[]>();
let server: ReturnType<typeof dns2.createServer> | undefined;

export function answerFor(name: string): string[] {
  return records.get(name.toLowerCase().replace(/\.$/, '')) ?? [];
}

function load(initial: Record<string, string[]>) {
  records.clear();
  for (const [name, ips] of Object.entries(initial)) records.set(name.toLowerCase(), ips);
}

async function start({ port, records: initial = {}, recordsFile, ttl = 1 }: DnsServerOptions, emit: Emit) {
  load(initial);
  if (recordsFile) {
    const reload = () => {
      try {
        load(JSON.parse(readFileSync(recordsFile, 'utf8')));
        emit('dns-records', { from: recordsFile, records: Object.fromEntries(records) });
      } catch (err) {
        emit('dns-records-error', { from: recordsFile, error: (err as Error).message });
      }
    };
    reload();
    watchFile(recordsFile, { interval: 300 }, reload);
  }
  server = dns2.createServer({
    udp: true,
    handle: (request, send, rinfo) => {
      const response = Packet.createResponseFromRequest(request);
      const question = request.questions[0];
      const name = question?.name ?? '';
      const ips = question?.type === Packet.TYPE.A ? answerFor(name) : [];
      for (const address of ips) {
        response.answers.push({ name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl, address } as unknown as dns2.Packet.Resource);
      }
      // Unknown names get NXDOMAIN (rcode 3); AAAA for a known name gets an empty answer.
      if (!records.has(name.toLowerCase())) response.header.rcode = 3;
      send(response);
      emit('dns-query', { name, type: question?.type, from: (rinfo as { address?: string }).address, answer: ips });
    },
  });
  await server.listen({ udp: { port, address: '0.0.0.0' } });
  return { port };
}

export const dnsCommands: Commands = {
  'dns.start': start,
  'dns.set': ({ name, ips }: { name: string; ips: string[] }) => {
    records.set(name.toLowerCase(), ips);
    return { name, ips };
  },
};
