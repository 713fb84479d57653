/**
 * Runs tasks at most `parallel` at a time and returns their results in the tasks' order (so a
 * parallel run reports exactly like a serial one). `parallel` 1 is a plain loop.
 */
export async function runPool<T, R>(items: readonly T[], parallel: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, items.length)) }, worker));
  return results;
}
