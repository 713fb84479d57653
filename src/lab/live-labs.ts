/** Labs still up in this process, so Ctrl-C (cli/signals.ts) can tear them all down. */
export interface Disposable {
  /** Resolves once the lab is wholly gone (a teardown handed to the background included). */
  gone(): Promise<void>;
}

const live = new Set<Disposable>();

export const trackLab = (lab: Disposable) => void live.add(lab);
export const untrackLab = (lab: Disposable) => void live.delete(lab);

export async function disposeAllLabs(): Promise<void> {
  await Promise.allSettled([...live].map((l) => l.gone()));
}
