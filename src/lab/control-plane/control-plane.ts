/**
 * Where the sidecars' config comes from. One implementation per source of config, each in a file
 * of its own: the lab's hand-written variants served as xDS files (lab-files.ts) and Istio's
 * istiod (istiod.ts); a gateway translator is the next. The lab talks only to this interface, so a
 * new source of config is a new file here, not branches through the lab.
 */
import type { Envoy, EnvoyStartOptions, XdsKind } from '../../envoy/envoy.js';

/** What Envoy.start needs from the control plane: the first config and how the rest arrives. */
export type SidecarFeed = Pick<EnvoyStartOptions, 'resources' | 'ads' | 'agent' | 'identity'>;

/** One cluster of a service whose endpoints change, and the addresses it gets. */
export interface EndpointChange {
  cluster: string;
  addresses: string[];
}

export interface ControlPlane {
  /** In the lab's words, for logs: "the lab's config files", "istiod". */
  readonly name: string;
  /** How a live change reaches the sidecar, in a sentence (workshop mode says it before a push). */
  readonly howItPushes: string;
  /** The config of a sidecar about to start (`host`: the pod, or another pod with its own sidecar), and how the rest reaches it. */
  feed(host: string, dir: string): Promise<SidecarFeed>;
  /** The pod's sidecar is up with its first config: throws when it rejected part of it. */
  checkAccepted(sidecar: Envoy): Promise<void>;
  /**
   * A config variant replaces the running config (a `kubectl apply` of the fix): marks `push` when
   * it is sent and `config` when taken, and resolves when the sidecar has accepted it.
   */
  apply(variantPath: string, label: string, sidecar: Envoy): Promise<void>;
  /** A service's endpoints change (a pod went or came); resolves when the sidecar's /clusters shows them. */
  setEndpoints(service: string, changes: EndpointChange[], sidecar: Envoy): Promise<void>;
  /** The variant pushed one xDS part at a time, in `order` (a control plane that pushes out of order, or slowly). */
  pushInOrder(variantPath: string, sidecar: Envoy, o: { order: readonly XdsKind[]; pushing: (kind: XdsKind) => Promise<void>; accepted: (kind: XdsKind) => Promise<void> }): Promise<void>;
  /** holdApplicationUntilProxyStarts: resolves once the app may start, with what said so noted on the timeline. */
  holdApplication(): Promise<void>;
  /** What --keep prints about this control plane: how to poke at it. */
  pokeHints(): string[];
  stop(): Promise<void>;
}
