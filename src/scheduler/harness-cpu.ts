/**
 * The harness's own CPU (this process: checks, evidence collection, talking to agents and
 * Envoy's admin), shared among the phase runs under way in it: between two starts or ends the
 * runs are the same ones, so each gets an equal part of what the process used meanwhile. Added
 * to the lab's cgroup figure, it is the phase's whole load (measured on sticky-503: about half).
 */
const shares = new Map<symbol, number>();
let last = process.cpuUsage();

function settle(): void {
  const now = process.cpuUsage();
  const ms = (now.user - last.user + now.system - last.system) / 1000;
  last = now;
  for (const [k, v] of shares) shares.set(k, v + ms / shares.size);
}

/** Starts counting a run's share; the returned function stops and gives it in ms. */
export function harnessCpuShare(): () => number {
  settle();
  const k = Symbol('phase run');
  shares.set(k, 0);
  return () => {
    settle();
    const ms = shares.get(k) ?? 0;
    shares.delete(k);
    return ms;
  };
}
