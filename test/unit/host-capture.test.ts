import { describe, expect, it } from 'vitest';
import { judgeCapture } from '../../src/safety/host-capture.js';

const names = new Set(['known.test', 'traefik.custom-name']);
// What `tcpdump -r -n -tttt` prints for the packets the leak watch keeps.
const LEAKED_QUERY = '2026-12-02 07:01:02.123456 IP 10.0.2.15.41234 > 198.18.0.53.53: 4660+ A? known.test. (28)';
const HOST_QUERY_FOR_LAB_NAME = '2026-12-02 07:01:02.2 IP 10.0.2.15.41235 > 10.255.255.53.53: 4661+ AAAA? traefik.custom-name.cluster.local. (51)';
const REGISTRY_QUERY = '2026-12-02 07:01:03.0 IP 10.0.2.15.41236 > 10.255.255.53.53: 4662+ A? registry.npmjs.org. (36)';
const REVERSE_OF_LAB_ADDRESS = '2026-12-02 07:01:04.0 IP 10.0.2.15.41237 > 10.255.255.53.53: 4663+ PTR? 53.0.18.198.in-addr.arpa. (42)';

describe('the leak watch judges what tcpdump caught on the host interfaces', () => {
  it('a packet to a lab address is a leak', () => {
    expect(judgeCapture('eth0', LEAKED_QUERY, names)).toMatchObject([{ interface: 'eth0', why: 'a packet to or from 198.18.0.0/15' }]);
  });
  it('a query for a lab name to an outside resolver is a leak, search-domain expansions too; so is a reverse lookup of a lab address', () => {
    expect(judgeCapture('eth0', [HOST_QUERY_FOR_LAB_NAME, REVERSE_OF_LAB_ADDRESS].join('\n'), names).map((l) => l.why)).toEqual([
      'a DNS query for the lab name traefik.custom-name.cluster.local',
      'a DNS query for the lab name 53.0.18.198.in-addr.arpa',
    ]);
  });
  it("the machine's own DNS (npm, pip) is not the lab's", () => {
    expect(judgeCapture('eth0', REGISTRY_QUERY, names)).toEqual([]);
  });
});
