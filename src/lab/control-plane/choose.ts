/** Which control plane a lab runs, from its spec: the one place that chooses. */
import type { HostSpec } from '../../topology/topology.js';
import type { LabContext } from '../lab-context.js';
import type { LabSpec } from '../lab-spec.js';
import type { ControlPlane } from './control-plane.js';
import { ISTIOD_HOST, IstiodControlPlane } from './istiod.js';
import { LabFilesControlPlane } from './lab-files.js';

/** The hosts a control plane needs in the topology (istiod runs on a host of its own). */
export const controlPlaneHosts = (spec: LabSpec): HostSpec[] => (spec.istio ? [ISTIOD_HOST] : []);

/** Whether the pod's DNS can go to its sidecar's DNS proxy: pilot-agent's, which runs with istiod only. */
export const hasDnsProxy = (spec: LabSpec): boolean => !!spec.istio;

export async function startControlPlane(lab: LabContext): Promise<ControlPlane> {
  return lab.spec.istio ? IstiodControlPlane.start(lab) : new LabFilesControlPlane(lab);
}
