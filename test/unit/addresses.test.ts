import { describe, expect, it } from 'vitest';
import { AddressPlan, isLabAddress } from '../../src/topology/addresses.js';
import { podWithUpstreams } from '../../src/topology/topology.js';

describe('lab addressing', () => {
  it('gives every lab id a /24 inside 198.18.0.0/15', () => {
    for (const id of ['000000', 'ffffff', '7fa0c1', '01ff00', 'abcdef']) {
      const plan = new AddressPlan(id);
      expect(isLabAddress(plan.ip({ octet: 10 })), plan.cidr).toBe(true);
    }
  });

  // Negative examples only: these addresses are compared, never dialled.
  it('never calls an outside address a lab address', () => {
    for (const ip of ['4.4.4.4', '5.5.5.5', '198.20.0.1', '10.0.0.1', '127.0.0.1', '198.18.1']) expect(isLabAddress(ip)).toBe(false);
  });

  it('rejects a topology with clashing names or addresses', () => {
    expect(() => podWithUpstreams([{ name: 'a', octet: 21 }, { name: 'b', octet: 21 }])).toThrow(/octet 21 is used twice/);
    expect(() => podWithUpstreams([{ name: 'dns', octet: 30 }])).toThrow(/"dns" is used twice/);
    expect(() => podWithUpstreams([{ name: 'Bad_Name', octet: 30 }])).toThrow(/must match/);
  });
});
