import { describe, expect, it } from 'vitest';
import { parseRulePackets } from '../../src/faults/kernel-rule.js';

const LISTING = `Chain INPUT (policy ACCEPT 120 packets, 9000 bytes)
    pkts      bytes target     prot opt in     out     source               destination
       9      540 DROP       6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp flags:0x17/0x02 /* efl-blackhole */
       0        0 REJECT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp flags:0x17/0x02 /* efl-refuse */ reject-with tcp-reset
`;

describe('parseRulePackets', () => {
  it('reads the packet counter of the rule with the given comment', () => {
    expect(parseRulePackets(LISTING, 'efl-blackhole')).toBe(9);
    expect(parseRulePackets(LISTING, 'efl-refuse')).toBe(0);
    expect(parseRulePackets(LISTING, 'efl-absent')).toBe(0);
  });
});
