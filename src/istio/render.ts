/**
 * What real Istio generates for Istio YAML files, for the lab's pod: lab/istiod's output
 * is an Envoy config_dump, so the lab reads it like a real pod's (proxy-config tables,
 * import-config into a runnable variant).
 */
import { execa } from 'execa';
import { UsageError } from '../errors.js';
import { istiodBinary } from './istiod-binary.js';

export interface RenderOptions {
  podIp?: string;
  namespace?: string;
  meshFile?: string;
  progress?: (line: string) => void;
}

/** The config_dump Istio would push to the pod's sidecar. */
export async function renderIstio(files: string[], o: RenderOptions = {}): Promise<{ configs: any[] }> {
  const bin = await istiodBinary(o.progress);
  const args = ['-config', files.join(','), ...(o.podIp ? ['-pod-ip', o.podIp] : []), ...(o.namespace ? ['-namespace', o.namespace] : []), ...(o.meshFile ? ['-mesh', o.meshFile] : [])];
  const r = await execa(bin, args, { reject: false, maxBuffer: 256 * 1024 * 1024 });
  if (r.exitCode !== 0) throw new UsageError(`Istio could not generate a config from ${files.join(', ')}`, { fix: 'check the YAML (Istio objects and Kubernetes Services)', evidence: r.stderr.split('\n').slice(-10).join('\n') });
  return JSON.parse(r.stdout);
}
