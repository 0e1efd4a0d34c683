/**
 * Named time windows of a child's timed sections, on the clock V8's .cpuprofile uses (monotonic,
 * µs), so bench/profile-summary.ts can show where the time went inside the measured part only.
 */
export interface TimeWindow {
  name: string;
  fromUs: number;
  toUs: number;
}

const windows: TimeWindow[] = [];

export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export async function timed<T>(name: string, body: () => Promise<T> | T): Promise<T> {
  const fromUs = monotonicUs();
  try {
    return await body();
  } finally {
    windows.push({ name, fromUs, toUs: monotonicUs() });
  }
}

export function recordedWindows(): readonly TimeWindow[] {
  return windows;
}
