/**
 * Runs tasks at most `parallel` at a time and returns their results in the tasks' order (so a
 * parallel run reports exactly like a serial one). `parallel` 1 is a plain loop. Once a task
 * throws, no new task starts; the ones under way finish, then the first error is thrown.
 */
export async function runPool<T, R>(items: readonly T[], parallel: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, items.length)) }, worker));
  if (failed) throw failed.error;
  return results;
}
