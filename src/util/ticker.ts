/** Progress for a long step that prints nothing itself: "… still <what> (30 s)" every `everyMs`, not silence. */
export async function withTicker<T>(what: string, progress: (line: string) => void, work: () => Promise<T>, everyMs = 15_000): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => progress(`  … still ${what} (${Math.round((Date.now() - started) / 1000)} s)`), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
