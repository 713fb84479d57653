/**
 * Envoy's admin tables and the machine's, pasted as text: /stats lines (`name: value`, and
 * Prometheus' `envoy_cluster_x{cluster_name="c"} 1`), /clusters rows (`cluster::host::field::value`),
 * `ss` and `netstat` rows, and a pprof heap profile's frames.
 */
import type { SocketRow } from '../shapes.js';

/** A /stats line as name and value: Envoy's text, or Prometheus' with the cluster label folded back into the name. */
export function statOfLine(line: string): [string, number] | undefined {
  const t = line.trim();
  const text = /^([a-zA-Z_][\w.|:\-]*[\w]): (-?\d+)$/.exec(t);
  if (text && text[1]!.includes('.')) return [text[1]!, Number(text[2])];
  const prom = /^envoy_([a-z_]+?)(?:\{([^}]*)\})?\s+(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/.exec(t);
  if (prom) {
    const labels = Object.fromEntries([...(prom[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    const [family, ...rest] = prom[1]!.split('_');
    const scope = labels[`${family}_name`];
    return [scope ? `${family}.${scope}.${rest.join('_')}` : prom[1]!.replace(/_/g, '.'), Number(prom[3])];
  }
  return undefined;
}

/** A /clusters row: cluster, host, field, value. */
export function clusterRow(line: string): { cluster: string; host: string; field: string; value: string } | undefined {
  const m = /^([^:\s]+(?:\|[^:\s]*)*)::((?:\[[^\]]+\]|[\d.]+):\d+)::([\w.]+)::(.*)$/.exec(line.trim());
  return m ? { cluster: m[1]!, host: m[2]!, field: m[3]!, value: m[4]! } : undefined;
}

/** An `ss -tan(p)` or `netstat -tan(p)` row. */
export function socketRow(line: string): SocketRow | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length >= 5 && /^(?:ESTAB|SYN-SENT|SYN-RECV|FIN-WAIT-[12]|TIME-WAIT|CLOSE-WAIT|LAST-ACK|CLOSING|CLOSED)$/.test(f[0]!)) {
    return { state: f[0]!, local: f[3]!, peer: f[4]!, process: /users:\(\("([^"]+)"/.exec(f.slice(5).join(' '))?.[1] };
  }
  if (f.length >= 6 && /^tcp6?$/.test(f[0]!) && /^[A-Z_0-9]+$/.test(f[5]!)) {
    const state = f[5]!.replace('ESTABLISHED', 'ESTAB').replace(/_/g, '-');
    return { state, local: f[3]!, peer: f[4]!, process: /^\d+\/(\S+)/.exec(f[6] ?? '')?.[1] };
  }
  return undefined;
}

/** A pprof `top` row naming Envoy's ORIGINAL_DST cluster code. */
export const heapFrameOfOriginalDst = (line: string) => /^\s*[\d.]+[kMG]?B\s+[\d.]+%.*\b(?:OriginalDstCluster|OriginalDst)\b/.test(line);
