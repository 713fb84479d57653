/**
 * The Envoy an Istio release's proxy is built on, for `triage --istio-version`: people know their
 * Istio more often than their Envoy. Istio 1.N ships Envoy 1.(N+8) from Istio 1.7 on, 1.(N+9)
 * before (Istio 1.4 → Envoy 1.13); a patch release may be one Envoy minor ahead, which moves no
 * signature form the lab declares.
 */
export function envoyOfIstio(istio: string): string | undefined {
  const m = /^v?1\.(\d+)(?:\.\d+)?/.exec(istio.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return `1.${n >= 7 ? n + 8 : n + 9}.0`;
}
