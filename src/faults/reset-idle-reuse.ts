/**
 * reset-idle-reuse: the upstream answers a request that arrives on a kept-alive connection idle
 * for at least `afterMs` with a TCP RST, as in seed 003's packet trace: the upstream has given up
 * on the connection, Envoy still reuses it. Deterministic, unlike the natural race. The fake
 * upstream (src/upstreams/http-upstream.ts) is the instrument that does it and counts it.
 */
import type { Fault } from './fault.js';

export function resetIdleReuse(afterMs: number): Fault {
  return {
    type: 'reset-idle-reuse',
    describe: `RST to a request on a connection idle ≥ ${afterMs} ms`,
    async apply(ctx) {
      await ctx.instrument('http.armResetIdleReuse', { afterMs });
    },
    async evidence(ctx) {
      const { resets, last } = await ctx.instrument<{ resets: number; last?: string }>('http.faultStats');
      return { host: ctx.host, fault: 'reset-idle-reuse', fired: resets, detail: `${ctx.host}: RST on idle reuse (≥ ${afterMs} ms) ${resets} time(s)${last ? `; last: ${last}` : ''}` };
    },
  };
}
