/**
 * Lab addressing. Every lab gets its own /24 out of 198.18.0.0/15 (RFC 2544, benchmarking),
 * chosen from its id (claimLab picks ids whose /24 no other lab holds), so labs side by side never
 * share a subnet and no address can be an outside one.
 */
import type { HostSpec } from './topology.js';

export const LAB_RANGE = '198.18.0.0/15';

export class AddressPlan {
  /** e.g. "198.19.7" */
  readonly prefix: string;

  constructor(readonly labId: string) {
    const n = parseInt(labId.slice(0, 4), 16) % 512; // 512 /24s in a /15
    this.prefix = `${198}.${18 + (n >> 8)}.${n & 255}`;
  }

  get cidr(): string {
    return `${this.prefix}.0/24`;
  }

  ip(host: Pick<HostSpec, 'octet'>): string {
    return `${this.prefix}.${host.octet}`;
  }
}

/** True when `ip` is inside 198.18.0.0/15: the only non-loopback addresses the lab may target. */
export function isLabAddress(ip: string): boolean {
  const m = /^198\.(18|19)\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  return !!m && Number(m[2]) <= 255 && Number(m[3]) <= 255;
}
