/** Settled memory figures: collects garbage first (children run with --expose-gc). */
export function settledMemory(): { rss: number; heapUsed: number; external: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the benchmark child must run with --expose-gc');
  gc();
  gc();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external + usage.arrayBuffers };
}
